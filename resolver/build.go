package resolver

import (
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
	"strings"
	"time"
	"unsafe"
)

// The service index is split into shards so that a change copies only the shards it touches:
// one service of one peer changing in a map of 100,000 costs a few hundred entries, not 100,000.
const numShards = 256

type shards [numShards]map[string]*service

var shardSeed = maphash.MakeSeed()

func shardOf(key string) int { return int(maphash.String(shardSeed, key) % numShards) }

// lookup finds a service by its key without allocating.
func (s *Snapshot) lookup(key []byte) *service {
	return s.shards[maphash.Bytes(shardSeed, key)%numShards][string(key)]
}

// part is what one serving cluster put into a snapshot, kept so that the next build can take
// it over as it is when the cluster has not changed.
type part struct {
	in   Cluster  // the input it was built from
	c    *cluster // the cluster as answers show it
	svcs []keyed  // the services it serves
}

// keyed is one valid service of a cluster under its index key.
type keyed struct {
	key   string
	ports []Port
}

// build makes a snapshot of m that shares with prev (nil: none) everything that did not change.
func build(cfg Config, gen uint64, m Map, now time.Time, prev *Snapshot) (*Snapshot, error) {
	if prev == nil {
		prev = &Snapshot{}
	}
	s := &Snapshot{
		gen: gen, built: now, shards: prev.shards, count: prev.count, namespaces: prev.namespaces,
		failOpen: prev.failOpen,
		local:    make(map[string]struct{}, len(m.LocalNamespaces)),
		parts:    make(map[string]*part, len(m.Clusters)),
		updated:  make(map[string]time.Time, len(m.Clusters)),
	}
	for i, z := range cfg.match {
		s.zones = append(s.zones, newZone(z, i >= len(cfg.Zones)))
	}
	for _, ns := range m.LocalNamespaces {
		s.local[ns] = struct{}{}
	}
	fresh, errs := s.takeParts(&cfg, m.Clusters, prev)
	changed := make(map[string]bool, len(fresh))
	for name := range fresh {
		changed[name] = true
	}
	for name := range prev.parts {
		if s.parts[name] == nil {
			changed[name] = true
		}
	}
	s.reindex(prev, changed, fresh)
	for _, p := range s.parts {
		s.clusters = append(s.clusters, p.c)
	}
	slices.SortFunc(s.clusters, answerOrder)
	if prev.parts != nil && len(changed) == 0 && maps.Equal(prev.local, s.local) {
		s.gen = prev.gen // only confirmation times moved
	}
	return s, errors.Join(errs...)
}

// takeParts takes over the parts of unchanged clusters from prev and builds the others. It
// returns the services of each cluster it built, by cluster name.
func (s *Snapshot) takeParts(cfg *Config, clusters []Cluster, prev *Snapshot) (map[string][]keyed, []error) {
	var errs []error
	fresh := make(map[string][]keyed)
	seen := make(map[string]bool, len(clusters))
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
		s.updated[in.Name] = in.Updated
		old := prev.parts[in.Name]
		if old != nil && sameCluster(&old.in, in) && sameServices(&old.in, in) {
			s.parts[in.Name] = old
			continue
		}
		if !in.State.Serving() {
			continue
		}
		c := newCluster(cfg, in)
		if old != nil && sameCluster(&old.in, in) {
			c = old.c // only the services changed: entries of the others stay valid
		}
		if len(c.all) == 0 {
			continue
		}
		svcs, bad := keyedServices(c.name, in.Services)
		errs = append(errs, bad...)
		s.parts[in.Name], fresh[in.Name] = &part{in: *in, c: c, svcs: svcs}, svcs
	}
	return fresh, errs
}

// sameCluster reports whether everything but the services of a cluster is unchanged. When it
// was last confirmed is not part of the answers but of their explanation: it is kept apart.
func sameCluster(a, b *Cluster) bool {
	return a.Name == b.Name && a.Source == b.Source && a.State == b.State &&
		a.Locality == b.Locality && a.Priority == b.Priority &&
		a.Gateway.Hostname == b.Gateway.Hostname && a.Gateway.Port == b.Gateway.Port &&
		slices.Equal(a.Gateway.Addresses, b.Gateway.Addresses) && slices.Equal(a.Gateway.Down, b.Gateway.Down)
}

// sameServices reports whether a cluster's services are unchanged. Slices are compared by
// identity: sources hand over new slices for new data and never modify old ones.
func sameServices(a, b *Cluster) bool {
	return len(a.Services) == len(b.Services) && unsafe.SliceData(a.Services) == unsafe.SliceData(b.Services)
}

