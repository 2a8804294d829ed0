package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/peerdns/peerdns/internal/testmap"
	"github.com/peerdns/peerdns/resolver"
)

// zone is the zone every server is authoritative for.
const zone = "global."

// sharedPerTen is how many of every ten services also run in a second cluster, so that some
// answers hold two addresses (as in resolver's Go benchmarks).
const sharedPerTen = 2

// queriesPerFile is the length of each query file; dnsperf goes round it as often as it needs.
const queriesPerFile = 100000

// dataset is the generated map in each server's format, and one query file per mix.
type dataset struct {
	services int
	clusters []resolver.Cluster
	static   string // peers file for peerdns
	hosts    string // hosts file for CoreDNS hosts
	zoneFile string // zone file for CoreDNS file and Knot
	queries  map[string]string
}

// mix is a query mix: what fraction of queries is of which kind.
type mix struct {
	name  string
	title string
	kinds []share
}

type share struct {
	percent int
	kind    func(i, services int) string // a query line, "NAME TYPE", for service i
}

var mixes = []mix{
	{"hit", "hits (A)", []share{{100, hitA}}},
	{"nodata", "30% AAAA NODATA", []share{{70, hitA}, {30, nodataAAAA}}},
	{"nxdomain", "30% NXDOMAIN", []share{{70, hitA}, {15, searchJunk}, {15, unknownService}}},
	{"srv", "SRV", []share{{100, srvQuery}}},
}

func hitA(i, _ int) string       { return testmap.Name(i) + " A" }
func nodataAAAA(i, _ int) string { return testmap.Name(i) + " AAAA" }
func srvQuery(i, _ int) string   { return "_grpc._tcp." + testmap.Name(i) + " SRV" }

// searchJunk is a cluster-local name with the peer zone appended by a resolver search list.
func searchJunk(i, _ int) string {
	return fmt.Sprintf("svc-%d.ns-%d.svc.cluster.local.%s A", i, i%100, zone)
}

// unknownService is a service nobody serves, in a namespace that exists.
func unknownService(i, services int) string {
	return testmap.Name(services+i) + " A"
}

func mixNames() []string {
	out := make([]string, len(mixes))
	for i, m := range mixes {
		out[i] = m.name
	}
	return out
}

func mixByName(name string) *mix {
	for i := range mixes {
		if mixes[i].name == name {
			return &mixes[i]
		}
	}
	return nil
}

// generate writes the map of services services over n clusters, in every format, and the query
// files of the mixes, into dir.
func generate(dir string, services, n int) (*dataset, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	d := &dataset{
		services: services,
		clusters: testmap.Clusters(n, services, sharedPerTen),
		static:   filepath.Join(dir, "peers.yaml"),
		hosts:    filepath.Join(dir, "hosts"),
		zoneFile: filepath.Join(dir, "global.zone"),
		queries:  map[string]string{},
	}
	writers := []struct {
		path  string
		write func(*bufio.Writer) error
	}{
		{d.static, func(w *bufio.Writer) error { return testmap.WriteStatic(w, d.clusters) }},
		{d.hosts, func(w *bufio.Writer) error { return testmap.WriteHosts(w, d.clusters, zone) }},
		{d.zoneFile, func(w *bufio.Writer) error { return testmap.WriteZone(w, d.clusters, zone, 5) }},
	}
	for _, m := range mixes {
		path := filepath.Join(dir, "queries-"+m.name+".txt")
		d.queries[m.name] = path
		writers = append(writers, struct {
			path  string
			write func(*bufio.Writer) error
		}{path, func(w *bufio.Writer) error { return writeQueries(w, m, services) }})
	}
	for _, wr := range writers {
		if err := writeFile(wr.path, wr.write); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// writeQueries writes queriesPerFile lines of mix m in a fixed pseudo-random order (seeded by the
// mix, so every run and every server sees the same file), services drawn uniformly.
func writeQueries(w *bufio.Writer, m mix, services int) error {
	var seed uint64
	for _, c := range m.name {
		seed = seed*31 + uint64(c)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	for range queriesPerFile {
		p, i := rng.IntN(100), rng.IntN(services)
		for _, s := range m.kinds {
			if p < s.percent {
				fmt.Fprintln(w, s.kind(i, services))
				break
			}
			p -= s.percent
		}
	}
	return nil
}

func writeFile(path string, write func(*bufio.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	if err := write(w); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}
