package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// environment says on what and how the numbers were taken.
type environment struct {
	Date          string  `json:"date"`
	Kernel        string  `json:"kernel"`
	CPU           string  `json:"cpu"`
	Cores         int     `json:"cores"`
	LoadAvgBefore float64 `json:"load_avg_before"`
	LoadAvgAfter  float64 `json:"load_avg_after"`
	OtherCPUMax   float64 `json:"other_cpu_max_percent"`    // the most other processes used during a run
	OtherCPUMed   float64 `json:"other_cpu_median_percent"` // and the median over the runs
	Commit        string  `json:"commit"`
	MaxOther      float64 `json:"max_other_percent"`
	Repeated      int     `json:"runs_repeated"`  // runs whose first attempt was disturbed
	Disturbed     int     `json:"runs_disturbed"` // runs still disturbed after the retries
	Go            string  `json:"go"`
	Dnsperf       string  `json:"dnsperf"`
	Knot          string  `json:"knot"`
	Chain         string  `json:"coredns_chain"`
	ServerCPU     int     `json:"server_cpu"`
	LoadCPU       int     `json:"load_cpu"`
	Services      int     `json:"services"`
	Clusters      int     `json:"clusters"`
	Rounds        int     `json:"rounds"`
	Duration      string  `json:"run_duration"`
	FixedDuration string  `json:"fixed_run_duration"`
	FixedQPS      int     `json:"fixed_qps"`
	Outstanding   int     `json:"outstanding"`
	Took          string  `json:"took"`
}

// summary is the median over rounds of one server on one mix.
type summary struct {
	Mix         string  `json:"mix"`
	Server      string  `json:"server"`
	QPS         float64 `json:"qps"`
	QPSPerCore  float64 `json:"qps_per_core"` // qps ÷ share of its core the server used
	AvgMs       float64 `json:"avg_ms"`
	P99Ms       float64 `json:"p99_ms"`
	Lost        int64   `json:"lost_total"`
	Sent        int64   `json:"sent_total"`
	CPUPercent  float64 `json:"cpu_percent"`
	CPUPerQuery float64 `json:"cpu_us_per_query"`
	RSS         int64   `json:"rss_bytes"`
	HWM         int64   `json:"hwm_bytes"`
	RespBytes   int     `json:"response_bytes"`
	Rcodes      string  `json:"rcodes"`
}

// ratio is peerdns's qps divided by another server's, per round, and the median.
type ratio struct {
	Mix     string    `json:"mix"`
	Other   string    `json:"other"`
	PerCore bool      `json:"per_core"` // qps ÷ CPU share of each server, not qps
	Rounds  []float64 `json:"rounds"`
	Median  float64   `json:"median"`
}

// loadReport is everything the load mode writes.
type loadReport struct {
	Env     environment   `json:"environment"`
	Check   checkResult   `json:"cross_check"`
	Summary []summary     `json:"summary"`
	Ratios  []ratio       `json:"ratios"`
	Fixed   []measurement `json:"fixed"`
	Runs    []measurement `json:"runs"`
}

func (b *bench) report(started time.Time, check checkResult) *loadReport {
	o := b.o
	rep := &loadReport{Check: check, Env: environmentOf(o, started)}
	rep.Env.Services, rep.Env.Clusters, rep.Env.Rounds = o.services, o.clusters, o.rounds
	rep.Env.MaxOther = o.maxOther
	rep.Env.Duration, rep.Env.FixedDuration, rep.Env.FixedQPS = o.duration.String(), o.fixedDuration.String(), o.fixedQPS
	var others []float64
	for _, r := range b.results {
		rep.Env.OtherCPUMax = max(rep.Env.OtherCPUMax, r.OtherCPU)
		if r.Attempts > 1 {
			rep.Env.Repeated++
		}
		if r.Disturbed {
			rep.Env.Disturbed++
		}
		others = append(others, r.OtherCPU)
		if r.Kind == "fixed" {
			rep.Fixed = append(rep.Fixed, r)
		} else {
			rep.Runs = append(rep.Runs, r)
		}
	}
	rep.Env.OtherCPUMed = median(others)
	for _, m := range o.mixes {
		for _, s := range o.servers {
			if runs := selectRuns(rep.Runs, m, s); len(runs) > 0 {
				rep.Summary = append(rep.Summary, summarize(m, s, runs))
			}
		}
		for _, s := range o.servers {
			if s == "peerdns" {
				continue
			}
			if r, ok := ratios(rep.Runs, m, s, o.rounds, false); ok {
				rep.Ratios = append(rep.Ratios, r)
			}
			// Knot answers faster than one dnsperf core can ask: compare per core it used too.
			if s == "knot" {
				if r, ok := ratios(rep.Runs, m, s, o.rounds, true); ok {
					rep.Ratios = append(rep.Ratios, r)
				}
			}
		}
	}
	return rep
}

func environmentOf(o *options, started time.Time) environment {
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return environment{
		Date:          started.UTC().Format("2006-01-02 15:04 UTC"),
		Kernel:        strings.TrimSpace(string(kernel)),
		CPU:           cpuModel(),
		Cores:         numCPU(),
		LoadAvgBefore: loadAvgAtStart,
		LoadAvgAfter:  loadAverage(),
		Commit:        o.commit,
		Go:            runtime.Version(),
		Dnsperf:       commandVersion("dnsperf", "-h"),
		Knot:          commandVersion("knotd", "--version"),
		Chain:         chain,
		ServerCPU:     o.serverCPU,
		LoadCPU:       o.loadCPU,
		Outstanding:   o.outstanding,
		Took:          time.Since(started).Round(time.Second).String(),
	}
}