// keyedServices returns the valid services of a cluster under their keys, without duplicates.
func keyedServices(cluster string, svcs []Service) ([]keyed, []error) {
	var errs []error
	out := make([]keyed, 0, len(svcs))
	seen := make(map[string]bool, len(svcs))
	for _, svc := range svcs {
		name, ns := strings.ToLower(svc.Name), strings.ToLower(svc.Namespace)
		key := name + "." + ns
		switch {
		case !validLabel(name) || !validLabel(ns):
			errs = append(errs, fmt.Errorf("cluster %q: service %q in namespace %q: %w",
				cluster, svc.Name, svc.Namespace, ErrInvalidName))
		case key == nsHost:
			errs = append(errs, fmt.Errorf("cluster %q: service %s/%s: %w", cluster, ns, name, ErrShadowed))
		case !seen[key]:
			seen[key] = true
			out = append(out, keyed{key: key, ports: svc.Ports})
		}
	}
	return out, errs
}

// reindex rebuilds the index entries of every service that a changed cluster served before or
// serves now, copying only the shards they are in.
func (s *Snapshot) reindex(prev *Snapshot, changed map[string]bool, fresh map[string][]keyed) {
	var touched [numShards][]string
	touch := func(k string) { touched[shardOf(k)] = append(touched[shardOf(k)], k) }
	for name := range changed {
		old, now := prev.parts[name], s.parts[name]
		if old != nil && now != nil && old.c == now.c {
			changedKeys(old.svcs, fresh[name], touch)
			continue
		}
		if old != nil {
			for _, e := range old.svcs {
				touch(e.key)
			}
		}
		for _, e := range fresh[name] {
			touch(e.key)
		}
	}
	adds := make(map[string][]member) // key → the changed clusters that serve it now
	for name, svcs := range fresh {
		c := s.parts[name].c
		for _, e := range svcs {
			adds[e.key] = append(adds[e.key], member{c: c, ports: e.ports})
		}
	}
	cloned := false
	for i, keys := range touched {
		if len(keys) == 0 {
			continue
		}
		slices.Sort(keys)
		keys = slices.Compact(keys)
		if !cloned {
			s.namespaces, cloned = maps.Clone(s.namespaces), true
			if s.namespaces == nil {
				s.namespaces = make(map[string]int)
			}
		}
		shard := maps.Clone(prev.shards[i])
		if shard == nil {
			shard = make(map[string]*service, len(keys))
		}
		for _, k := range keys {
			s.update(shard, k, changed, adds[k])
		}
		s.shards[i] = shard
	}
}

// changedKeys touches the keys whose entries differ between two service lists of one cluster:
// services added, removed, or with other ports.
func changedKeys(before, after []keyed, touch func(string)) {
	ports := make(map[string][]Port, len(before))
	for _, e := range before {
		ports[e.key] = e.ports
	}
	for _, e := range after {
		if old, ok := ports[e.key]; !ok || !slices.Equal(old, e.ports) {
			touch(e.key)
		}
		delete(ports, e.key)
	}
	for k := range ports {
		touch(k)
	}
}

// update recomputes the entry of one service in a shard being rebuilt.
func (s *Snapshot) update(shard map[string]*service, key string, changed map[string]bool, adds []member) {
	old := shard[key]
	var members []member
	if old != nil {
		for _, mb := range old.members {
			if !changed[mb.c.name] {
				members = append(members, mb)
			}
		}
	}
	members = append(members, adds...)
	ns := key[strings.IndexByte(key, '.')+1:]
	switch {
	case len(members) == 0 && old != nil:
		delete(shard, key)
		s.count--
		s.countFailOpen(old, nil)
		s.namespaces[ns]--
		if s.namespaces[ns] == 0 {
			delete(s.namespaces, ns)
		}
	case len(members) > 0:
		if old == nil {
			s.count++
			s.namespaces[ns]++
		}
		e := newService(members)
		s.countFailOpen(old, e)
		shard[key] = e
	}
}

// newService makes the entry of one service: its members in answer order and their addresses.
// Per family, those are the members' healthy addresses, or all of them when none is healthy
// (fail open). A service served by one cluster shares that cluster's address lists.
func newService(members []member) *service {
	slices.SortFunc(members, func(a, b member) int { return answerOrder(a.c, b.c) })
	e := &service{members: members}
	if len(members) == 1 {
		c := members[0].c
		e.v4, e.v6 = c.v4, c.v6
		e.failOpen = len(c.up4) == 0 && len(c.v4) > 0 || len(c.up6) == 0 && len(c.v6) > 0
		return e
	}
	var open4, open6 bool
	e.v4, open4 = gather(members, true)
	e.v6, open6 = gather(members, false)
	e.failOpen = open4 || open6
	return e
}
