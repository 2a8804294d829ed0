package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/peerdns/peerdns/test/bench/internal/peerbench"
)

// target is the goal for the 99th percentile.
const target = 250 * time.Millisecond

// report prints the result and writes it to the results file and, unless told not to, to
// BENCHMARKS.md's Propagation section.
func report(o options, res *result) error {
	logf("all changes: %s", res.All)
	logf("creations:   %s", res.Create)
	logf("labels:      %s", res.Label)
	logf("API calls:   %s", res.Call)
	logf("server: propagation mean %s, %d builds of mean %s", peerbench.Ms(res.ServerMean), res.Builds, peerbench.Ms(res.BuildMean))
	if err := writeJSON(o.results, res); err != nil {
		return err
	}
	if o.noWrite {
		return nil
	}
	return peerbench.ReplaceSection(o.benchmarks, "## Propagation", markdown(res))
}

func markdown(res *result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From a Service change accepted by a peer's API server to the changed DNS answer.\n\n")
	fmt.Fprintf(&b, "    go run ./test/bench/propagation        # make bench-propagation\n\n")
	fmt.Fprintf(&b, "One real kube-apiserver v1.37.2 and etcd (test/testbed) holding %d other Services; peerdns\n", res.Background)
	fmt.Fprintf(&b, "(bin/peerdns, `kubeconfig` source, prometheus plugin on) reads it. %d changes one after\n", res.Changes)
	fmt.Fprintf(&b, "another: create a Service, then label it `peerdns.io/export=false`, and so on. Each is timed\n")
	fmt.Fprintf(&b, "from the return of the Create or Patch call to the first UDP answer that shows it (the\n")
	fmt.Fprintf(&b, "gateway's address, then NXDOMAIN), asked every %s with miekg/dns.\n\n", res.Every)
	fmt.Fprintf(&b, "Run: %s.\n\n", res.Machine)
	fmt.Fprintf(&b, "| changes | n | p50 | p90 | p99 | max |\n|---|---:|---:|---:|---:|---:|\n")
	row := func(what string, s peerbench.Summary) {
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s |\n", what, s.N, peerbench.Ms(s.P50), peerbench.Ms(s.P90), peerbench.Ms(s.P99), peerbench.Ms(s.Max))
	}
	row("all", res.All)
	row("create", res.Create)
	row("label export=false", res.Label)
	row("(the API call itself)", res.Call)
	verdict := "met"
	if res.All.P99 > target {
		verdict = "NOT met"
	}
	fmt.Fprintf(&b, "\nTarget p99 ≤ %v: %s (p99 %s). The server's own\n", target, verdict, peerbench.Ms(res.All.P99))
	fmt.Fprintf(&b, "`coredns_peerdns_propagation_delay_seconds` (event seen to map\n")
	fmt.Fprintf(&b, "published) averaged %s; it built %d maps, %s each on average\n", peerbench.Ms(res.ServerMean), res.Builds, peerbench.Ms(res.BuildMean))
	fmt.Fprintf(&b, "(`coredns_peerdns_snapshot_build_duration_seconds`). Raw results: test/bench/results/propagation.json.\n")
	return b.String()
}
