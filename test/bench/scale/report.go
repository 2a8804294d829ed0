package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/peerdns/peerdns/test/bench/internal/peerbench"
)

// ruleMB is CoreDNS's sizing rule for its kubernetes plugin, in MB: services/1000 + 54.
func ruleMB(services int) float64 { return float64(services)/1000 + 54 }

// intro opens BENCHMARKS.md's Scale section; each run writes a subsection of its own.
const intro = `What peerdns costs holding a large map read live from real API servers (test/testbed:
kube-apiserver v1.37.2 + etcd, one peer per API server), Services created before peerdns starts
(headless, every name distinct, spread over 50 namespaces per peer), peerdns (bin/peerdns,
` + "`kubeconfig`" + ` folder, prometheus plugin on) then started. "First answer" is the first reply
other than SERVFAIL: the first complete map. The cost of one change is timed from the API call's
return to the changed answer (asked every 1 ms), alternately a new Service and a label
` + "`peerdns.io/export=false`" + ` on it, the peers taking turns; the map build times are the server's
` + "`coredns_peerdns_snapshot_build_duration_seconds`" + `. Memory is the server's VmRSS and VmHWM
(/proc), "settled" after 10 s idle. Target: resident memory ≤ CoreDNS's sizing rule for its
kubernetes plugin with as many Services (services/1000 + 54 MB); an incremental change far
cheaper than a full build.`

// report prints the result and writes it to the results file and, unless told not to, to a
// subsection of BENCHMARKS.md's Scale section.
func report(o options, res *result) error {
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(o.results), 0o755); err == nil {
		err = os.WriteFile(o.results, append(data, '\n'), 0o644)
	}
	if err != nil {
		return err
	}
	fmt.Println(markdown(o, res))
	if o.noWrite {
		return nil
	}
	heading := fmt.Sprintf("### %d peers × %d Services", res.Clusters, res.PerCluster)
	return peerbench.ReplaceSubsection(o.benchmarks, "## Scale", intro, heading, markdown(o, res))
}

func markdown(o options, res *result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "    go run ./test/bench/scale -clusters %d -services %d\n\n", res.Clusters, res.PerCluster)
	fmt.Fprintf(&b, "%d real API servers, %d Services in all, %d namespaces per peer. Run: %s.\n\n",
		res.Clusters, res.Total, o.namespaces, res.Machine)
	fmt.Fprintf(&b, "| measure | value |\n|---|---:|\n")
	fmt.Fprintf(&b, "| %d clusters started | %s |\n", res.Clusters, secs(res.ClustersStart))
	fmt.Fprintf(&b, "| %d Services created, %d at once | %s (%.0f/s) |\n", res.Total, o.workers, secs(res.Create), float64(res.Total)/res.Create.Seconds())
	fmt.Fprintf(&b, "| server start → first answer (first complete map) | %s |\n", secs(res.Ready))
	fmt.Fprintf(&b, "| server start → every Service counted (metrics) | %s |\n", secs(res.Complete))
	fmt.Fprintf(&b, "| map build, first map (mean of %d) | %s |\n", res.FirstBuilds, peerbench.Ms(res.FirstBuild))
	fmt.Fprintf(&b, "| map build, incremental change (mean of %d) | %s |\n", res.IncrementalN, peerbench.Ms(res.IncrementalBuild))
	fmt.Fprintf(&b, "| one change → answer: p50 / p99 / max of %d | %s / %s / %s |\n", res.Change.N,
		peerbench.Ms(res.Change.P50), peerbench.Ms(res.Change.P99), peerbench.Ms(res.Change.Max))
	mem := func(what string, m peerbench.Memory) {
		fmt.Fprintf(&b, "| memory %s: VmRSS / VmHWM | %s / %s |\n", what, peerbench.MB(m.RSS), peerbench.MB(m.HWM))
	}
	mem("at the complete map", res.AtComplete)
	mem("settled", res.Settled)
	mem("after the changes", res.AfterChanges)
	rule := ruleMB(res.Total)
	verdict := "met"
	if float64(res.Settled.RSS)/1e6 > rule {
		verdict = "NOT met"
	}
	fmt.Fprintf(&b, "\nMemory target (%d/1000 + 54 = %.0f MB): %s by the settled VmRSS, %s (high-water\n",
		res.Total, rule, verdict, peerbench.MB(res.Settled.RSS))
	fmt.Fprintf(&b, "mark %s by then; %s after the changes). Raw results: %s.\n",
		peerbench.MB(res.Settled.HWM), peerbench.MB(res.AfterChanges.HWM), o.results)
	return b.String()
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }
