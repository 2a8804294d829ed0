package sync

import (
	"strings"

	"go.uber.org/zap"

	"github.com/peerdns/peerdns/resolver"
)

// duplicate is a cluster name given by more than one source.
type duplicate struct {
	name, kept, dropped string
}

// merge returns the union of every source's clusters, in source order, the local namespaces,
// and whether every source is ready. A cluster name that two sources give is kept from the first;
// the others are dropped and returned as duplicates. Clusters read from the snapshot file stand
// in, as stale, for those no source has listed yet.
func (s *Syncer) merge() (resolver.Map, []duplicate, bool) {
	ready := true
	var m resolver.Map
	from := make(map[string]string) // cluster name -> source that gave it
	var dups []duplicate
	for _, src := range s.opts.Sources {
		clusters, ok := src.Clusters()
		ready = ready && ok
		if ns, isNS := src.(namespaceSource); isNS {
			m.LocalNamespaces = append(m.LocalNamespaces, ns.Namespaces()...)
		}
		for _, c := range clusters {
			if first, seen := from[c.Name]; seen {
				dups = append(dups, duplicate{c.Name, first, src.Name()})
				continue
			}
			from[c.Name] = src.Name()
			m.Clusters = append(m.Clusters, c)
		}
	}
	m.Clusters = s.withSaved(m.Clusters, ready)
	return m, dups, ready
}

// withSaved puts the snapshot file's clusters in place of those that have not been listed yet,
// and, while some source is not ready, of those no source has given yet.
func (s *Syncer) withSaved(clusters []resolver.Cluster, ready bool) []resolver.Cluster {
	if len(s.saved) == 0 {
		return clusters
	}
	at := make(map[string]int, len(clusters))
	for i, c := range clusters {
		at[c.Name] = i
	}
	for _, c := range s.saved {
		i, listed := at[c.Name]
		switch {
		case !listed && !ready:
			clusters = append(clusters, c)
		case clusters[i].State == resolver.Syncing:
			clusters[i] = c
		}
	}
	return clusters
}

// logDuplicates warns about each duplicate cluster name, when the set differs from the previous
// build's.
func (s *Syncer) logDuplicates(dups []duplicate) {
	var b strings.Builder
	for _, d := range dups {
		b.WriteString(d.name + "\x00" + d.kept + "\x00" + d.dropped + "\x00")
	}
	if b.String() == s.lastDups {
		return
	}
	s.lastDups = b.String()
	for _, d := range dups {
		s.log.Warn("cluster given by two sources, keeping the first",
			zap.String("cluster", d.name), zap.String("kept", d.kept), zap.String("dropped", d.dropped))
	}
}
