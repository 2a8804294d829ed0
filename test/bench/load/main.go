// Command load is peerdns's load harness: the same map served at once by peerdns, CoreDNS's hosts
// and file plugins (all three in the bin/peerdns build) and Knot DNS, each on its own loopback
// port and pinned to one core, loaded in turn by dnsperf pinned to the other core.
//
// From the repository root, as root (it installs dnsperf and knot from Debian when missing):
//
//	go run ./test/bench/load                      throughput and latency, written to BENCHMARKS.md
//	go run ./test/bench/load -rounds 2 -duration 3s -fixed-duration 3s -no-write   a smoke run
//	go run ./test/bench/load -mode memory         resident memory with 100,000 services
//	go run ./test/bench/load -mode profile        CPU and allocation profiles of peerdns under load
//	go run ./test/bench/load -mode report -from test/bench/results/load-….json   tables and chart again
//
// Every mode writes its raw results under test/bench/results/ and its generated tables between
// markers in BENCHMARKS.md's "## Load test" section (unless -no-write). Only 127.0.0.1 is ever
// queried; every run and every wait has a time limit.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// options are the command line.
type options struct {
	mode          string
	rounds        int
	duration      time.Duration
	fixedDuration time.Duration
	fixedQPS      int
	mixes         []string
	servers       []string
	services      int
	clusters      int
	memServices   []int
	profileTime   time.Duration
	outstanding   int
	portBase      int
	serverCPU     int
	loadCPU       int
	workDir       string
	resultsDir    string
	benchmarks    string
	chart         string
	noWrite       bool
	skipDeps      bool
	skipBuild     bool
	maxLoad       float64
	quietWait     time.Duration
	maxOther      float64
	retries       int
	root          string
	from          string
	commit        string // what bin/peerdns was built from
}

func parseFlags() (*options, error) {
	o := &options{}
	var mixes, servers, mem string
	flag.StringVar(&o.mode, "mode", "load", "load (throughput and fixed-rate latency), memory, profile, or report (tables and chart again from -from)")
	flag.StringVar(&o.from, "from", "", "a load-*.json of an earlier run, for -mode report")
	flag.IntVar(&o.rounds, "rounds", 5, "interleaved rounds of saturating runs")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of one saturating run")
	flag.DurationVar(&o.fixedDuration, "fixed-duration", 10*time.Second, "length of one fixed-rate run (0: none)")
	flag.IntVar(&o.fixedQPS, "fixed-qps", 10000, "query rate of the fixed-rate latency runs")
	flag.StringVar(&mixes, "mixes", strings.Join(mixNames(), ","), "query mixes to run")
	flag.StringVar(&servers, "servers", strings.Join(serverNames(), ","), "servers to run")
	flag.IntVar(&o.services, "services", 10000, "services in the load-test map")
	flag.IntVar(&o.clusters, "clusters", 5, "clusters the services are spread over")
	flag.StringVar(&mem, "memory-services", "1000,10000,100000", "map sizes of -mode memory")
	flag.DurationVar(&o.profileTime, "profile-duration", 20*time.Second, "length of each profiled run")
	flag.IntVar(&o.outstanding, "outstanding", 100, "dnsperf -q: queries in flight")
	flag.IntVar(&o.portBase, "port", 15300, "first of the loopback ports the servers listen on")
	flag.IntVar(&o.serverCPU, "server-cpu", 1, "core the servers are pinned to")
	flag.IntVar(&o.loadCPU, "load-cpu", 0, "core dnsperf (and this harness) is pinned to")
	flag.StringVar(&o.workDir, "work", ".cache/bench", "folder for generated data, configs and server logs")
	flag.StringVar(&o.resultsDir, "results", "test/bench/results", "folder for raw results (JSON, CSV, profiles)")
	flag.StringVar(&o.benchmarks, "benchmarks", "BENCHMARKS.md", "Markdown file whose Load test section gets the tables")
	flag.StringVar(&o.chart, "chart", "BENCHMARKS-load.png", "chart of the load mode")
	flag.BoolVar(&o.noWrite, "no-write", false, "leave BENCHMARKS.md and the chart alone (results still go to -results)")
	flag.BoolVar(&o.skipDeps, "skip-deps", false, "do not check or install dnsperf and knot")
	flag.BoolVar(&o.skipBuild, "skip-build", false, "use bin/peerdns as it is")
	flag.Float64Var(&o.maxLoad, "max-load", 0, "refuse to start while the 1-minute load average is above this (0: only warn)")
	flag.DurationVar(&o.quietWait, "quiet-wait", 0, "first wait up to this long for the 1-minute load average to fall below 1")
	flag.Float64Var(&o.maxOther, "max-other", 25, "repeat a run during which other processes took more than this percentage of a core")
	flag.IntVar(&o.retries, "retries", 3, "how often a disturbed run is repeated")
	flag.Parse()
	o.mixes = splitList(mixes)
	o.servers = splitList(servers)
	for _, s := range splitList(mem) {
		var n int
		if _, err := fmt.Sscan(s, &n); err != nil || n <= 0 {
			return nil, fmt.Errorf("-memory-services: bad size %q", s)
		}
		o.memServices = append(o.memServices, n)
	}
	return o, o.check()
}

