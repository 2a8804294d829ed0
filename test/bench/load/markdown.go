package main

import (
	"fmt"
	"os"
	"strings"
)

func titleOf(server string) string {
	if k := serverByName(server); k != nil {
		return k.title
	}
	return server
}

func mixTitle(name string) string {
	if m := mixByName(name); m != nil {
		return m.title
	}
	return name
}

// markdown renders the load report as the tables of BENCHMARKS.md.
func (rep *loadReport) markdown(o *options) string {
	var b strings.Builder
	e := rep.Env
	fmt.Fprintf(&b, "Run of %s at commit %s: %s, Linux %s, %d cores (%s); load average %.2f before; "+
		"other processes used %.0f%% of a core during the median run, %.0f%% at most "+
		"(%d runs repeated for taking more than %.0f%%, %d still above it). "+
		"%d services over %d clusters; %d interleaved rounds of %s per server and mix, dnsperf -q %d. "+
		"Each server pinned to core %d (GOMAXPROCS=1 for the Go servers, one UDP worker for Knot), "+
		"dnsperf and the harness to core %d. CoreDNS chain: `%s` + the data plugin. %s; %s; %s.\n\n",
		e.Date, e.Commit, e.CPU, e.Kernel, e.Cores, e.Go, e.LoadAvgBefore, e.OtherCPUMed, e.OtherCPUMax, e.Repeated, e.MaxOther, e.Disturbed,
		e.Services, e.Clusters, e.Rounds, e.Duration, e.Outstanding, e.ServerCPU, e.LoadCPU, e.Chain,
		e.Dnsperf, e.Knot, "took "+e.Took)
	rep.throughputTable(&b)
	rep.ratioTable(&b)
	rep.fixedTable(&b)
	rep.checkTable(&b)
	return b.String()
}

func (rep *loadReport) throughputTable(b *strings.Builder) {
	fmt.Fprintf(b, "#### Throughput (saturating; medians over %d rounds)\n\n", rep.Env.Rounds)
	b.WriteString("| mix | server | qps | avg ms | p99 ms | lost | server CPU | qps per core | CPU µs/query | RSS MiB (peak) | response bytes | rcodes |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n")
	for _, m := range mixesIn(rep.Summary) {
		for _, s := range serverNames() {
			sum, ok := findSummary(rep.Summary, m, s)
			if !ok {
				if m == "srv" && serverByName(s).noSRV && hasServer(rep.Summary, s) {
					fmt.Fprintf(b, "| %s | %s | n/a | | | | | | | | | cannot hold SRV records |\n", mixTitle(m), titleOf(s))
				}
				continue
			}
			fmt.Fprintf(b, "| %s | %s | %.0f | %.3f | %.3f | %d of %d | %.0f%% | %.0f | %.1f | %s (%s) | %d | %s |\n",
				mixTitle(m), titleOf(s), sum.QPS, sum.AvgMs, sum.P99Ms, sum.Lost, sum.Sent, sum.CPUPercent,
				sum.QPSPerCore, sum.CPUPerQuery, mib(sum.RSS), mib(sum.HWM), sum.RespBytes, sum.Rcodes)
		}
	}
	b.WriteString("\n")
}

func (rep *loadReport) ratioTable(b *strings.Builder) {
	if len(rep.Ratios) == 0 {
		return
	}
	b.WriteString("#### peerdns ÷ each other server, queries per second, round by round\n\n")
	b.WriteString("| mix | peerdns ÷ |")
	for r := 1; r <= rep.Env.Rounds; r++ {
		fmt.Fprintf(b, " round %d |", r)
	}
	b.WriteString(" **median** |\n|---|---|" + strings.Repeat("--:|", rep.Env.Rounds) + "--:|\n")
	for _, r := range rep.Ratios {
		other := titleOf(r.Other)
		if r.PerCore {
			other += ", per core used"
		}
		fmt.Fprintf(b, "| %s | %s |", mixTitle(r.Mix), other)
		for _, v := range r.Rounds {
			fmt.Fprintf(b, " %.2f |", v)
		}
		for range rep.Env.Rounds - len(r.Rounds) {
			b.WriteString(" |")
		}
		fmt.Fprintf(b, " **%.2f** |\n", r.Median)
	}
	b.WriteString("\n")
}

