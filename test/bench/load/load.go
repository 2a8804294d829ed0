package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// measurement is one dnsperf run against one server, with the server's CPU and memory.
type measurement struct {
	Kind   string `json:"kind"` // "throughput" (saturating) or "fixed" (rate-limited)
	Round  int    `json:"round"`
	Mix    string `json:"mix"`
	Server string `json:"server"`
	perf
	CPUSeconds  float64 `json:"cpu_s"`
	CPUPercent  float64 `json:"cpu_percent"`      // of one core, over dnsperf's run time
	CPUPerQuery float64 `json:"cpu_us_per_query"` // server CPU per completed query
	// OtherCPU is the CPU that processes other than the server, dnsperf and this harness used
	// during the run, in percent of one core: what disturbed the measurement.
	OtherCPU     float64 `json:"other_cpu_percent"`
	Attempts     int     `json:"attempts"`  // 1, or more when earlier attempts were disturbed
	Disturbed    bool    `json:"disturbed"` // still above -max-other on the last attempt
	Memory       memory  `json:"memory"`
	StartedAt    string  `json:"started_at"`
	LoadAvgAfter float64 `json:"load_avg_after"`
}

// bench is the running comparison: the data, the servers and what was measured.
type bench struct {
	o       *options
	data    *dataset
	servers []*server
	results []measurement
}

func runLoad(ctx context.Context, o *options) error {
	started := time.Now()
	b := &bench{o: o}
	logf("generating %d services over %d clusters", o.services, o.clusters)
	d, err := generate(filepath.Join(o.workDir, "data"), o.services, o.clusters)
	if err != nil {
		return err
	}
	b.data = d
	defer func() { stopAll(b.servers) }()
	for i, name := range o.servers {
		kind := serverByName(name)
		s, err := startServer(ctx, o, kind, d, o.portBase+1+i, "")
		if err != nil {
			return err
		}
		logf("%s ready on 127.0.0.1:%d (pid %d, pinned to core %d)", kind.title, s.port, s.pid(), o.serverCPU)
		b.servers = append(b.servers, s)
	}
	check := crossCheck(b.servers, o.services)
	for _, w := range check.Warnings {
		logf("cross-check: %s", w)
	}
	if err := b.warmUp(ctx); err != nil {
		return err
	}
	for round := 1; round <= o.rounds; round++ {
		for _, m := range o.mixes {
			for _, s := range b.servers {
				if err := b.measure(ctx, "throughput", round, m, s, o.duration, 0); err != nil {
					return err
				}
			}
		}
	}
	if o.fixedDuration > 0 {
		for _, m := range o.mixes {
			for _, s := range b.servers {
				if err := b.measure(ctx, "fixed", 1, m, s, o.fixedDuration, o.fixedQPS); err != nil {
					return err
				}
			}
		}
	}
	rep := b.report(started, check)
	return rep.write(o)
}

// warmUp runs each server for two seconds on the hit mix, unrecorded, so that the first
// measured run does not pay for cold caches and a growing heap.
func (b *bench) warmUp(ctx context.Context) error {
	for _, s := range b.servers {
		r := dnsperfRun{port: s.port, queries: b.data.queries["hit"], duration: 2 * time.Second,
			outstanding: b.o.outstanding, cpu: b.o.loadCPU, verbose: filepath.Join(b.o.workDir, "dnsperf.out")}
		if _, err := r.run(ctx); err != nil {
			return fmt.Errorf("warm-up of %s: %w", s.kind.title, err)
		}
	}
	return nil
}