// gitCommit names the code measured: the commit, and "+changes" when the work tree differs.
func gitCommit(root string) string {
	out, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	commit := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		commit += "+changes"
	}
	return commit
}

// loadAvgAtStart is the load average just before the first server started.
var loadAvgAtStart = loadAverage()

func cpuModel() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func selectRuns(runs []measurement, m, s string) []measurement {
	var out []measurement
	for _, r := range runs {
		if r.Mix == m && r.Server == s {
			out = append(out, r)
		}
	}
	return out
}

func summarize(m, s string, runs []measurement) summary {
	pick := func(f func(measurement) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		return median(v)
	}
	sum := summary{Mix: m, Server: s,
		QPS: pick(func(r measurement) float64 { return r.QPS }),
		QPSPerCore: pick(func(r measurement) float64 {
			if r.CPUPercent <= 0 {
				return 0
			}
			return r.QPS / (r.CPUPercent / 100)
		}),
		AvgMs:       pick(func(r measurement) float64 { return r.AvgMs }),
		P99Ms:       pick(func(r measurement) float64 { return r.P99Ms }),
		CPUPercent:  pick(func(r measurement) float64 { return r.CPUPercent }),
		CPUPerQuery: pick(func(r measurement) float64 { return r.CPUPerQuery }),
	}
	last := runs[len(runs)-1]
	sum.RSS, sum.RespBytes, sum.Rcodes = last.Memory.RSS, last.RespBytes, rcodeShares(last.Rcodes, last.Completed)
	for _, r := range runs {
		sum.Lost += r.Lost
		sum.Sent += r.Sent
		sum.HWM = max(sum.HWM, r.Memory.HWM)
	}
	return sum
}

// rcodeShares formats response codes as "NOERROR 70%, NXDOMAIN 30%", largest first.
func rcodeShares(rc map[string]int64, total int64) string {
	if total == 0 {
		return ""
	}
	keys := make([]string, 0, len(rc))
	for k := range rc {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return int(rc[b] - rc[a]) })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %.0f%%", k, 100*float64(rc[k])/float64(total))
	}
	return strings.Join(parts, ", ")
}

// ratios divides peerdns's queries per second by other's, round by round; perCore divides each
// server's rate by the share of its core it used first (its capacity on one full core).
func ratios(runs []measurement, m, other string, rounds int, perCore bool) (ratio, bool) {
	r := ratio{Mix: m, Other: other, PerCore: perCore}
	rate := func(x measurement) float64 {
		if !perCore {
			return x.QPS
		}
		if x.CPUPercent <= 0 {
			return 0
		}
		return x.QPS / (x.CPUPercent / 100)
	}
	for round := 1; round <= rounds; round++ {
		var ours, theirs float64
		for _, x := range runs {
			if x.Mix == m && x.Round == round {
				switch x.Server {
				case "peerdns":
					ours = rate(x)
				case other:
					theirs = rate(x)
				}
			}
		}
		if ours == 0 || theirs == 0 {
			continue
		}
		r.Rounds = append(r.Rounds, ours/theirs)
	}
	if len(r.Rounds) == 0 {
		return r, false
	}
	r.Median = median(r.Rounds)
	return r, true
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

// write saves the JSON and CSV results, and the tables and chart unless -no-write.
func (rep *loadReport) write(o *options) error {
	stamp := time.Now().UTC().Format("20060102-150405")
	base := filepath.Join(o.resultsDir, "load-"+stamp)
	if err := writeJSON(base+".json", rep); err != nil {
		return err
	}
	if err := writeCSV(base+".csv", append(slices.Clone(rep.Runs), rep.Fixed...)); err != nil {
		return err
	}
	md := rep.markdown(o)
	if err := os.WriteFile(base+".md", []byte(md), 0o644); err != nil {
		return err
	}
	logf("results: %s.{json,csv,md}", base)
	fmt.Println(md)
	if o.noWrite {
		return nil
	}
	if err := drawLoadChart(rep, o.chart); err != nil {
		return err
	}
	logf("chart: %s", o.chart)
	return updateSection(o.benchmarks, "load", md)
}

// rewriteReport renders the tables and the chart of an earlier load run from its JSON.
func rewriteReport(o *options) error {
	data, err := os.ReadFile(o.from)
	if err != nil {
		return err
	}
	var rep loadReport
	if err := json.Unmarshal(data, &rep); err != nil {
		return fmt.Errorf("%s: %w", o.from, err)
	}
	md := rep.markdown(o)
	fmt.Println(md)
	if o.noWrite {
		return nil
	}
	if err := drawLoadChart(&rep, o.chart); err != nil {
		return err
	}
	return updateSection(o.benchmarks, "load", md)
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

func writeCSV(path string, runs []measurement) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"kind", "round", "mix", "server", "qps", "sent", "completed", "lost", "avg_ms", "p50_ms",
		"p99_ms", "p999_ms", "max_ms", "cpu_percent", "cpu_us_per_query", "rss_bytes", "hwm_bytes", "response_bytes", "started_at"})
	ff := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
	for _, r := range runs {
		w.Write([]string{r.Kind, strconv.Itoa(r.Round), r.Mix, r.Server, ff(r.QPS),
			strconv.FormatInt(r.Sent, 10), strconv.FormatInt(r.Completed, 10), strconv.FormatInt(r.Lost, 10),
			ff(r.AvgMs), ff(r.P50Ms), ff(r.P99Ms), ff(r.P999Ms), ff(r.MaxMs), ff(r.CPUPercent), ff(r.CPUPerQuery),
			strconv.FormatInt(r.Memory.RSS, 10), strconv.FormatInt(r.Memory.HWM, 10), strconv.Itoa(r.RespBytes), r.StartedAt})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
