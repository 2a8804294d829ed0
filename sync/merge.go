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

// merge returns the union of every source's clusters, in source order, and whether every source
// is ready. A cluster name that two sources give is kept from the first; the others are dropped
// and returned as duplicates.
func (s *Syncer) merge() ([]resolver.Cluster, []duplicate, bool) {
	ready := true
	var all []resolver.Cluster
	from := make(map[string]string) // cluster name -> source that gave it
	var dups []duplicate
	for _, src := range s.opts.Sources {
		clusters, ok := src.Clusters()
		ready = ready && ok
		for _, c := range clusters {
			if first, seen := from[c.Name]; seen {
				dups = append(dups, duplicate{c.Name, first, src.Name()})
				continue
			}
			from[c.Name] = src.Name()
			all = append(all, c)
		}
	}
	return all, dups, ready
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
