package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Output of dnsperf 2.10 with -v, shortened.
const dnsperfOutput = `DNS Performance Testing Tool
Version 2.10.0

[Status] Command line: dnsperf -s 127.0.0.1 -p 15353 -d q.txt -l 2 -v
[Status] Sending queries (to 127.0.0.1:15353)
> NOERROR svc-1.ns-1.global. A 0.000100
> NOERROR svc-2.ns-2.global. A 0.000200
> NXDOMAIN svc-3.ns-3.global. A 0.000300
> NOERROR svc-4.ns-4.global. AAAA 0.001000
> T svc-5.ns-5.global. A
[Status] Testing complete (time limit)

Statistics:

  Queries sent:         5
  Queries completed:    4 (80.00%)
  Queries lost:         1 (20.00%)

  Response codes:       NOERROR 3 (75.00%), NXDOMAIN 1 (25.00%)
  Average packet size:  request 39, response 93
  Run time (s):         2.002983
  Queries per second:   1.997021

  Average Latency (s):  0.000400 (min 0.000100, max 0.001000)
  Latency StdDev (s):   0.000300
`

func TestParseDnsperf(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out")
	if err := os.WriteFile(path, []byte(dnsperfOutput), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := parseDnsperf(f)
	if err != nil {
		t.Fatal(err)
	}
	if p.Sent != 5 || p.Completed != 4 || p.Lost != 1 || p.RespBytes != 93 {
		t.Errorf("sent %d completed %d lost %d response %d, want 5 4 1 93", p.Sent, p.Completed, p.Lost, p.RespBytes)
	}
	if p.AvgMs != 0.4 || p.P50Ms != 0.2 || p.P99Ms != 1 || p.MaxMs != 1 {
		t.Errorf("avg %v p50 %v p99 %v max %v ms, want 0.4 0.2 1 1", p.AvgMs, p.P50Ms, p.P99Ms, p.MaxMs)
	}
	if p.Rcodes["NOERROR"] != 3 || p.Rcodes["NXDOMAIN"] != 1 {
		t.Errorf("rcodes %v", p.Rcodes)
	}
}

func TestQuantile(t *testing.T) {
	h := newHistogram()
	for i := 1; i <= 1000; i++ {
		h.add(float64(i) / 1e6) // 1 µs … 1 ms
	}
	for q, want := range map[float64]float64{0.5: 0.5, 0.99: 0.99, 0.999: 0.999, 1: 1} {
		if got := h.quantile(q); got != want {
			t.Errorf("quantile(%v) = %v ms, want %v", q, got, want)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}, {nil, 0}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

// updateSection replaces only what is between its markers, and adds the markers to the Load
// test section when they are missing.
func TestUpdateSection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	doc := "# Benchmarks\n\n## Load test\n\nProse.\n\n## Go benchmarks\n\nOther.\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"first", "second"} {
		if err := updateSection(path, "load", body+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := os.ReadFile(path)
	want := "# Benchmarks\n\n## Load test\n\nProse.\n\n<!-- load:begin -->\nsecond\n<!-- load:end -->\n\n## Go benchmarks\n\nOther.\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// Every mix's shares add up to 100, and the query files hold the kinds in those shares.
func TestMixes(t *testing.T) {
	dir := t.TempDir()
	d, err := generate(dir, 1000, 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mixes {
		total := 0
		for _, s := range m.kinds {
			total += s.percent
		}
		if total != 100 {
			t.Errorf("mix %s: shares add up to %d", m.name, total)
		}
		data, err := os.ReadFile(d.queries[m.name])
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) != queriesPerFile {
			t.Errorf("mix %s: %d queries, want %d", m.name, len(lines), queriesPerFile)
		}
		junk := 0
		for _, l := range lines {
			if strings.Contains(l, ".svc.cluster.local.") || !strings.HasSuffix(strings.Fields(l)[0], ".global.") {
				junk++
			}
		}
		if m.name == "nxdomain" && (junk < queriesPerFile/10 || junk > queriesPerFile/5) {
			t.Errorf("mix nxdomain: %d search-path queries of %d, want about 15%%", junk, queriesPerFile)
		}
	}
}

func TestDrawChart(t *testing.T) {
	rep := &loadReport{
		Env: environment{Services: 10000, Clusters: 5, Rounds: 2, FixedQPS: 10000, Chain: chain},
		Summary: []summary{
			{Mix: "hit", Server: "peerdns", QPS: 50000}, {Mix: "hit", Server: "knot", QPS: 100000},
			{Mix: "srv", Server: "peerdns", QPS: 30000},
		},
		Fixed: []measurement{{Mix: "hit", Server: "peerdns", perf: perf{P99Ms: 0.4}}},
	}
	path := filepath.Join(t.TempDir(), "chart.png")
	if err := drawLoadChart(rep, path); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Size() < 1000 {
		t.Fatalf("chart: %v", err)
	}
}
