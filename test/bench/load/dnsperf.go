package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// perf is what one dnsperf run measured. Latencies are in milliseconds. dnsperf 2.10 has no
// latency histogram of its own: with -v it prints every response's latency (in microseconds),
// and the percentiles come from those lines.
type perf struct {
	Sent      int64            `json:"sent"`
	Completed int64            `json:"completed"`
	Lost      int64            `json:"lost"`
	QPS       float64          `json:"qps"`
	RunTime   float64          `json:"run_time_s"`
	AvgMs     float64          `json:"avg_ms"`
	P50Ms     float64          `json:"p50_ms"`
	P99Ms     float64          `json:"p99_ms"`
	P999Ms    float64          `json:"p999_ms"`
	MaxMs     float64          `json:"max_ms"`
	Rcodes    map[string]int64 `json:"rcodes"`
	RespBytes int              `json:"response_bytes"`
	// LoadCPU is the CPU time dnsperf itself used.
	LoadCPU float64 `json:"dnsperf_cpu_s"`
}

// dnsperfRun is one run: port, query file, how long, and an optional rate limit.
type dnsperfRun struct {
	port        int
	queries     string
	duration    time.Duration
	qps         int // 0: as fast as the server answers
	outstanding int
	cpu         int
	verbose     string // file for the per-response lines
}

// run starts dnsperf pinned to its core and parses what it reports.
func (r dnsperfRun) run(ctx context.Context) (*perf, error) {
	ctx, cancel := context.WithTimeout(ctx, r.duration+30*time.Second)
	defer cancel()
	args := []string{"-c", strconv.Itoa(r.cpu), "dnsperf",
		"-s", "127.0.0.1", "-p", strconv.Itoa(r.port), "-d", r.queries,
		"-l", strconv.FormatFloat(r.duration.Seconds(), 'f', -1, 64),
		"-q", strconv.Itoa(r.outstanding), "-t", "2", "-v",
	}
	if r.qps > 0 {
		args = append(args, "-Q", strconv.Itoa(r.qps))
	}
	out, err := os.Create(r.verbose)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "taskset", args...)
	cmd.Stdout, cmd.Stderr = out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("dnsperf: %w: %s", err, stderr.String())
	}
	if _, err := out.Seek(0, 0); err != nil {
		return nil, err
	}
	p, err := parseDnsperf(out)
	if err != nil {
		return nil, fmt.Errorf("dnsperf output %s: %w", r.verbose, err)
	}
	p.LoadCPU = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	return p, nil
}

var (
	reSent      = regexp.MustCompile(`Queries sent:\s+(\d+)`)
	reCompleted = regexp.MustCompile(`Queries completed:\s+(\d+)`)
	reLost      = regexp.MustCompile(`Queries lost:\s+(\d+)`)
	reQPS       = regexp.MustCompile(`Queries per second:\s+([\d.]+)`)
	reRunTime   = regexp.MustCompile(`Run time \(s\):\s+([\d.]+)`)
	reAvg       = regexp.MustCompile(`Average Latency \(s\):\s+([\d.]+)`)
	reRcodes    = regexp.MustCompile(`Response codes:\s+(.*)`)
	reRcode     = regexp.MustCompile(`([A-Z]+) (\d+) \(`)
	reSize      = regexp.MustCompile(`Average packet size:\s+request \d+, response (\d+)`)
)

// parseDnsperf reads dnsperf -v output: one "> RCODE NAME TYPE LATENCY" line per response, then
// the statistics block.
func parseDnsperf(f *os.File) (*perf, error) {
	h := newHistogram()
	var stats strings.Builder
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) > 2 && line[0] == '>' && line[1] == ' ' {
			if i := bytes.LastIndexByte(line, ' '); i > 0 {
				if s, err := strconv.ParseFloat(string(line[i+1:]), 64); err == nil {
					h.add(s)
				}
			}
			continue
		}
		stats.Write(line)
		stats.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	text := stats.String()
	p := &perf{Rcodes: map[string]int64{}}
	var err error
	p.Sent, err = intOf(reSent, text, err)
	p.Completed, err = intOf(reCompleted, text, err)
	p.Lost, err = intOf(reLost, text, err)
	p.QPS, err = floatOf(reQPS, text, err)
	p.RunTime, err = floatOf(reRunTime, text, err)
	avg, err := floatOf(reAvg, text, err)
	if err != nil {
		return nil, err
	}
	p.AvgMs = avg * 1000
	if m := reRcodes.FindStringSubmatch(text); m != nil {
		for _, rc := range reRcode.FindAllStringSubmatch(m[1], -1) {
			n, _ := strconv.ParseInt(rc[2], 10, 64)
			p.Rcodes[rc[1]] = n
		}
	}
	if m := reSize.FindStringSubmatch(text); m != nil {
		p.RespBytes, _ = strconv.Atoi(m[1])
	}
	p.P50Ms, p.P99Ms, p.P999Ms, p.MaxMs = h.quantile(0.5), h.quantile(0.99), h.quantile(0.999), h.max()
	return p, nil
}

func intOf(re *regexp.Regexp, text string, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	m := re.FindStringSubmatch(text)
	if m == nil {
		return 0, fmt.Errorf("no %q in the statistics", re.String())
	}
	return strconv.ParseInt(m[1], 10, 64)
}

func floatOf(re *regexp.Regexp, text string, err error) (float64, error) {
	if err != nil {
		return 0, err
	}
	m := re.FindStringSubmatch(text)
	if m == nil {
		return 0, fmt.Errorf("no %q in the statistics", re.String())
	}
	return strconv.ParseFloat(m[1], 64)
}

// histogram counts latencies in microseconds, the resolution dnsperf prints; one bucket per
// microsecond up to one second, and one for everything slower.
type histogram struct {
	buckets []uint32
	n       uint64
	slowest float64
}

const histogramMicros = 1000000

func newHistogram() *histogram { return &histogram{buckets: make([]uint32, histogramMicros+1)} }

func (h *histogram) add(seconds float64) {
	us := int(seconds*1e6 + 0.5)
	if us > histogramMicros {
		us = histogramMicros
	}
	h.buckets[us]++
	h.n++
	h.slowest = max(h.slowest, seconds)
}

// quantile returns the q-quantile in milliseconds: the smallest latency that at least q of the
// responses did not exceed.
func (h *histogram) quantile(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.999999)
	var seen uint64
	for us, c := range h.buckets {
		if seen += uint64(c); seen >= rank {
			return float64(us) / 1000
		}
	}
	return h.slowest * 1000
}

func (h *histogram) max() float64 { return h.slowest * 1000 }
