// Command scale measures peerdns holding a large map read from real API servers: N test-bed
// clusters (test/testbed) with M Services each, read through kubeconfig peers. It reports how
// long the Services took to create, the time to the first complete map, the cost of one
// incremental change at that size (from the API call's return to the changed answer, and the
// server's own map build time, coredns_peerdns_snapshot_build_duration_seconds), and the
// server's resident memory (VmRSS and VmHWM) against CoreDNS's sizing rule for its kubernetes
// plugin: services/1000 + 54 MB.
//
// From the repository root (the test bed's binaries come from scripts/testbed.sh build):
//
//	go run ./test/bench/scale                        20 peers × 5,000 Services, to BENCHMARKS.md
//	go run ./test/bench/scale -clusters 4 -services 25000    the same 100,000 on 4 API servers
//	go run ./test/bench/scale -clusters 2 -services 2000 -no-write   a smoke run
//
// Twenty API servers take about 8 GB of memory and the run about six minutes on two cores,
// most of it creating the Services. Each run writes its own subsection of the Scale section.
//
// Raw results go to test/bench/results/scale.json.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/peerdns/peerdns/test/bench/internal/peerbench"
	"github.com/peerdns/peerdns/test/testbed"
)

// options are the command line.
type options struct {
	clusters   int
	services   int
	namespaces int
	workers    int
	headless   bool
	changes    int
	settle     time.Duration
	benchmarks string
	results    string
	noWrite    bool
}

func parseFlags() options {
	var o options
	flag.IntVar(&o.clusters, "clusters", 20, "real API servers, one peer each")
	flag.IntVar(&o.services, "services", 5000, "Services per cluster")
	flag.IntVar(&o.namespaces, "namespaces", 50, "namespaces per cluster the Services are spread over")
	flag.IntVar(&o.workers, "workers", 16, "Services created at once")
	flag.BoolVar(&o.headless, "headless", true, "create headless Services (no cluster IP to allocate: faster)")
	flag.IntVar(&o.changes, "changes", 20, "incremental changes to time once the map is complete")
	flag.DurationVar(&o.settle, "settle", 10*time.Second, "idle time before the settled memory reading")
	flag.StringVar(&o.benchmarks, "benchmarks", "BENCHMARKS.md", "Markdown file whose Scale section gets the results")
	flag.StringVar(&o.results, "results", "test/bench/results/scale.json", "raw results")
	flag.BoolVar(&o.noWrite, "no-write", false, "leave BENCHMARKS.md alone")
	flag.Parse()
	return o
}

func main() {
	o := parseFlags()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	root, err := peerbench.ModuleRoot()
	if err != nil {
		return err
	}
	if err := os.Chdir(root); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "peerdns-scale-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	logf("building cmd/peerdns and starting %d test-bed clusters", o.clusters)
	bin, err := peerbench.Build(root, work)
	if err != nil {
		return err
	}
	b := &bench{o: o, work: work, res: &result{Machine: peerbench.Machine(), Clusters: o.clusters,
		PerCluster: o.services, Total: o.clusters * o.services}}
	began := time.Now()
	if b.peers, err = testbed.StartAll(ctx, testbed.Options{Timeout: 5 * time.Minute}, names(o.clusters)...); err != nil {
		return err
	}
	defer testbed.StopAll(b.peers...)
	b.res.ClustersStart = time.Since(began)
	logf("clusters ready after %v", b.res.ClustersStart.Round(time.Millisecond))
	if err := b.populate(ctx); err != nil {
		return err
	}
	if err := b.serve(ctx, bin); err != nil {
		return err
	}
	return report(o, b.res)
}

// names are the peers' names: p00, p01...
func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("p%02d", i)
	}
	return out
}

// gatewayIP is peer i's gateway address, from the documentation ranges.
func gatewayIP(i int) string {
	return fmt.Sprintf("198.51.100.%d", 10+i)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s scale: %s\n", time.Now().Format(time.TimeOnly), fmt.Sprintf(format, args...))
}
