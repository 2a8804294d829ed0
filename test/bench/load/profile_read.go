package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// pprofTop runs go tool pprof -top with args and saves its text to path.
func pprofTop(ctx context.Context, path string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", append([]string{"tool", "pprof", "-top"}, args...)...).Output()
	if err != nil {
		return "", fmt.Errorf("go tool pprof %s: %w", strings.Join(args, " "), err)
	}
	return string(out), os.WriteFile(path, out, 0o644)
}

// topRow is one row of pprof -top: flat and cumulative share of all samples, and the function.
type topRow struct {
	flat, cum float64
	fn        string
}

var (
	reTopRow = regexp.MustCompile(`^\s*(-?[\d.]+)\S*\s+(-?[\d.]+)%\s+(-?[\d.]+)%\s+(-?[\d.]+)\S*\s+(-?[\d.]+)%\s+(.+)$`)
	reTotal  = regexp.MustCompile(`of (-?[\d.]+)(\S*) total`)
)

// parseTop reads the rows of pprof -top output, and the total of the samples.
func parseTop(text string) (rows []topRow, total float64) {
	for _, l := range strings.Split(text, "\n") {
		if m := reTotal.FindStringSubmatch(l); m != nil && total == 0 {
			total, _ = strconv.ParseFloat(m[1], 64)
		}
		m := reTopRow.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		flat, _ := strconv.ParseFloat(m[2], 64)
		cum, _ := strconv.ParseFloat(m[5], 64)
		rows = append(rows, topRow{flat: flat, cum: cum, fn: strings.TrimSpace(m[6])})
	}
	return rows, total
}

// readCPU splits the CPU profile into the parts of the query path.
func (r *profileResult) readCPU(ctx context.Context, bin, prefix string, secs float64) error {
	text, err := pprofTop(ctx, prefix+"-cpu-top.txt", "-cum", "-nodecount=100000", bin, prefix+"-cpu.pb.gz")
	if err != nil {
		return err
	}
	if _, err := pprofTop(ctx, prefix+"-cpu-flat.txt", "-nodecount=60", bin, prefix+"-cpu.pb.gz"); err != nil {
		return err
	}
	rows, _ := parseTop(text)
	// Samples cover secs seconds of one core; the queries answered in those seconds are about
	// QPS × secs.
	cpuSecs := 0.0
	if m := regexp.MustCompile(`Total samples = ([\d.]+)(ms|s)`).FindStringSubmatch(text); m != nil {
		cpuSecs, _ = strconv.ParseFloat(m[1], 64)
		if m[2] == "ms" {
			cpuSecs /= 1000
		}
	}
	queries := r.QPS * secs
	if queries > 0 {
		r.CPUPerQueryUs = 1e6 * cpuSecs / queries
	}
	for _, p := range parts {
		pct := sampleShare(rows, p.re, p.flat)
		if p.minus != "" {
			pct -= sampleShare(rows, p.minus, false)
		}
		r.Parts = append(r.Parts, cpuPart{Part: p.name, Percent: pct, Us: pct / 100 * r.CPUPerQueryUs})
	}
	return nil
}

// sampleShare is the largest cumulative share of the functions matching pattern, or the sum of their
// flat shares. pprof marks inlined functions with " (inline)"; that mark is not part of the name.
func sampleShare(rows []topRow, pattern string, flat bool) float64 {
	re := regexp.MustCompile(pattern)
	pct := 0.0
	for _, row := range rows {
		if !re.MatchString(strings.TrimSuffix(row.fn, " (inline)")) {
			continue
		}
		if flat {
			pct += row.flat
		} else {
			pct = max(pct, row.cum)
		}
	}
	return pct
}

