package main

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/peerdns/peerdns/test/bench/internal/peerbench"
)

// result is one run, as written to the results file.
type result struct {
	Machine    string            `json:"machine"`
	Changes    int               `json:"changes"`
	Background int               `json:"background_services"`
	Every      string            `json:"poll_every"`
	All        peerbench.Summary `json:"all"`
	Create     peerbench.Summary `json:"create"`
	Label      peerbench.Summary `json:"label"`
	Call       peerbench.Summary `json:"api_call"`
	// ServerMean is the mean of the server's own propagation_delay_seconds over the changes: from
	// the event reaching peerdns to the map that answers with it.
	ServerMean time.Duration `json:"server_propagation_mean_ns"`
	BuildMean  time.Duration `json:"server_build_mean_ns"`
	Builds     int           `json:"server_builds"`
}

// exportOff is a merge patch that turns a Service's export off.
var exportOff = []byte(`{"metadata":{"labels":{"peerdns.io/export":"false"}}}`)

// measure makes the changes one after another and times each.
func (b *bench) measure(ctx context.Context, s *peerbench.Server) (*result, error) {
	before, err := peerbench.Scrape(s.MetricsURL())
	if err != nil {
		return nil, err
	}
	poll := peerbench.Poller{Addr: s.Addr(), Every: b.o.every, Timeout: 500 * time.Millisecond}
	var create, label, calls []time.Duration
	for i := range b.o.changes {
		name := fmt.Sprintf("p-%d", i/2)
		took, call, err := b.change(ctx, poll, name, i%2 == 1)
		if err != nil {
			return nil, fmt.Errorf("change %d: %w", i, err)
		}
		if i%2 == 0 {
			create = append(create, took)
		} else {
			label = append(label, took)
		}
		calls = append(calls, call)
		time.Sleep(b.o.gap)
	}
	after, err := peerbench.Scrape(s.MetricsURL())
	if err != nil {
		return nil, err
	}
	res := &result{Machine: peerbench.Machine(), Changes: b.o.changes, Background: b.o.background,
		Every: b.o.every.String(), All: peerbench.Summarize(append(append([]time.Duration{}, create...), label...)),
		Create: peerbench.Summarize(create), Label: peerbench.Summarize(label), Call: peerbench.Summarize(calls)}
	res.ServerMean, _ = after.Histogram(propagationMetric).Mean(before.Histogram(propagationMetric))
	res.BuildMean, res.Builds = after.Histogram(buildMetric).Mean(before.Histogram(buildMetric))
	return res, nil
}

// The server's histograms.
const (
	propagationMetric = "coredns_peerdns_propagation_delay_seconds"
	buildMetric       = "coredns_peerdns_snapshot_build_duration_seconds"
)

// change creates Service name (or, with unexport, labels it peerdns.io/export=false) and waits
// for the answer that shows it: its address, or NXDOMAIN. It returns the time from the API
// call's return to that answer, and the API call's own duration.
func (b *bench) change(ctx context.Context, poll peerbench.Poller, name string, unexport bool) (time.Duration, time.Duration, error) {
	services := b.peer.Client().CoreV1().Services(namespace)
	want := peerbench.Addrs(gatewayIP)
	called := time.Now()
	var err error
	if unexport {
		want = peerbench.NXDomain
		_, err = services.Patch(ctx, name, types.MergePatchType, exportOff, metav1.PatchOptions{})
	} else {
		_, err = services.Create(ctx, peerbench.NewService(name), metav1.CreateOptions{})
	}
	accepted := time.Now()
	if err != nil {
		return 0, 0, err
	}
	wait, cancel := context.WithTimeout(ctx, b.o.timeout)
	defer cancel()
	at, err := poll.Await(wait, name+"."+namespace+".global", want)
	if err != nil {
		return 0, 0, err
	}
	return at.Sub(accepted), accepted.Sub(called), nil
}
