package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// memResult is peerdns's resident memory holding one map size.
type memResult struct {
	Services    int     `json:"services"`
	Clusters    int     `json:"clusters"`
	StaticBytes int64   `json:"static_file_bytes"`
	ReadyAfter  string  `json:"ready_after"`
	AtReady     memory  `json:"at_ready"`
	Idle        memory  `json:"after_idle"`
	Loaded      memory  `json:"after_queries"`
	QPS         float64 `json:"qps_during_queries"`
	// AfterGC is the resident memory after a forced garbage collection, once the runtime has
	// stopped returning memory to the system (or a minute has passed).
	AfterGC memory `json:"after_gc"`
	// LiveHeap is the Go heap in use after that collection (HeapAlloc): the size of the map
	// and everything else the server keeps.
	LiveHeap int64 `json:"live_heap_bytes"`
	// StartupAlloc is what the server allocated until it was ready: reading the static file and
	// building the snapshot.
	StartupAlloc int64 `json:"startup_alloc_bytes"`
	// RuleMB is CoreDNS's kubernetes plugin sizing rule for the same number of services:
	// services/1000 + 54 MB.
	RuleMB float64 `json:"coredns_rule_mb"`
}

// idleSettle is how long the server sits idle before the second reading, so that the Go
// runtime can return the memory of the file parse to the system.
const idleSettle = 15 * time.Second

func runMemory(ctx context.Context, o *options) error {
	started := time.Now()
	var results []memResult
	for _, n := range o.memServices {
		r, err := memoryOf(ctx, o, n)
		if err != nil {
			return err
		}
		results = append(results, r)
		logf("%7d services: ready after %s, RSS %s MiB at ready, %s MiB idle, %s MiB after queries, %s MiB after GC, peak %s MiB, live heap %s MiB (CoreDNS rule %.0f MB)",
			n, r.ReadyAfter, mib(r.AtReady.RSS), mib(r.Idle.RSS), mib(r.Loaded.RSS), mib(r.AfterGC.RSS), mib(r.AfterGC.HWM), mib(r.LiveHeap), r.RuleMB)
	}
	env := environmentOf(o, started)
	base := filepath.Join(o.resultsDir, "memory-"+time.Now().UTC().Format("20060102-150405"))
	if err := writeJSON(base+".json", map[string]any{"environment": env, "results": results}); err != nil {
		return err
	}
	md := memoryMarkdown(env, results)
	fmt.Println(md)
	logf("results: %s.json", base)
	if o.noWrite {
		return nil
	}
	return updateSection(o.benchmarks, "memory", md)
}

// memoryOf starts peerdns on a static map of n services, reads its memory when ready, after
// idling, and after a few seconds of hit queries, and stops it.
func memoryOf(ctx context.Context, o *options, n int) (memResult, error) {
	r := memResult{Services: n, Clusters: o.clusters, RuleMB: float64(n)/1000 + 54}
	logf("generating %d services over %d clusters", n, o.clusters)
	d, err := generate(filepath.Join(o.workDir, fmt.Sprintf("data-%d", n)), n, o.clusters)
	if err != nil {
		return r, err
	}
	if st, err := os.Stat(d.static); err == nil {
		r.StaticBytes = st.Size()
	}
	start := time.Now()
	pprofPort := o.portBase + 21
	extra := fmt.Sprintf("    pprof 127.0.0.1:%d\n", pprofPort)
	s, err := startServer(ctx, o, serverByName("peerdns"), d, o.portBase+20, extra)
	if err != nil {
		return r, err
	}
	defer s.stop()
	r.ReadyAfter = time.Since(start).Round(10 * time.Millisecond).String()
	if r.AtReady, err = readMemory(s.pid()); err != nil {
		return r, err
	}
	if r.StartupAlloc, err = heapStat(ctx, o, pprofPort, "TotalAlloc"); err != nil {
		return r, err
	}
	select {
	case <-ctx.Done():
		return r, ctx.Err()
	case <-time.After(idleSettle):
	}
	if r.Idle, err = readMemory(s.pid()); err != nil {
		return r, err
	}
	run := dnsperfRun{port: s.port, queries: d.queries["hit"], duration: 5 * time.Second,
		outstanding: o.outstanding, cpu: o.loadCPU, verbose: filepath.Join(o.workDir, "dnsperf.out")}
	p, err := run.run(ctx)
	if err != nil {
		return r, err
	}
	r.QPS = p.QPS
	_ = os.Remove(run.verbose)
	if r.Loaded, err = readMemory(s.pid()); err != nil {
		return r, err
	}
	return r, r.afterGC(ctx, o, s, pprofPort)
}