// readAllocs takes the allocation profile's difference over the run, divided by the queries.
func (r *profileResult) readAllocs(ctx context.Context, bin, prefix string) error {
	before, after := prefix+"-allocs-before.pb.gz", prefix+"-allocs-after.pb.gz"
	objs, err := pprofTop(ctx, prefix+"-allocs-top.txt", "-sample_index=alloc_objects", "-nodecount=25",
		"-base", before, bin, after)
	if err != nil {
		return err
	}
	space, err := pprofTop(ctx, prefix+"-alloc-space-top.txt", "-sample_index=alloc_space", "-unit=B", "-nodecount=25",
		"-base", before, bin, after)
	if err != nil {
		return err
	}
	if r.Queries == 0 {
		return nil
	}
	if m := regexp.MustCompile(`of (\d+) total`).FindStringSubmatch(objs); m != nil {
		n, _ := strconv.ParseFloat(m[1], 64)
		r.AllocsPerQuery = n / float64(r.Queries)
	}
	if m := regexp.MustCompile(`of (\d+)B total`).FindStringSubmatch(space); m != nil {
		n, _ := strconv.ParseFloat(m[1], 64)
		r.BytesPerQuery = n / float64(r.Queries)
	}
	for _, g := range allocGroups {
		args := []string{"-sample_index=alloc_objects", "-nodecount=100000", "-nodefraction=0"}
		if g.focus != "" {
			args = append(args, "-focus="+g.focus)
		}
		if g.ignore != "" {
			args = append(args, "-ignore="+g.ignore)
		}
		text, err := pprofTop(ctx, filepath.Join(os.TempDir(), "peerdns-bench-allocs.txt"), append(args, "-base", before, bin, after)...)
		if err != nil {
			return err
		}
		part := cpuPart{Part: g.name}
		if m := regexp.MustCompile(`accounting for (\d+), ([\d.]+)% of`).FindStringSubmatch(text); m != nil {
			n, _ := strconv.ParseFloat(m[1], 64)
			part.Percent, _ = strconv.ParseFloat(m[2], 64)
			part.Us = n / float64(r.Queries)
		}
		r.AllocGroups = append(r.AllocGroups, part)
	}
	rows, _ := parseTop(objs)
	for i, row := range rows {
		if i == 12 {
			break
		}
		r.TopAllocs = append(r.TopAllocs, topEntry{Function: row.fn, Percent: row.flat})
	}
	return nil
}

func profileMarkdown(e environment, o *options, results []profileResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Run of %s at commit %s (load average %.2f before). peerdns (chain `%s` + peerdns, plus `pprof`, "+
		"which adds no handler) pinned to core %d with GOMAXPROCS=1, dnsperf on core %d; a %s CPU profile "+
		"per mix under saturating load, and the allocation profile's difference over the same run. "+
		"Shares are of all CPU samples of the process (cumulative: a function and what it calls); "+
		"µs/query = share × CPU per query.\n\n",
		e.Date, e.Commit, e.LoadAvgBefore, chain, o.serverCPU, o.loadCPU, o.profileTime)
	b.WriteString("| part of the query path |")
	for _, r := range results {
		fmt.Fprintf(&b, " %s |", mixTitle(r.Mix))
	}
	b.WriteString("\n|---|" + strings.Repeat("--:|", len(results)) + "\n")
	b.WriteString("| qps while profiled |")
	for _, r := range results {
		fmt.Fprintf(&b, " %.0f |", r.QPS)
	}
	b.WriteString("\n| server busy (other processes) |")
	for _, r := range results {
		fmt.Fprintf(&b, " %.0f%% (%.0f%%) |", r.ServerCPU, r.OtherCPU)
	}
	b.WriteString("\n| server CPU per query |")
	for _, r := range results {
		fmt.Fprintf(&b, " %.1f µs |", r.CPUPerQueryUs)
	}
	b.WriteString("\n")
	for i, p := range parts {
		fmt.Fprintf(&b, "| %s |", indent(p.name))
		for _, r := range results {
			fmt.Fprintf(&b, " %.1f%% (%.2f µs) |", r.Parts[i].Percent, r.Parts[i].Us)
		}
		b.WriteString("\n")
	}
	b.WriteString("| heap allocations per query (whole process) |")
	for _, r := range results {
		fmt.Fprintf(&b, " %.1f (%.0f B) |", r.AllocsPerQuery, r.BytesPerQuery)
	}
	b.WriteString("\n")
	for i, g := range allocGroups {
		fmt.Fprintf(&b, "| &nbsp;&nbsp;↳ %s |", g.name)
		for _, r := range results {
			if i < len(r.AllocGroups) {
				fmt.Fprintf(&b, " %.1f (%.0f%%) |", r.AllocGroups[i].Us, r.AllocGroups[i].Percent)
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	for _, r := range results {
		fmt.Fprintf(&b, "Allocations, %s, by allocating function (share of objects): ", mixTitle(r.Mix))
		var s []string
		for _, t := range r.TopAllocs {
			if t.Percent >= 1 {
				s = append(s, fmt.Sprintf("`%s` %.0f%%", shortFn(t.Function), t.Percent))
			}
		}
		b.WriteString(strings.Join(s, ", ") + ".\n\n")
	}
	return b.String()
}

// indent turns the leading spaces of a part's name into visible indentation in Markdown.
func indent(name string) string {
	trimmed := strings.TrimLeft(name, " ")
	depth := (len(name) - len(trimmed)) / 2
	if depth == 0 {
		return name
	}
	return strings.Repeat("&nbsp;&nbsp;&nbsp;", depth) + "↳ " + trimmed
}

// shortFn drops the module path of a function name.
func shortFn(fn string) string {
	if i := strings.LastIndex(fn, "/"); i >= 0 {
		return fn[i+1:]
	}
	return fn
}
