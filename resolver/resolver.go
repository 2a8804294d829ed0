package resolver

import (
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// Defaults of Config.
const (
	DefaultZone        = "global."
	DefaultTTL         = 5
	DefaultNegativeTTL = 5
)

// Config is what the resolver needs besides the map. The zero value serves "global." with the
// default TTLs.
type Config struct {
	Zones       []string // zones it is authoritative for, fully qualified; default "global."
	TTL         uint32   // TTL of positive answers; 0 means DefaultTTL
	NegativeTTL uint32   // TTL of negative answers and SOA minimum; 0 means DefaultNegativeTTL
	MaxAnswers  int      // most records in one answer; 0 means no cap
	Locality    Locality // where this server runs: clusters here come first
	// RemoteDomain, when set, is the cluster domain ("cluster.local.") under which the resolver
	// also answers <svc>.<ns>.svc.<domain> for namespaces that exist in peers but not in the
	// local cluster (Map.LocalNamespaces). Names of local namespaces are left to the local
	// cluster DNS: NotAuth.
	RemoteDomain string

	match []string // Zones, then the remote zone "svc.<RemoteDomain>" if any: what lookups match
}

// Resolver answers queries from the latest published Snapshot. Publish is called by one writer
// (the sync builder); Lookup and Answer are safe for any number of concurrent readers and never
// lock.
type Resolver struct {
	cfg  Config
	snap atomic.Pointer[Snapshot]
	turn atomic.Uint32 // rotation within a tier, one step per query
	now  func() time.Time
}

// New returns a resolver that has no map yet: every query in its zones is NotReady until the
// first Publish.
func New(cfg Config) *Resolver {
	r := &Resolver{cfg: cfg.withDefaults(), now: time.Now}
	return r
}

// Config returns the resolver's configuration with defaults filled in.
func (r *Resolver) Config() Config { return r.cfg }

// Snapshot returns the map being served, or nil before the first Publish.
func (r *Resolver) Snapshot() *Snapshot { return r.snap.Load() }

// Publish builds a snapshot of m with the next generation and swaps it in. The returned error
// lists what was left out (a duplicate cluster, an invalid name); the snapshot is served
// regardless. Only one goroutine may call Publish.
func (r *Resolver) Publish(m Map) (*Snapshot, error) {
	var gen uint64 = 1
	old := r.snap.Load()
	if old != nil {
		gen = old.gen + 1
	}
	s, err := build(r.cfg, gen, m, r.now(), old)
	r.snap.Store(s)
	return s, err
}

// Lookup finds the answer to a question without allocating. Its Result is written into a
// message with Answer.
func (r *Resolver) Lookup(name string, qtype, qclass uint16) Result {
	return lookup(r.snap.Load(), &r.cfg, name, qtype, qclass)
}

// Answer fills m (already set up as a reply to the question) with fresh records for res: the
// records belong to m, never to the snapshot. local is the address the query arrived on, used for
// the name server's own address records.
func (r *Resolver) Answer(m *dns.Msg, q dns.Question, res Result, local netip.Addr) {
	res.write(m, q, local, r)
}

func (c Config) withDefaults() Config {
	if len(c.Zones) == 0 {
		c.Zones = []string{DefaultZone}
	}
	zones := make([]string, len(c.Zones))
	for i, z := range c.Zones {
		zones[i] = dns.CanonicalName(z)
	}
	c.Zones = zones
	c.match = zones
	if c.RemoteDomain != "" {
		c.RemoteDomain = dns.CanonicalName(c.RemoteDomain)
		c.match = append(slices.Clip(zones), "svc."+strings.TrimPrefix(c.RemoteDomain, "."))
	}
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.NegativeTTL == 0 {
		c.NegativeTTL = DefaultNegativeTTL
	}
	return c
}
