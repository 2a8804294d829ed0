package health

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peerdns/peerdns/internal/testnet"
	"github.com/peerdns/peerdns/test/e2e"
)

// The health checks of these tests: a probe every second (±10%), each at most 500ms, three
// failures in a row take an address down (the default).
const (
	interval = time.Second
	timeout  = 500 * time.Millisecond
	failures = 3
	// detectBound is how long a dead gateway may stay in the answers: three failed probes, the
	// last one's timeout, and slack for a busy machine.
	detectBound = failures*interval + timeout + 2*time.Second
)

// Gateway addresses: each a real TCP listener of the test on its own loopback address (Linux
// routes all of 127.0.0.0/8 to lo). east has two, west one; both serve web.shop.
var (
	eastAddrs = []string{"127.0.0.11", "127.0.0.12"}
	westAddrs = []string{"127.0.0.13"}
)

const peersYAML = `clusters:
  - name: east
    gateway:
      addresses: [127.0.0.11, 127.0.0.12]
      port: %[1]d
    services:
      - name: web
        namespace: shop
  - name: west
    gateway:
      addresses: [127.0.0.13]
      port: %[1]d
    services:
      - name: web
        namespace: shop
`

const corefile = `global:{port} {
    bind 127.0.0.1
    prometheus 127.0.0.1:%d
    peerdns {
        static {dir}/peers.yaml
        health_check 1s 500ms
    }
    errors
}
`

// gateway is a TCP listener standing in for a peer's gateway: it accepts connections and closes
// them. Stopped, its address refuses connections.
type gateway struct {
	addr string // "127.0.0.11:PORT"
	l    net.Listener
	wg   sync.WaitGroup
}

func (g *gateway) start(t *testing.T) {
	t.Helper()
	l, err := net.Listen("tcp", g.addr)
	if err != nil {
		t.Fatalf("gateway %s: %v", g.addr, err)
	}
	g.l = l
	g.wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	})
}

func (g *gateway) stop() {
	if g.l != nil {
		g.l.Close()
		g.wg.Wait()
		g.l = nil
	}
}

// setup starts a listener for every gateway address and peerdns with health checks on them. It
// returns the server, the gateways by address and the URL of the server's metrics.
func setup(t *testing.T) (*e2e.Server, map[string]*gateway, string) {
	t.Helper()
	gwPort, err := testnet.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	gws := map[string]*gateway{}
	for _, a := range slices.Concat(eastAddrs, westAddrs) {
		g := &gateway{addr: net.JoinHostPort(a, strconv.Itoa(gwPort))}
		g.start(t)
		t.Cleanup(g.stop)
		gws[a] = g
	}
	metricsPort, err := testnet.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "peers.yaml"), fmt.Appendf(nil, peersYAML, gwPort), 0o644); err != nil {
		t.Fatal(err)
	}
	s := e2e.Start(t, fmt.Sprintf(corefile, metricsPort), e2e.Options{Dir: dir})
	return s, gws, fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)
}

// answers returns the addresses web.shop.global answers with, sorted.
func answers(t *testing.T, s *e2e.Server) []string {
	t.Helper()
	r := s.Dig(t, "web.shop.global", "A")
	if r.Status() != "NOERROR" {
		t.Fatalf("web.shop.global A: %s\n%s", r.Status(), r.Raw())
	}
	return e2e.Addrs(r.Answer())
}