func (o *options) check() error {
	for _, m := range o.mixes {
		if mixByName(m) == nil {
			return fmt.Errorf("-mixes: unknown mix %q (have %s)", m, strings.Join(mixNames(), ", "))
		}
	}
	for _, s := range o.servers {
		if serverByName(s) == nil {
			return fmt.Errorf("-servers: unknown server %q (have %s)", s, strings.Join(serverNames(), ", "))
		}
	}
	switch {
	case o.rounds < 1 || o.rounds > 100:
		return fmt.Errorf("-rounds: want 1 to 100")
	case o.duration < time.Second || o.duration > 10*time.Minute:
		return fmt.Errorf("-duration: want 1s to 10m")
	case o.fixedDuration < 0 || o.fixedDuration > 10*time.Minute:
		return fmt.Errorf("-fixed-duration: want 0 to 10m")
	case o.services < 1 || o.services > 1000000:
		return fmt.Errorf("-services: want 1 to 1,000,000")
	case o.clusters < 1 || o.clusters > 250:
		return fmt.Errorf("-clusters: want 1 to 250")
	case o.serverCPU == o.loadCPU:
		return fmt.Errorf("-server-cpu and -load-cpu must differ")
	case o.portBase < 1024 || o.portBase > 65000:
		return fmt.Errorf("-port: want 1024 to 65000")
	case o.retries < 0 || o.retries > 10:
		return fmt.Errorf("-retries: want 0 to 10")
	}
	switch o.mode {
	case "load", "memory", "profile":
		return nil
	case "report":
		if o.from == "" {
			return fmt.Errorf("-mode report needs -from results/load-….json")
		}
		return nil
	}
	return fmt.Errorf("-mode: want load, memory, profile or report, got %q", o.mode)
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func main() {
	o, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, o *options) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	o.root = root
	for _, p := range []*string{&o.workDir, &o.resultsDir, &o.benchmarks, &o.chart} {
		if !filepath.IsAbs(*p) {
			*p = filepath.Join(root, *p)
		}
	}
	if o.mode == "report" {
		return rewriteReport(o)
	}
	if err := prepare(ctx, o); err != nil {
		return err
	}
	switch o.mode {
	case "memory":
		return runMemory(ctx, o)
	case "profile":
		return runProfile(ctx, o)
	}
	return runLoad(ctx, o)
}

// prepare installs the tools, builds the server, pins this process to the load core and checks
// how busy the machine is.
func prepare(ctx context.Context, o *options) error {
	if !o.skipDeps {
		if err := ensureTools(ctx); err != nil {
			return err
		}
	}
	o.commit = "bin/peerdns as found"
	if !o.skipBuild {
		logf("building bin/peerdns")
		o.commit = gitCommit(o.root)
		if err := buildServer(ctx, o.root); err != nil {
			return err
		}
	}
	for _, d := range []string{o.workDir, o.resultsDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := pinSelf(o.loadCPU); err != nil {
		return err
	}
	load := waitQuiet(ctx, o.quietWait)
	loadAvgAtStart = load
	logf("load average %.2f (1 min) on %d cores", load, numCPU())
	if o.maxLoad > 0 && load > o.maxLoad {
		return fmt.Errorf("load average %.2f is above -max-load %.2f: the machine is busy, results would mislead", load, o.maxLoad)
	}
	if load > 1 {
		logf("warning: the machine is busy (load %.2f): use these numbers for smoke testing only", load)
	}
	return nil
}

// waitQuiet waits up to limit for the 1-minute load average to fall below 1, and returns it.
func waitQuiet(ctx context.Context, limit time.Duration) float64 {
	deadline := time.Now().Add(limit)
	load := loadAverage()
	for load >= 1 && time.Now().Before(deadline) {
		logf("load average %.2f: waiting for a quiet machine (until %s)", load, deadline.Format("15:04:05"))
		select {
		case <-ctx.Done():
			return load
		case <-time.After(15 * time.Second):
		}
		load = loadAverage()
	}
	return load
}

// repoRoot is the folder of the peerdns go.mod, found upwards from the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for range 20 {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(data), "module github.com/peerdns/peerdns\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", fmt.Errorf("run from inside the peerdns repository (no go.mod of github.com/peerdns/peerdns above %s)", dir)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