func (rep *loadReport) fixedTable(b *strings.Builder) {
	if len(rep.Fixed) == 0 {
		return
	}
	fmt.Fprintf(b, "#### Latency at a fixed %d queries per second (unsaturated; %s per server and mix)\n\n",
		rep.Env.FixedQPS, rep.Env.FixedDuration)
	b.WriteString("| mix | server | qps | avg ms | p50 ms | p99 ms | p99.9 ms | max ms | lost | server CPU |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, r := range rep.Fixed {
		fmt.Fprintf(b, "| %s | %s | %.0f | %.3f | %.3f | %.3f | %.3f | %.3f | %d | %.0f%% |\n",
			mixTitle(r.Mix), titleOf(r.Server), r.QPS, r.AvgMs, r.P50Ms, r.P99Ms, r.P999Ms, r.MaxMs, r.Lost, r.CPUPercent)
	}
	b.WriteString("\n")
}

func (rep *loadReport) checkTable(b *strings.Builder) {
	if len(rep.Check.Kinds) == 0 {
		return
	}
	b.WriteString("#### What each server answers (one question of each kind, asked before the runs)\n\n| question |")
	var servers []string
	for _, s := range serverNames() {
		if _, ok := rep.Check.Answers[s]; ok {
			servers = append(servers, s)
			fmt.Fprintf(b, " %s |", titleOf(s))
		}
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(servers)) + "\n")
	for i, k := range rep.Check.Kinds {
		fmt.Fprintf(b, "| %s |", k)
		for _, s := range servers {
			fmt.Fprintf(b, " %s |", rep.Check.Answers[s][i])
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	if len(rep.Check.Warnings) > 0 {
		fmt.Fprintf(b, "Differences found by the cross-check (%d):\n\n", len(rep.Check.Warnings))
		for i, w := range rep.Check.Warnings {
			if i == 10 {
				fmt.Fprintf(b, "- … and %d more (see the JSON results)\n", len(rep.Check.Warnings)-10)
				break
			}
			fmt.Fprintf(b, "- `%s`\n", w)
		}
		b.WriteString("\n")
	}
}

func mixesIn(sums []summary) []string {
	var out []string
	for _, s := range sums {
		if len(out) == 0 || out[len(out)-1] != s.Mix {
			out = append(out, s.Mix)
		}
	}
	return out
}

func findSummary(sums []summary, m, s string) (summary, bool) {
	for _, x := range sums {
		if x.Mix == m && x.Server == s {
			return x, true
		}
	}
	return summary{}, false
}

func hasServer(sums []summary, s string) bool {
	for _, x := range sums {
		if x.Server == s {
			return true
		}
	}
	return false
}

// updateSection replaces the text between "<!-- key:begin -->" and "<!-- key:end -->" in the
// Markdown file at path. Missing markers are added at the end of the "## Load test" section,
// and a missing section or file is created; text outside the markers is never touched.
func updateSection(path, key, body string) error {
	begin, end := "<!-- "+key+":begin -->", "<!-- "+key+":end -->"
	block := begin + "\n" + strings.TrimRight(body, "\n") + "\n" + end
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	text := string(data)
	if i, j := strings.Index(text, begin), strings.Index(text, end); i >= 0 && j > i {
		text = text[:i] + block + text[j+len(end):]
		return os.WriteFile(path, []byte(text), 0o644)
	}
	const heading = "## Load test"
	if text == "" {
		text = "# Benchmarks\n"
	}
	i := strings.Index(text, "\n"+heading+"\n")
	if i < 0 {
		text = strings.TrimRight(text, "\n") + "\n\n" + heading + "\n\n" + block + "\n"
		return os.WriteFile(path, []byte(text), 0o644)
	}
	// The section ends at the next second-level heading.
	rest := text[i+1+len(heading):]
	k := strings.Index(rest, "\n## ")
	if k < 0 {
		k = len(rest)
	}
	at := i + 1 + len(heading) + k
	text = strings.TrimRight(text[:at], "\n") + "\n\n" + block + "\n" + text[at:]
	return os.WriteFile(path, []byte(text), 0o644)
}
