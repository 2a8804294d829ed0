// Command propagation measures how fast a Service change in a peer cluster reaches peerdns's
// answers: against one real kube-apiserver (test/testbed), it makes a number of changes,
// alternately creating a Service and labelling it peerdns.io/export=false, and times each from
// the moment the API server has accepted it (the Create or Patch call returned) to the first
// UDP answer of the built server that shows it (the service's address, then NXDOMAIN), asking
// every millisecond. Target: p99 ≤ 250 ms.
//
// From the repository root (the test bed's binaries come from scripts/testbed.sh build):
//
//	go run ./test/bench/propagation              200 changes, written to BENCHMARKS.md
//	go run ./test/bench/propagation -changes 20 -no-write    a smoke run
//
// Raw results go to test/bench/results/propagation.json.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/peerdns/peerdns/test/bench/internal/peerbench"
	"github.com/peerdns/peerdns/test/testbed"
)

// options are the command line.
type options struct {
	changes    int
	background int
	every      time.Duration
	timeout    time.Duration
	gap        time.Duration
	benchmarks string
	results    string
	noWrite    bool
}

func parseFlags() options {
	var o options
	flag.IntVar(&o.changes, "changes", 200, "Service changes to time (half creations, half label changes)")
	flag.IntVar(&o.background, "background", 1000, "Services in the peer before the first change")
	flag.DurationVar(&o.every, "every", time.Millisecond, "pause between two questions while waiting for a change")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Second, "longest wait for one change")
	flag.DurationVar(&o.gap, "gap", 20*time.Millisecond, "pause between two changes")
	flag.StringVar(&o.benchmarks, "benchmarks", "BENCHMARKS.md", "Markdown file whose Propagation section gets the results")
	flag.StringVar(&o.results, "results", "test/bench/results/propagation.json", "raw results")
	flag.BoolVar(&o.noWrite, "no-write", false, "leave BENCHMARKS.md alone")
	flag.Parse()
	return o
}

func main() {
	o := parseFlags()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "propagation:", err)
		os.Exit(1)
	}
}

// zone, peer and namespace of the run; the gateway address only ever appears in answers.
const (
	peerName  = "peer"
	namespace = "prop"
	gatewayIP = "203.0.113.7"
)

func run(ctx context.Context, o options) error {
	root, err := peerbench.ModuleRoot()
	if err != nil {
		return err
	}
	if err := os.Chdir(root); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "peerdns-propagation-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	logf("building cmd/peerdns and starting a test-bed cluster")
	bin, err := peerbench.Build(root, work)
	if err != nil {
		return err
	}
	clusters, err := testbed.StartAll(ctx, testbed.Options{}, peerName)
	if err != nil {
		return err
	}
	defer testbed.StopAll(clusters...)
	env := &bench{o: o, peer: clusters[0], work: work}
	if err := env.prepare(ctx); err != nil {
		return err
	}
	s, err := env.startServer(ctx, bin)
	if err != nil {
		return err
	}
	defer s.Stop()
	res, err := env.measure(ctx, s)
	if err != nil {
		return fmt.Errorf("%w\nserver output (tail):\n%s", err, lastLines(s.Output(), 30))
	}
	return report(o, res)
}

// bench is one run's state.
type bench struct {
	o    options
	peer *testbed.Cluster
	work string
}

// prepare makes the peer's gateway, the namespace and the background Services.
func (b *bench) prepare(ctx context.Context) error {
	if err := peerbench.Gateway(ctx, b.peer, gatewayIP); err != nil {
		return err
	}
	k := b.peer.Client()
	if err := peerbench.Namespaces(ctx, k, namespace); err != nil {
		return err
	}
	items := make([]peerbench.Item, b.o.background)
	for i := range items {
		items[i] = peerbench.Item{Client: k, Namespace: namespace, Name: fmt.Sprintf("bg-%d", i), Headless: true}
	}
	took, err := peerbench.CreateAll(ctx, items, 16, nil)
	logf("created %d background services in %v", b.o.background, took.Round(time.Millisecond))
	return err
}

// startServer starts peerdns on the peer's kubeconfig and waits for its first complete map.
func (b *bench) startServer(ctx context.Context, bin string) (*peerbench.Server, error) {
	if err := peerbench.KubeconfigDir(filepath.Join(b.work, "peers"), b.peer); err != nil {
		return nil, err
	}
	s, err := peerbench.Start(bin, b.work, corefile)
	if err != nil {
		return nil, err
	}
	ready, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	took, err := s.WaitReady(ready, "global.")
	if err != nil {
		s.Stop()
		return nil, err
	}
	logf("peerdns serving after %v", took.Round(time.Millisecond))
	return s, nil
}

// corefile serves the zone from the peer's kubeconfig, with metrics.
const corefile = `global:{port} {
    bind 127.0.0.1
    prometheus 127.0.0.1:{metrics}
    peerdns {
        kubeconfig {dir}/peers
    }
}
`

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s propagation: %s\n", time.Now().Format(time.TimeOnly), fmt.Sprintf(format, args...))
}

func lastLines(s string, n int) string {
	data := []byte(s)
	for i, seen := len(data)-1, 0; i >= 0; i-- {
		if data[i] == '\n' {
			if seen++; seen > n {
				return s[i+1:]
			}
		}
	}
	return s
}

// writeJSON writes v, indented, into path, making its folder.
func writeJSON(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