// measure runs dnsperf against s with mix m and records the result. A server that cannot
// answer the mix (hosts and SRV) is skipped. A run during which other processes took more than
// -max-other of a core is repeated, after waiting for the machine to calm down, at most
// -retries times; the last attempt is kept and marked if it was still disturbed.
func (b *bench) measure(ctx context.Context, kind string, round int, m string, s *server, d time.Duration, qps int) error {
	if m == "srv" && s.kind.noSRV {
		return nil
	}
	for attempt := 1; ; attempt++ {
		if err := s.alive(); err != nil {
			return err
		}
		time.Sleep(500 * time.Millisecond) // let the previous run's stragglers drain
		res, err := b.once(ctx, m, s, d, qps)
		if err != nil {
			return err
		}
		res.Kind, res.Round, res.Attempts = kind, round, attempt
		res.Disturbed = res.OtherCPU > b.o.maxOther
		logf("%-10s round %d %-8s %-13s %8.0f qps  avg %.3f ms  p99 %.3f ms  lost %d  cpu %3.0f%%  rss %s MiB  others %.0f%%",
			kind, round, m, s.kind.title, res.QPS, res.AvgMs, res.P99Ms, res.Lost, res.CPUPercent, mib(res.Memory.RSS), res.OtherCPU)
		if !res.Disturbed || attempt > b.o.retries {
			b.results = append(b.results, res)
			return nil
		}
		logf("other processes took %.0f%% of a core during that run: waiting for quiet, then again", res.OtherCPU)
		if err := b.waitIdle(ctx); err != nil {
			return err
		}
	}
}

// once runs dnsperf against s and reads the server's CPU and memory around it.
func (b *bench) once(ctx context.Context, m string, s *server, d time.Duration, qps int) (measurement, error) {
	r := dnsperfRun{port: s.port, queries: b.data.queries[m], duration: d, qps: qps,
		outstanding: b.o.outstanding, cpu: b.o.loadCPU, verbose: filepath.Join(b.o.workDir, "dnsperf.out")}
	start := time.Now()
	before, err := b.usage(s)
	if err != nil {
		return measurement{}, err
	}
	p, err := r.run(ctx)
	if err != nil {
		return measurement{}, fmt.Errorf("%s, %s: %w", s.kind.title, m, err)
	}
	after, err := b.usage(s)
	if err != nil {
		return measurement{}, err
	}
	wall := time.Since(start).Seconds()
	mem, err := readMemory(s.pid())
	if err != nil {
		return measurement{}, err
	}
	_ = os.Remove(r.verbose)
	res := measurement{Mix: m, Server: s.kind.name, perf: *p,
		CPUSeconds: (after.server - before.server).Seconds(), Memory: mem, StartedAt: start.Format(time.RFC3339),
		LoadAvgAfter: loadAverage(),
		OtherCPU:     max(0, 100*((after.others-before.others).Seconds()-p.LoadCPU)/wall)}
	if p.RunTime > 0 {
		res.CPUPercent = 100 * res.CPUSeconds / p.RunTime
	}
	if p.Completed > 0 {
		res.CPUPerQuery = 1e6 * res.CPUSeconds / float64(p.Completed)
	}
	return res, nil
}

// cpuUsage is a reading of the CPU time used so far: by the server under test, and by every
// process that is neither one of the servers nor this harness.
type cpuUsage struct{ server, others time.Duration }

func (b *bench) usage(s *server) (cpuUsage, error) { return usageOf(b.servers, s) }

// usageOf reads the CPU time of s and of every process other than servers and this harness.
func usageOf(servers []*server, s *server) (cpuUsage, error) {
	var u cpuUsage
	busy, err := systemBusy()
	if err != nil {
		return u, err
	}
	self, err := cpuTime(os.Getpid())
	if err != nil {
		return u, err
	}
	u.others = busy - self
	for _, x := range servers {
		t, err := cpuTime(x.pid())
		if err != nil {
			return u, err
		}
		u.others -= t
		if x == s {
			u.server = t
		}
	}
	return u, nil
}

// waitIdle waits until other processes use less than half of -max-other of a core over five
// seconds, for at most -quiet-wait (at least a minute).
func (b *bench) waitIdle(ctx context.Context) error {
	deadline := time.Now().Add(max(b.o.quietWait, time.Minute))
	for time.Now().Before(deadline) {
		u0, err := b.usage(b.servers[0])
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Second):
		}
		u1, err := b.usage(b.servers[0])
		if err != nil {
			return err
		}
		if others := 100 * (u1.others - u0.others).Seconds() / 5; others < b.o.maxOther/2 {
			return nil
		}
	}
	logf("the machine stayed busy until %s: going on", deadline.Format("15:04:05"))
	return nil
}
