package resolver

import (
	"cmp"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Snapshot is one complete, immutable map from names to answers. It is built off to the side by
// Build and never modified once published, so any number of readers use it without locks.
// Consecutive snapshots of one Resolver share what did not change between them: the shards of
// the service index that no change touched, and the clusters that did not change.
type Snapshot struct {
	gen        uint64
	built      time.Time
	zones      []zone
	shards     shards               // the service index: "<svc>.<ns>" (lower case) → service
	count      int                  // services in the index
	namespaces map[string]int       // services per namespace
	local      map[string]struct{}  // namespaces of the local cluster
	failOpen   int                  // services answered fail open (see FailOpen)
	clusters   []*cluster           // serving clusters in answer order
	parts      map[string]*part     // by cluster name: what each serving cluster put in
	updated    map[string]time.Time // by cluster name: when its data was last confirmed
}

// Generation returns the snapshot's generation, which is also the SOA serial (modulo 2^32). A
// map that differs from the one before only in when its clusters were last confirmed keeps the
// generation: the answers are the same.
func (s *Snapshot) Generation() uint64 { return s.gen }

// Built returns when the snapshot was built.
func (s *Snapshot) Built() time.Time { return s.built }

// Services returns the number of distinct services answered.
func (s *Snapshot) Services() int { return s.count }

// Clusters returns the number of clusters that serve at least one name.
func (s *Snapshot) Clusters() int { return len(s.clusters) }

// FailOpen returns the number of services (<svc>.<ns> names) answered fail open: every gateway
// address of one family of every cluster serving them fails health checks, so all of them are
// served.
func (s *Snapshot) FailOpen() int { return s.failOpen }

// zone is one zone the resolver is authoritative for.
type zone struct {
	name   string // fully qualified, lower case
	ns     string // the name server: "ns.dns.<zone>", also the SOA's MNAME
	mbox   string // the SOA's RNAME: "hostmaster.<zone>"
	remote bool   // "svc.<cluster domain>": only namespaces that are not local
}

func newZone(name string, remote bool) zone {
	if name == "." {
		name = ""
	}
	return zone{name: cmp.Or(name, "."), ns: nsHost + "." + name, mbox: "hostmaster." + name, remote: remote}
}

// cluster is a serving cluster, with everything an answer needs precomputed.
type cluster struct {
	name     string
	source   string
	state    State
	hostname string
	port     uint16
	v4, v6   []gw         // what its names answer: up4/up6, or every address when none is up (fail open)
	up4, up6 []gw         // the addresses not failing health checks, sorted by address
	all      []gw         // every address, IPv4 then IPv6, sorted by address (TXT)
	down     []netip.Addr // the addresses failing health checks (TXT)
	tier     int64        // answer tier: locality rank, then priority
	locality Locality
	priority int
}

// service is one name "<svc>.<ns>" and the clusters that serve it, in tier order.
type service struct {
	members  []member
	v4, v6   []gw // the members' healthy addresses in member order, or all of them (fail open)
	failOpen bool // some family has addresses but none healthy
}

// member is one cluster serving one service.
type member struct {
	c     *cluster
	ports []Port
}

// Errors Build reports about its input. The snapshot is built without the offending items.
var (
	ErrDuplicateCluster = errors.New("duplicate cluster name")
	ErrInvalidName      = errors.New("not a valid DNS label")
	ErrShadowed         = errors.New("name taken by the name server's own record")
)

// nsHost is the relative name of the name server's own address records: "ns.dns.<zone>".
const nsHost = "ns.dns"

// Build makes a snapshot of generation gen from m. Clusters that are not serving, have no
// gateway address or carry an invalid name are left out; the returned error says which (the
// snapshot is complete and usable regardless). Build keeps references to the clusters' slices:
// a source must not modify a Cluster after handing it over.
func Build(cfg Config, gen uint64, m Map, now time.Time) (*Snapshot, error) {
	return build(cfg.withDefaults(), gen, m, now, nil)
}

func newCluster(cfg *Config, in *Cluster) *cluster {
	c := &cluster{
		name: in.Name, source: in.Source, state: in.State,
		hostname: in.Gateway.Hostname, port: in.Gateway.Port,
		locality: in.Locality, priority: in.Priority,
		tier: tierOf(cfg.Locality, in.Locality, in.Priority),
	}
	var all4, all6 []gw
	for _, a := range in.Gateway.Addresses {
		a = a.Unmap()
		if a.Is4() {
			all4 = append(all4, gw{addr: a, tier: c.tier})
		} else if a.Is6() {
			all6 = append(all6, gw{addr: a, tier: c.tier})
		}
	}
	all4, all6 = uniqueSorted(all4), uniqueSorted(all6)
	c.all = slices.Concat(all4, all6)
	c.up4, c.v4 = healthy(all4, in.Gateway.Down, &c.down)
	c.up6, c.v6 = healthy(all6, in.Gateway.Down, &c.down)
	return c
}

func uniqueSorted(a []gw) []gw {
	slices.SortFunc(a, func(x, y gw) int { return x.addr.Compare(y.addr) })
	return slices.CompactFunc(a, func(x, y gw) bool { return x.addr == y.addr })
}

// answerOrder orders clusters: by tier, then by name.
func answerOrder(a, b *cluster) int {
	return cmp.Or(cmp.Compare(a.tier, b.tier), strings.Compare(a.name, b.name))
}
