package main

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"strconv"
)

// Colours of the servers, in serverKinds order, and of the chart's furniture.
var (
	serverColors = []color.RGBA{
		{31, 119, 180, 255}, // peerdns: blue
		{255, 127, 14, 255}, // hosts: orange
		{44, 160, 44, 255},  // file: green
		{127, 127, 127, 255},
	}
	ink    = color.RGBA{30, 30, 30, 255}
	grey   = color.RGBA{110, 110, 110, 255}
	grid   = color.RGBA{225, 225, 225, 255}
	target = color.RGBA{214, 39, 40, 255}
)

// panelData is one bar chart: a group per mix, a bar per server.
type panelData struct {
	title  string
	groups []string
	values [][]float64          // [group][server]; NaN: not applicable
	axis   func(float64) string // grid labels
	format func(float64) string // bar labels
	line   float64              // a dashed reference line (0: none)
}

const (
	chartW  = 1200
	margin  = 70
	scaleS  = 2 // text scale of labels
	panelH  = 380
	headerH = 110
)

// drawLoadChart draws the medians of the saturating runs and the p99 of the fixed-rate runs.
func drawLoadChart(rep *loadReport, path string) error {
	servers := serversIn(rep)
	panels := []panelData{qpsPanel(rep, servers)}
	if len(rep.Fixed) > 0 {
		panels = append(panels, latencyPanel(rep, servers))
	}
	h := headerH + len(panels)*(panelH+40)
	img := image.NewRGBA(image.Rect(0, 0, chartW, h))
	fill(img, 0, 0, chartW, h, color.White)
	drawText(img, margin, 20, fmt.Sprintf("peerdns load test: one map of %d services, %d servers", rep.Env.Services, len(servers)), 3, ink)
	drawText(img, margin, 52, fmt.Sprintf("%d clusters. each server on core %d alone, dnsperf on core %d. coredns chain: %s.",
		rep.Env.Clusters, rep.Env.ServerCPU, rep.Env.LoadCPU, rep.Env.Chain), 2, grey)
	drawLegend(img, margin, 78, servers)
	drawText(img, chartW-margin/2-textWidth(rep.Env.Date, 2), 78, rep.Env.Date, 2, grey)
	y := headerH
	for _, p := range panels {
		drawPanel(img, image.Rect(margin, y, chartW-margin/2, y+panelH), p, servers)
		y += panelH + 40
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// serversIn lists the servers of the report in serverKinds order.
func serversIn(rep *loadReport) []int {
	var out []int
	for i, k := range serverKinds {
		if hasServer(rep.Summary, k.name) {
			out = append(out, i)
		}
	}
	return out
}

func qpsPanel(rep *loadReport, servers []int) panelData {
	p := panelData{
		title:  fmt.Sprintf("thousands of queries per second, saturating, median of %d rounds (higher is better)", rep.Env.Rounds),
		axis:   func(v float64) string { return fmt.Sprintf("%.0f", v/1000) },
		format: func(v float64) string { return fmt.Sprintf("%.1f", v/1000) },
	}
	for _, m := range mixesIn(rep.Summary) {
		p.groups = append(p.groups, mixTitle(m))
		row := make([]float64, len(servers))
		for j, i := range servers {
			row[j] = math.NaN()
			if s, ok := findSummary(rep.Summary, m, serverKinds[i].name); ok {
				row[j] = s.QPS
			}
		}
		p.values = append(p.values, row)
	}
	return p
}

func latencyPanel(rep *loadReport, servers []int) panelData {
	p := panelData{
		title:  fmt.Sprintf("p99 latency in ms at a fixed %d qps (lower is better; dashed: the 1 ms target)", rep.Env.FixedQPS),
		axis:   func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) },
		format: millis,
		line:   1,
	}
	var mixes []string
	for _, r := range rep.Fixed {
		if len(mixes) == 0 || mixes[len(mixes)-1] != r.Mix {
			mixes = append(mixes, r.Mix)
		}
	}
	for _, m := range mixes {
		p.groups = append(p.groups, mixTitle(m))
		row := make([]float64, len(servers))
		for j, i := range servers {
			row[j] = math.NaN()
			for _, r := range rep.Fixed {
				if r.Mix == m && r.Server == serverKinds[i].name {
					row[j] = r.P99Ms
				}
			}
		}
		p.values = append(p.values, row)
	}
	return p
}

func drawLegend(img *image.RGBA, x, y int, servers []int) {
	for _, i := range servers {
		fill(img, x, y, 18, 14, serverColors[i%len(serverColors)])
		drawText(img, x+26, y, serverKinds[i].title, scaleS, ink)
		x += 26 + textWidth(serverKinds[i].title, scaleS) + 40
	}
}

// drawPanel draws one grouped bar chart into r: title, grid with axis labels, bars with their
// values, group names under the bars, and the reference line.
func drawPanel(img *image.RGBA, r image.Rectangle, p panelData, servers []int) {
	drawText(img, r.Min.X, r.Min.Y, p.title, scaleS, ink)
	plot := image.Rect(r.Min.X+60, r.Min.Y+40, r.Max.X, r.Max.Y-40)
	top := math.Max(p.line*1.2, 0)
	for _, row := range p.values {
		for _, v := range row {
			if !math.IsNaN(v) {
				top = math.Max(top, v)
			}
		}
	}
	step := niceStep(top / 5)
	top = math.Ceil(top*1.08/step) * step
	yOf := func(v float64) int { return plot.Max.Y - int(v/top*float64(plot.Dy())) }
	for v := 0.0; v <= top+step/2; v += step {
		y := yOf(v)
		fill(img, plot.Min.X, y, plot.Dx(), 1, grid)
		lbl := p.axis(v)
		drawText(img, plot.Min.X-10-textWidth(lbl, scaleS), y-7, lbl, scaleS, grey)
	}
	fill(img, plot.Min.X, plot.Max.Y, plot.Dx(), 2, ink)
	// The reference line goes under the bars and their labels.
	if p.line > 0 {
		y := yOf(p.line)
		for x := plot.Min.X; x < plot.Max.X; x += 14 {
			fill(img, x, y-1, 8, 3, target)
		}
	}
	groupW := plot.Dx() / max(1, len(p.groups))
	barW := (groupW - 40) / max(1, len(servers))
	for g, name := range p.groups {
		x0 := plot.Min.X + g*groupW + 20
		for j, v := range p.values[g] {
			x := x0 + j*barW
			if math.IsNaN(v) {
				drawText(img, x+barW/2-textWidth("n/a", scaleS)/2, plot.Max.Y-22, "n/a", scaleS, grey)
				continue
			}
			y := yOf(v)
			fill(img, x+3, y, barW-6, plot.Max.Y-y, serverColors[servers[j]%len(serverColors)])
			lbl := p.format(v)
			sc := scaleS
			if textWidth(lbl, sc) > barW+8 {
				sc = 1
			}
			lx, ly := x+barW/2-textWidth(lbl, sc)/2, y-8*sc-2
			fill(img, lx-1, ly-1, textWidth(lbl, sc)+2, glyphH*sc+2, color.White) // over the reference line
			drawText(img, lx, ly, lbl, sc, ink)
		}
		drawText(img, x0+(groupW-40)/2-textWidth(name, scaleS)/2, plot.Max.Y+12, name, scaleS, ink)
	}
}

// millis formats milliseconds with two significant decimals below 10 and none above 100.
func millis(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// niceStep rounds a grid step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*pow {
			return m * pow
		}
	}
	return 10 * pow
}
