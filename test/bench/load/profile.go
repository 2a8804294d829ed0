package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// profileResult is where peerdns's CPU time goes on one mix, and what it allocates per query.
type profileResult struct {
	Mix            string     `json:"mix"`
	QPS            float64    `json:"qps"`
	Queries        int64      `json:"queries"`
	CPUPerQueryUs  float64    `json:"cpu_us_per_query"`
	ServerCPU      float64    `json:"server_cpu_percent"` // of one core, over the dnsperf run
	OtherCPU       float64    `json:"other_cpu_percent"`  // what other processes took meanwhile
	Parts          []cpuPart  `json:"parts"`
	AllocsPerQuery float64    `json:"allocs_per_query"`
	AllocGroups    []cpuPart  `json:"alloc_groups"` // Percent: share of objects; Us: objects per query
	BytesPerQuery  float64    `json:"bytes_per_query"`
	TopAllocs      []topEntry `json:"top_allocs"`
	Files          []string   `json:"files"`
}

// cpuPart is the share of the profile's samples under one group of functions (cumulative: a
// function and everything it calls).
type cpuPart struct {
	Part    string  `json:"part"`
	Percent float64 `json:"percent"`
	Us      float64 `json:"us_per_query"`
}

type topEntry struct {
	Function string  `json:"function"`
	Percent  float64 `json:"percent"`
}

// parts are the groups of the query path, each the cumulative time of the functions its
// pattern matches (the largest match, so that nested matches do not add up), less that of the
// functions minus matches; flat sums the functions' own time instead (the system calls).
var parts = []struct {
	name, re, minus string
	flat            bool
}{
	{name: "read the query: miekg/dns readUDP (recvmsg, control message)", re: `^github\.com/miekg/dns\.\(\*Server\)\.readUDP$`},
	{name: "  recvmsg system call", re: `^syscall\.recvmsg$`},
	{name: "answer it: miekg/dns serveUDPPacket (all below)", re: `^github\.com/miekg/dns\.\(\*Server\)\.serveUDPPacket$`},
	{name: "  parse the query: Msg.Unpack", re: `^github\.com/miekg/dns\.\(\*Msg\)\.[Uu]npack$`},
	{name: "  CoreDNS dnsserver ServeDNS, without the errors plugin", re: `^github\.com/coredns/coredns/core/dnsserver\.\(\*Server\)\.ServeDNS$`,
		minus: `^github\.com/coredns/coredns/plugin/errors\.\(\*errorHandler\)\.ServeDNS$`},
	{name: "  errors plugin, without peerdns", re: `^github\.com/coredns/coredns/plugin/errors\.\(\*errorHandler\)\.ServeDNS$`,
		minus: `^github\.com/peerdns/peerdns/plugin\.\(\*PeerDNS\)\.ServeDNS$`},
	{name: "  peerdns ServeDNS, without WriteMsg", re: `^github\.com/peerdns/peerdns/plugin\.\(\*PeerDNS\)\.ServeDNS$`,
		minus: `^github\.com/coredns/coredns/request\.\(\*ScrubWriter\)\.WriteMsg$`},
	{name: "    resolver Lookup", re: `^github\.com/peerdns/peerdns/resolver\.\(\*Resolver\)\.Lookup$`},
	{name: "    resolver Answer (the reply's records)", re: `^github\.com/peerdns/peerdns/resolver\.\(\*Resolver\)\.Answer$`},
	{name: "    Msg.SetReply", re: `^github\.com/miekg/dns\.\(\*Msg\)\.SetReply$`},
	{name: "    request counter (prometheus)", re: `^github\.com/peerdns/peerdns/plugin\.\(?\*?requestCounters\)?\.inc$`},
	{name: "  WriteMsg: CoreDNS ScrubWriter + miekg/dns", re: `^github\.com/coredns/coredns/request\.\(\*ScrubWriter\)\.WriteMsg$`},
	{name: "    Msg.Pack (wire encoding)", re: `^github\.com/miekg/dns\.\(\*Msg\)\.PackBuffer$`},
	{name: "    sendmsg system call", re: `^syscall\.sendmsg$`},
	{name: "system calls, all (time inside the kernel)", re: `^(internal/runtime/syscall/linux|syscall)\.(Raw)?Syscall6?$`, flat: true},
	{name: "runtime: allocation (mallocgc)", re: `^runtime\.mallocgc$`},
	{name: "runtime: garbage collection (mark workers)", re: `^runtime\.gcBgMarkWorker$`},
	{name: "runtime: stack growth of the per-query goroutine", re: `^runtime\.newstack$`},
	{name: "runtime: goroutine start, one per query", re: `^runtime\.newproc$`},
	{name: "runtime: scheduler", re: `^runtime\.schedule$`},
}

