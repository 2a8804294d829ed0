package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/peerdns/peerdns/test/bench/internal/peerbench"
	"github.com/peerdns/peerdns/test/testbed"
)

// result is one run, as written to the results file.
type result struct {
	Machine       string        `json:"machine"`
	Clusters      int           `json:"clusters"`
	PerCluster    int           `json:"services_per_cluster"`
	Total         int           `json:"services"`
	ClustersStart time.Duration `json:"clusters_start_ns"`
	Create        time.Duration `json:"create_ns"`
	// Ready is from the server's start to its first answer other than SERVFAIL; Complete to the
	// moment its metrics count every Service.
	Ready    time.Duration `json:"ready_ns"`
	Complete time.Duration `json:"complete_ns"`
	// FirstBuild is the mean build time of the maps published until the map was complete (the
	// full builds), IncrementalBuild that of the maps of the incremental changes.
	FirstBuild       time.Duration     `json:"first_build_ns"`
	FirstBuilds      int               `json:"first_builds"`
	IncrementalBuild time.Duration     `json:"incremental_build_ns"`
	IncrementalN     int               `json:"incremental_builds"`
	Change           peerbench.Summary `json:"change"`
	AtComplete       peerbench.Memory  `json:"memory_at_complete"`
	Settled          peerbench.Memory  `json:"memory_settled"`
	AfterChanges     peerbench.Memory  `json:"memory_after_changes"`
}

// bench is one run's state.
type bench struct {
	o     options
	work  string
	peers []*testbed.Cluster
	res   *result
}

// populate makes each peer's gateway and namespaces, then every Service, the clusters taking
// turns so that every API server works at once.
func (b *bench) populate(ctx context.Context) error {
	nss := make([]string, b.o.namespaces)
	for i := range nss {
		nss[i] = fmt.Sprintf("ns-%02d", i)
	}
	for i, c := range b.peers {
		if err := peerbench.Gateway(ctx, c, gatewayIP(i)); err != nil {
			return err
		}
		if err := peerbench.Namespaces(ctx, c.Client(), nss...); err != nil {
			return err
		}
	}
	items := make([]peerbench.Item, 0, b.res.Total)
	for j := range b.o.services {
		for i, c := range b.peers {
			items = append(items, peerbench.Item{Client: c.Client(), Namespace: nss[j%len(nss)], Name: fmt.Sprintf("s%d-%d", i, j),
				Headless: b.o.headless})
		}
	}
	progress := func(done int) { logf("%d of %d services created", done, len(items)) }
	took, err := peerbench.CreateAll(ctx, items, b.o.workers, progress)
	b.res.Create = took
	logf("created %d services in %v (%.0f/s)", len(items), took.Round(time.Millisecond), float64(len(items))/took.Seconds())
	return err
}

// corefile serves the zone from the peers' kubeconfigs, with metrics.
const corefile = `global:{port} {
    bind 127.0.0.1
    prometheus 127.0.0.1:{metrics}
    peerdns {
        kubeconfig {dir}/peers
    }
}
`

// serve starts peerdns, waits for the complete map, reads its memory, and times the changes.
func (b *bench) serve(ctx context.Context, bin string) error {
	if err := peerbench.KubeconfigDir(filepath.Join(b.work, "peers"), b.peers...); err != nil {
		return err
	}
	s, err := peerbench.Start(bin, b.work, corefile)
	if err != nil {
		return err
	}
	defer s.Stop()
	if err := b.complete(ctx, s); err != nil {
		return fmt.Errorf("%w\nserver output (tail):\n%s", err, s.Output())
	}
	time.Sleep(b.o.settle) // idle: the runtime returns what the initial listing used
	if b.res.Settled, err = peerbench.ReadMemory(s.PID()); err != nil {
		return err
	}
	logf("memory settled: RSS %s, HWM %s", peerbench.MiB(b.res.Settled.RSS), peerbench.MiB(b.res.Settled.HWM))
	if err := b.incremental(ctx, s); err != nil {
		return fmt.Errorf("%w\nserver output (tail):\n%s", err, s.Output())
	}
	b.res.AfterChanges, err = peerbench.ReadMemory(s.PID())
	return err
}

// complete waits for the first map and then for the metrics to count every Service.
func (b *bench) complete(ctx context.Context, s *peerbench.Server) error {
	wait, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	var err error
	if b.res.Ready, err = s.WaitReady(wait, "global."); err != nil {
		return err
	}
	logf("first map served after %v", b.res.Ready.Round(time.Millisecond))
	for {
		m, err := peerbench.Scrape(s.MetricsURL())
		if err == nil && int(m.Sum("coredns_peerdns_peer_services")) >= b.res.Total {
			b.res.Complete = time.Since(s.Started)
			b.res.FirstBuild, b.res.FirstBuilds = m.Histogram(buildMetric).Mean(peerbench.Histogram{})
			break
		}
		select {
		case <-wait.Done():
			return fmt.Errorf("map not complete (%v services counted): %w", m.Sum("coredns_peerdns_peer_services"), wait.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	var err2 error
	b.res.AtComplete, err2 = peerbench.ReadMemory(s.PID())
	logf("complete map after %v; RSS %s", b.res.Complete.Round(time.Millisecond), peerbench.MiB(b.res.AtComplete.RSS))
	return err2
}
