package peerbench

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Metrics is one scrape of the Prometheus text format: each series (name with its labels, as
// printed) and its value.
type Metrics map[string]float64

// Scrape reads the metrics at url.
func Scrape(url string) (Metrics, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	m := Metrics{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			m[line[:i]] = v
		}
	}
	return m, sc.Err()
}

// Sum adds every series of the metric name, whatever its labels.
func (m Metrics) Sum(name string) float64 {
	var sum float64
	for series, v := range m {
		if series == name || strings.HasPrefix(series, name+"{") {
			sum += v
		}
	}
	return sum
}

// Histogram is the running sum and count of a Prometheus histogram.
type Histogram struct{ Sum, Count float64 }

// Histogram reads the _sum and _count of histogram name.
func (m Metrics) Histogram(name string) Histogram {
	return Histogram{Sum: m.Sum(name + "_sum"), Count: m.Sum(name + "_count")}
}

// Mean is the mean observation between an earlier reading and this one.
func (h Histogram) Mean(since Histogram) (time.Duration, int) {
	n := h.Count - since.Count
	if n <= 0 {
		return 0, 0
	}
	return time.Duration((h.Sum - since.Sum) / n * float64(time.Second)), int(n)
}
