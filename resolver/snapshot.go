package resolver

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Snapshot is one complete, immutable map from names to answers. It is built off to the side by
// Build and never modified once published, so any number of readers use it without locks.
type Snapshot struct {
	gen        uint64
	built      time.Time
	zones      []zone
	services   map[string]*service // key: "<svc>.<ns>", lower case
	namespaces map[string]struct{} // namespaces with at least one service
	local      map[string]struct{} // namespaces of the local cluster
	clusters   []*cluster          // serving clusters in answer order
}

// Generation returns the snapshot's generation, which is also the SOA serial (modulo 2^32).
func (s *Snapshot) Generation() uint64 { return s.gen }

// Built returns when the snapshot was built.
func (s *Snapshot) Built() time.Time { return s.built }

// Services returns the number of distinct services answered.
func (s *Snapshot) Services() int { return len(s.services) }

// Clusters returns the number of clusters that serve at least one name.
func (s *Snapshot) Clusters() int { return len(s.clusters) }

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
	updated  time.Time
	hostname string
	port     uint16
	v4, v6   []gw // sorted by address
	tier     int  // answer tier: locality rank, then priority
	locality Locality
	priority int
	services []Service
}

// service is one name "<svc>.<ns>" and the clusters that serve it, in tier order.
type service struct {
	members []member
	v4, v6  []gw // the members' addresses in member order
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
	cfg = cfg.withDefaults()
	s := &Snapshot{
		gen:        gen,
		built:      now,
		services:   make(map[string]*service),
		namespaces: make(map[string]struct{}),
		local:      make(map[string]struct{}, len(m.LocalNamespaces)),
	}
	for i, z := range cfg.match {
		s.zones = append(s.zones, newZone(z, i >= len(cfg.Zones)))
	}
	for _, ns := range m.LocalNamespaces {
		s.local[ns] = struct{}{}
	}
	cs, errs := serving(cfg, m.Clusters)
	s.clusters = cs
	for _, c := range cs {
		errs = append(errs, s.add(c)...)
	}
	s.finish()
	return s, errors.Join(errs...)
}

// serving returns the clusters that can serve, sorted into answer order, with tiers assigned.
func serving(cfg Config, clusters []Cluster) ([]*cluster, []error) {
	var errs []error
	seen := make(map[string]bool, len(clusters))
	out := make([]*cluster, 0, len(clusters))
	for i := range clusters {
		in := &clusters[i]
		switch {
		case !validLabel(in.Name):
			errs = append(errs, fmt.Errorf("cluster %q: %w", in.Name, ErrInvalidName))
			continue
		case seen[in.Name]:
			errs = append(errs, fmt.Errorf("cluster %q from %s: %w", in.Name, in.Source, ErrDuplicateCluster))
			continue
		}
		seen[in.Name] = true
		if !in.State.Serving() {
			continue
		}
		if c := newCluster(in); len(c.v4)+len(c.v6) > 0 {
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(a, b *cluster) int {
		return cmp.Or(
			cmp.Compare(localityRank(cfg.Locality, a.locality), localityRank(cfg.Locality, b.locality)),
			cmp.Compare(a.priority, b.priority),
			strings.Compare(a.name, b.name))
	})
	assignTiers(cfg.Locality, out)
	return out, errs
}

func newCluster(in *Cluster) *cluster {
	c := &cluster{
		name: in.Name, source: in.Source, state: in.State, updated: in.Updated,
		hostname: in.Gateway.Hostname, port: in.Gateway.Port,
		locality: in.Locality, priority: in.Priority, services: in.Services,
	}
	for _, a := range in.Gateway.Addresses {
		a = a.Unmap()
		if a.Is4() {
			c.v4 = append(c.v4, gw{addr: a})
		} else if a.Is6() {
			c.v6 = append(c.v6, gw{addr: a})
		}
	}
	c.v4 = uniqueSorted(c.v4)
	c.v6 = uniqueSorted(c.v6)
	return c
}

func uniqueSorted(a []gw) []gw {
	slices.SortFunc(a, func(x, y gw) int { return x.addr.Compare(y.addr) })
	return slices.CompactFunc(a, func(x, y gw) bool { return x.addr == y.addr })
}

// finish precomputes each service's address lists. A service served by one cluster shares that
// cluster's lists.
func (s *Snapshot) finish() {
	for _, e := range s.services {
		if len(e.members) == 1 {
			e.v4, e.v6 = e.members[0].c.v4, e.members[0].c.v6
			continue
		}
		for _, mb := range e.members {
			e.v4 = append(e.v4, mb.c.v4...)
			e.v6 = append(e.v6, mb.c.v6...)
		}
	}
}

// add indexes the services of c; it runs in answer order, so members end up in tier order.
func (s *Snapshot) add(c *cluster) []error {
	var errs []error
	for _, svc := range c.services {
		name, ns := strings.ToLower(svc.Name), strings.ToLower(svc.Namespace)
		if !validLabel(name) || !validLabel(ns) {
			errs = append(errs, fmt.Errorf("cluster %q: service %q in namespace %q: %w",
				c.name, svc.Name, svc.Namespace, ErrInvalidName))
			continue
		}
		key := name + "." + ns
		if key == nsHost {
			errs = append(errs, fmt.Errorf("cluster %q: service %s/%s: %w", c.name, ns, name, ErrShadowed))
			continue
		}
		e := s.services[key]
		if e == nil {
			e = &service{}
			s.services[key] = e
			s.namespaces[ns] = struct{}{}
		}
		if len(e.members) > 0 && e.members[len(e.members)-1].c == c {
			continue // listed twice by the same cluster
		}
		e.members = append(e.members, member{c: c, ports: svc.Ports})
	}
	return errs
}