// afterGC forces a collection through the pprof endpoint (saving the heap profile), waits until
// the resident memory stops falling, and reads the heap statistics.
func (r *memResult) afterGC(ctx context.Context, o *options, s *server, pprofPort int) error {
	base := fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/heap", pprofPort)
	prof := filepath.Join(o.resultsDir, fmt.Sprintf("memory-%d-heap.pb.gz", r.Services))
	if err := fetch(ctx, base+"?gc=1", prof); err != nil {
		return err
	}
	var err error
	for range 12 {
		prev := r.AfterGC.RSS
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Second):
		}
		if r.AfterGC, err = readMemory(s.pid()); err != nil {
			return err
		}
		if prev != 0 && r.AfterGC.RSS >= prev-(1<<20) {
			break
		}
	}
	if r.LiveHeap, err = heapStat(ctx, o, pprofPort, "HeapAlloc"); err != nil {
		return err
	}
	bin := filepath.Join(o.root, "bin", "peerdns")
	_, err = pprofTop(ctx, strings.TrimSuffix(prof, ".pb.gz")+"-alloc-space-top.txt",
		"-sample_index=alloc_space", "-nodecount=25", bin, prof)
	return err
}

// heapStat reads one runtime.MemStats figure from the server's debug=1 heap profile.
func heapStat(ctx context.Context, o *options, pprofPort int, key string) (int64, error) {
	stats := filepath.Join(o.workDir, "heap.txt")
	if err := fetch(ctx, fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/heap?debug=1", pprofPort), stats); err != nil {
		return 0, err
	}
	data, err := os.ReadFile(stats)
	if err != nil {
		return 0, err
	}
	return memStat(string(data), key), nil
}

// memStat reads "# Key = N" from the runtime.MemStats lines of a debug=1 heap profile.
func memStat(text, key string) int64 {
	for _, l := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(l, "# "+key+" = "); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

func clustersOf(results []memResult) int {
	if len(results) == 0 {
		return 0
	}
	return results[0].Clusters
}

func memoryMarkdown(e environment, results []memResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Run of %s at commit %s (%s, load average %.2f before). peerdns in bin/peerdns with one `static` "+
		"file (%d clusters), pinned to one core (GOMAXPROCS=1), with `pprof` for the heap figures. "+
		"Readings from /proc/PID/status: VmRSS when the first answer came, after %s idle, after 5 s "+
		"of hit queries, and after a forced GC once the runtime stopped returning memory (at most a "+
		"minute); peak is VmHWM. Allocated until ready is the runtime's TotalAlloc when the first "+
		"answer came (reading the file and building the map); live Go heap is HeapAlloc after the "+
		"forced GC. CoreDNS's kubernetes plugin sizing rule, services/1000 + 54 MB, "+
		"for comparison.\n\n",
		e.Date, e.Commit, e.CPU, e.LoadAvgBefore, clustersOf(results), idleSettle)
	b.WriteString("| services | peers file MB | ready after | allocated until ready | RSS at ready | RSS idle | RSS after queries | RSS after GC | peak (VmHWM) | live Go heap | CoreDNS rule |\n")
	b.WriteString("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, r := range results {
		fmt.Fprintf(&b, "| %d | %.1f | %s | %s MiB | %s MiB | %s MiB | %s MiB | %s MiB | %s MiB | %s MiB | %.0f MB |\n",
			r.Services, float64(r.StaticBytes)/1e6, r.ReadyAfter, mib(r.StartupAlloc), mib(r.AtReady.RSS), mib(r.Idle.RSS),
			mib(r.Loaded.RSS), mib(r.AfterGC.RSS), mib(r.AfterGC.HWM), mib(r.LiveHeap), r.RuleMB)
	}
	return b.String()
}