// waitAnswers polls dig about every 50ms until the answer is want, and returns how long that
// took; it fails the test after within.
func waitAnswers(t *testing.T, s *e2e.Server, want []string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		got := answers(t, s)
		if slices.Equal(got, want) {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("web.shop.global answers %v %v after the change, want %v\nserver output:\n%s",
				got, time.Since(start).Round(time.Millisecond), want, s.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func without(all []string, a string) []string {
	return slices.DeleteFunc(slices.Clone(all), func(x string) bool { return x == a })
}

// A gateway that stops taking connections leaves the answers, within three probes, and comes
// back after one; the TXT answer names it while it is down. The time from its death to its
// removal is measured over several rounds.
func TestGatewayLeavesAndReturns(t *testing.T) {
	s, gws, _ := setup(t)
	all := slices.Sorted(slices.Values(slices.Concat(eastAddrs, westAddrs)))
	waitAnswers(t, s, all, detectBound)

	var removal, recovery []time.Duration
	for round, a := range []string{"127.0.0.11", "127.0.0.13", "127.0.0.12", "127.0.0.11", "127.0.0.13"} {
		gws[a].stop()
		d := waitAnswers(t, s, without(all, a), detectBound)
		removal = append(removal, d)
		if round == 0 {
			txt := strings.Join(e2e.TXTs(s.Dig(t, "east.web.shop.global", "TXT").Answer()), " ")
			if !strings.Contains(txt, "down="+a) {
				t.Errorf("TXT of east while %s is down: %q, want down=%s", a, txt, a)
			}
		}
		gws[a].start(t)
		recovery = append(recovery, waitAnswers(t, s, all, interval+timeout+2*time.Second))
	}
	t.Logf("gateway death to removal from answers (health_check 1s 500ms, %d rounds): %s", len(removal), stats(removal))
	t.Logf("gateway back to return into answers: %s", stats(recovery))
	if n := strings.Count(s.Output(), "gateway down"); n != len(removal) {
		t.Errorf("%d \"gateway down\" log lines for %d deaths, want one each\n%s", n, len(removal), s.Output())
	}
}

// When every gateway is down, every one is served (fail open), and the metrics say so.
func TestAllDownFailsOpen(t *testing.T) {
	s, gws, metrics := setup(t)
	all := slices.Sorted(slices.Values(slices.Concat(eastAddrs, westAddrs)))
	waitAnswers(t, s, all, detectBound)
	waitMetric(t, metrics, `coredns_peerdns_gateways{peer="east",health="up"}`, 2)

	for _, g := range gws {
		g.stop()
	}
	waitMetric(t, metrics, `coredns_peerdns_gateways{peer="east",health="down"}`, 2)
	waitMetric(t, metrics, `coredns_peerdns_gateways{peer="west",health="down"}`, 1)
	waitMetric(t, metrics, `coredns_peerdns_fail_open_names`, 1)
	if got := answers(t, s); !slices.Equal(got, all) {
		t.Errorf("every gateway down: answers %v, want all of them %v", got, all)
	}

	for _, g := range gws {
		g.start(t)
	}
	waitMetric(t, metrics, `coredns_peerdns_fail_open_names`, 0)
	waitMetric(t, metrics, `coredns_peerdns_gateways{peer="east",health="up"}`, 2)
	waitMetric(t, metrics, `coredns_peerdns_gateways{peer="west",health="up"}`, 1)
	waitAnswers(t, s, all, interval+timeout+2*time.Second)
}

// waitMetric polls the metrics until series (name{label="value",...}, labels in any order)
// has value want.
func waitMetric(t *testing.T, url, series string, want float64) {
	t.Helper()
	deadline := time.Now().Add(detectBound + 2*time.Second)
	var got float64
	var found bool
	for time.Now().Before(deadline) {
		got, found = metricValue(t, url, series)
		if found && got == want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("metric %s = %v (present: %v), want %v", series, got, found, want)
}

// metricValue scrapes url and returns the value of one series.
func metricValue(t *testing.T, url, series string) (float64, bool) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	name, labels, _ := strings.Cut(strings.TrimSuffix(series, "}"), "{")
	for line := range strings.Lines(string(body)) {
		fields := strings.Fields(line)
		if len(fields) != 2 || !matches(fields[0], name, labels) {
			continue
		}
		v, err := strconv.ParseFloat(fields[1], 64)
		return v, err == nil
	}
	return 0, false
}

// matches reports whether an exposed series is name with exactly the given labels.
func matches(exposed, name, labels string) bool {
	n, l, _ := strings.Cut(strings.TrimSuffix(exposed, "}"), "{")
	if n != name {
		return false
	}
	split := func(s string) []string {
		if s == "" {
			return nil
		}
		parts := strings.Split(s, ",")
		slices.Sort(parts)
		return parts
	}
	return slices.Equal(split(l), split(labels))
}

// stats renders min, median and max of ds.
func stats(ds []time.Duration) string {
	s := slices.Sorted(slices.Values(ds))
	return fmt.Sprintf("min %v, median %v, max %v", s[0].Round(time.Millisecond),
		s[len(s)/2].Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond))
}
