package main

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/peerdns/peerdns/test/bench/internal/peerbench"
)

// buildMetric is the server's map build time histogram.
const buildMetric = "coredns_peerdns_snapshot_build_duration_seconds"

// exportOff is a merge patch that turns a Service's export off.
var exportOff = []byte(`{"metadata":{"labels":{"peerdns.io/export":"false"}}}`)

// incremental makes the changes one after another, the peers taking turns (a creation, then a
// label change that drops the Service again), and times each from the API call's return to the
// changed answer. It also reads the server's build times of those maps.
func (b *bench) incremental(ctx context.Context, s *peerbench.Server) error {
	before, err := peerbench.Scrape(s.MetricsURL())
	if err != nil {
		return err
	}
	poll := peerbench.Poller{Addr: s.Addr(), Every: time.Millisecond, Timeout: 500 * time.Millisecond}
	var took []time.Duration
	for k := range b.o.changes {
		peer := (k / 2) % len(b.peers)
		d, err := b.change(ctx, poll, peer, fmt.Sprintf("inc-%d", k/2), k%2 == 1)
		if err != nil {
			return fmt.Errorf("change %d: %w", k, err)
		}
		took = append(took, d)
		time.Sleep(50 * time.Millisecond)
	}
	after, err := peerbench.Scrape(s.MetricsURL())
	if err != nil {
		return err
	}
	b.res.Change = peerbench.Summarize(took)
	b.res.IncrementalBuild, b.res.IncrementalN = after.Histogram(buildMetric).Mean(before.Histogram(buildMetric))
	logf("incremental changes: %s; %d builds of mean %s", b.res.Change, b.res.IncrementalN, peerbench.Ms(b.res.IncrementalBuild))
	return nil
}

// change creates Service name in ns-00 of peer i (or labels it peerdns.io/export=false) and
// returns the time from the call's return to the answer that shows it.
func (b *bench) change(ctx context.Context, poll peerbench.Poller, i int, name string, unexport bool) (time.Duration, error) {
	services := b.peers[i].Client().CoreV1().Services("ns-00")
	want := peerbench.Addrs(gatewayIP(i))
	var err error
	if unexport {
		want = peerbench.NXDomain
		_, err = services.Patch(ctx, name, types.MergePatchType, exportOff, metav1.PatchOptions{})
	} else {
		_, err = services.Create(ctx, peerbench.NewService(name), metav1.CreateOptions{})
	}
	accepted := time.Now()
	if err != nil {
		return 0, err
	}
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	at, err := poll.Await(wait, name+".ns-00.global", want)
	return at.Sub(accepted), err
}