// allocGroups split the allocations of the run by where on the query path they happen, with
// pprof's -focus and -ignore.
var allocGroups = []struct{ name, focus, ignore string }{
	{"peerdns ServeDNS, without WriteMsg", `peerdns/plugin\.\(\*PeerDNS\)\.ServeDNS`, `WriteMsg`},
	{"WriteMsg (ScrubWriter, control message, pack)", `request\.\(\*ScrubWriter\)\.WriteMsg`, ""},
	{"reading and unpacking the query, CoreDNS and the rest", "", `peerdns/plugin\.\(\*PeerDNS\)\.ServeDNS`},
}

func runProfile(ctx context.Context, o *options) error {
	started := time.Now()
	d, err := generate(filepath.Join(o.workDir, "data"), o.services, o.clusters)
	if err != nil {
		return err
	}
	pprofPort := o.portBase + 80
	extra := fmt.Sprintf("    pprof 127.0.0.1:%d\n", pprofPort)
	s, err := startServer(ctx, o, serverByName("peerdns"), d, o.portBase+1, extra)
	if err != nil {
		return err
	}
	defer s.stop()
	var results []profileResult
	for _, m := range o.mixes {
		r, err := profileMix(ctx, o, s, d, m, pprofPort)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	env := environmentOf(o, started)
	base := filepath.Join(o.resultsDir, "profile-"+time.Now().UTC().Format("20060102-150405"))
	if err := writeJSON(base+".json", map[string]any{"environment": env, "results": results}); err != nil {
		return err
	}
	md := profileMarkdown(env, o, results)
	fmt.Println(md)
	logf("results: %s.json; profiles and pprof -top texts in %s", base, o.resultsDir)
	if o.noWrite {
		return nil
	}
	return updateSection(o.benchmarks, "profile", md)
}

// profileMix runs dnsperf with mix m against s while taking a CPU profile and two allocation
// profiles (before and after), and reads them with go tool pprof.
func profileMix(ctx context.Context, o *options, s *server, d *dataset, m string, pprofPort int) (profileResult, error) {
	r := profileResult{Mix: m}
	prefix := filepath.Join(o.resultsDir, "profile-"+m)
	base := fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/", pprofPort)
	if err := fetch(ctx, base+"allocs?gc=1", prefix+"-allocs-before.pb.gz"); err != nil {
		return r, err
	}
	secs := int(o.profileTime.Seconds())
	run := dnsperfRun{port: s.port, queries: d.queries[m], duration: o.profileTime + 2*time.Second,
		outstanding: o.outstanding, cpu: o.loadCPU, verbose: filepath.Join(o.workDir, "dnsperf.out")}
	type done struct {
		p   *perf
		err error
	}
	before, err := usageOf([]*server{s}, s)
	if err != nil {
		return r, err
	}
	start := time.Now()
	ch := make(chan done, 1)
	go func() { p, err := run.run(ctx); ch <- done{p, err} }()
	time.Sleep(time.Second)
	cpuErr := fetch(ctx, base+"profile?seconds="+strconv.Itoa(secs), prefix+"-cpu.pb.gz")
	res := <-ch
	if cpuErr != nil {
		return r, cpuErr
	}
	if res.err != nil {
		return r, res.err
	}
	after, err := usageOf([]*server{s}, s)
	if err != nil {
		return r, err
	}
	wall := time.Since(start).Seconds()
	r.ServerCPU = 100 * (after.server - before.server).Seconds() / wall
	r.OtherCPU = max(0, 100*((after.others-before.others).Seconds()-res.p.LoadCPU)/wall)
	logf("profiled %s: %.0f qps, server busy %.0f%%, other processes %.0f%% of a core", m, res.p.QPS, r.ServerCPU, r.OtherCPU)
	_ = os.Remove(run.verbose)
	if err := fetch(ctx, base+"allocs?gc=1", prefix+"-allocs-after.pb.gz"); err != nil {
		return r, err
	}
	r.QPS, r.Queries = res.p.QPS, res.p.Completed
	r.Files = []string{prefix + "-cpu.pb.gz", prefix + "-allocs-before.pb.gz", prefix + "-allocs-after.pb.gz"}
	bin := filepath.Join(o.root, "bin", "peerdns")
	if err := r.readCPU(ctx, bin, prefix, float64(secs)); err != nil {
		return r, err
	}
	return r, r.readAllocs(ctx, bin, prefix)
}

// fetch saves an HTTP GET from the server's pprof endpoint to path.
func fetch(ctx context.Context, url, path string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
