package sync

import (
	"container/heap"
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/peerdns/peerdns/resolver"
)

var errRefused = errors.New("connection refused")

// fakeDialer answers probes without a network: addresses in failing are refused, the others
// connect. It counts the probes of every target and the most probes at once.
type fakeDialer struct {
	mu       gosync.Mutex
	failing  map[string]bool // by "address:port"
	probes   map[string]int
	block    chan struct{} // when set, a probe waits for it (or its timeout) before answering
	inFlight atomic.Int32
	most     atomic.Int32
}

func newFakeDialer() *fakeDialer {
	return &fakeDialer{failing: map[string]bool{}, probes: map[string]int{}}
}

func (d *fakeDialer) dial(ctx context.Context, network, address string) (net.Conn, error) {
	n := d.inFlight.Add(1)
	defer d.inFlight.Add(-1)
	for m := d.most.Load(); n > m && !d.most.CompareAndSwap(m, n); m = d.most.Load() {
	}
	d.mu.Lock()
	d.probes[address]++
	fail, block := d.failing[address], d.block
	d.mu.Unlock()
	if network != "tcp" {
		return nil, errors.New("network " + network + ", want tcp")
	}
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if fail {
		return nil, errRefused
	}
	c1, c2 := net.Pipe()
	c2.Close()
	return c1, nil
}

func (d *fakeDialer) fail(address string, failing bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.failing[address] = failing
}

func (d *fakeDialer) count(address string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.probes[address]
}

func newTestChecker(t *testing.T, opts HealthOptions) *HealthChecker {
	t.Helper()
	h, err := NewHealthChecker(opts)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// runChecker runs h until the test ends and counts the changes it signals.
func runChecker(t *testing.T, h *HealthChecker) *atomic.Int32 {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var changes atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Run(ctx, func() { changes.Add(1) })
	}()
	t.Cleanup(func() { cancel(); <-done })
	return &changes
}

func gwCluster(name string, port uint16, addrs ...string) resolver.Cluster {
	c := resolver.Cluster{Name: name, Source: "static", Gateway: resolver.Gateway{Port: port}}
	for _, a := range addrs {
		c.Gateway.Addresses = append(c.Gateway.Addresses, netip.MustParseAddr(a))
	}
	return c
}

// probed records a probe of t with outcome err, as a worker of Run does after taking it off
// the queue.
func probed(h *HealthChecker, t *target, err error) bool {
	h.mu.Lock()
	if t.index >= 0 {
		heap.Remove(&h.queue, t.index)
	}
	h.mu.Unlock()
	return h.record(t, err, time.Now())
}

// downOfTracked tracks clusters and returns the Down list of cluster i.
func downOfTracked(h *HealthChecker, clusters []resolver.Cluster, i int) []netip.Addr {
	out, _ := h.Track(clusters)
	return out[i].Gateway.Down
}

func TestHealthOptions(t *testing.T) {
	for _, tc := range []struct {
		interval, timeout, want time.Duration
	}{
		{time.Second, 0, 500 * time.Millisecond},
		{time.Minute, 0, MaxHealthTimeout},
		{time.Second, 200 * time.Millisecond, 200 * time.Millisecond},
	} {
		h := newTestChecker(t, HealthOptions{Interval: tc.interval, Timeout: tc.timeout})
		if h.opts.Timeout != tc.want {
			t.Errorf("interval %v timeout %v: timeout %v, want %v", tc.interval, tc.timeout, h.opts.Timeout, tc.want)
		}
	}
	for _, bad := range []HealthOptions{{}, {Interval: -time.Second}, {Interval: time.Second, Timeout: time.Second}} {
		if _, err := NewHealthChecker(bad); !errors.Is(err, ErrHealthInterval) {
			t.Errorf("%+v: error %v, want ErrHealthInterval", bad, err)
		}
	}
}

// A target goes down after Failures failed probes in a row and comes back after one success.
func TestHealthFailuresInARow(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	h := newTestChecker(t, HealthOptions{Interval: time.Second, Log: zap.New(core)})
	clusters := []resolver.Cluster{gwCluster("east", 15443, "203.0.113.7", "203.0.113.8")}
	h.Track(clusters)
	at := netip.MustParseAddrPort("203.0.113.7:15443")
	tg := h.targets[at]
	steps := []struct {
		err     error
		changed bool
		down    []netip.Addr
	}{
		{errRefused, false, nil},
		{nil, false, nil}, // a success in between starts the count again
		{errRefused, false, nil},
		{errRefused, false, nil},
		{errRefused, true, []netip.Addr{at.Addr()}},
		{errRefused, false, []netip.Addr{at.Addr()}},
		{nil, true, nil},
	}
	for i, st := range steps {
		if changed := probed(h, tg, st.err); changed != st.changed {
			t.Fatalf("step %d: changed %v, want %v", i, changed, st.changed)
		}
		if got := downOfTracked(h, clusters, 0); !slices.Equal(got, st.down) {
			t.Fatalf("step %d: down %v, want %v", i, got, st.down)
		}
	}
	if n := logs.FilterMessage("gateway down").FilterField(zap.String("peer", "east")).Len(); n != 1 {
		t.Errorf("%d gateway down lines, want 1", n)
	}
	if n := logs.FilterMessage("gateway up").Len(); n != 1 {
		t.Errorf("%d gateway up lines, want 1", n)
	}
}

// Probes run on their own: a refused gateway goes down, and comes back when it accepts again.
func TestHealthRunDownAndUp(t *testing.T) {
	d := newFakeDialer()
	h := newTestChecker(t, HealthOptions{Interval: 20 * time.Millisecond, Dial: d.dial})
	clusters := []resolver.Cluster{gwCluster("east", 15443, "203.0.113.7", "2001:db8::7")}
	h.Track(clusters)
	changes := runChecker(t, h)
	d.fail("203.0.113.7:15443", true)
	want := []netip.Addr{netip.MustParseAddr("203.0.113.7")}
	waitFor(t, "203.0.113.7 down", func() bool { return slices.Equal(downOfTracked(h, clusters, 0), want) })
	if n := d.count("203.0.113.7:15443"); n < DefaultHealthFailures {
		t.Errorf("down after %d probes, want at least %d", n, DefaultHealthFailures)
	}
	if d.count("[2001:db8::7]:15443") == 0 {
		t.Error("the IPv6 address was never probed")
	}
	d.fail("203.0.113.7:15443", false)
	waitFor(t, "203.0.113.7 up", func() bool { return downOfTracked(h, clusters, 0) == nil })
	if n := changes.Load(); n != 2 {
		t.Errorf("%d changes signalled, want 2 (down, up)", n)
	}
}

// An address is down only when every port probed on it is.
func TestHealthAddressDownWhenAllPortsAre(t *testing.T) {
	h := newTestChecker(t, HealthOptions{Interval: time.Second, Failures: 1})
	c := gwCluster("west", 0, "198.51.100.20")
	c.Services = []resolver.Service{
		{Name: "a", Namespace: "n", Ports: []resolver.Port{{Port: 8080, Protocol: "TCP"}, {Port: 53, Protocol: "UDP"}}},
		{Name: "b", Namespace: "n", Ports: []resolver.Port{{Port: 443, Protocol: "TCP"}, {Port: 8080, Protocol: "TCP"}}},
	}
	clusters := []resolver.Cluster{c}
	h.Track(clusters)
	var got []string
	for at := range h.targets {
		got = append(got, at.String())
	}
	slices.Sort(got)
	if want := []string{"198.51.100.20:443", "198.51.100.20:8080"}; !slices.Equal(got, want) {
		t.Fatalf("targets %v, want %v (TCP ports only, each once)", got, want)
	}
	probed(h, h.targets[netip.MustParseAddrPort("198.51.100.20:443")], errRefused)
	if d := downOfTracked(h, clusters, 0); d != nil {
		t.Fatalf("down %v with port 8080 still up", d)
	}
	probed(h, h.targets[netip.MustParseAddrPort("198.51.100.20:8080")], errRefused)
	if d := downOfTracked(h, clusters, 0); len(d) != 1 {
		t.Fatalf("down %v with both ports refused, want the address", d)
	}
}

func TestHealthPortsAtMostEight(t *testing.T) {
	c := gwCluster("west", 0, "198.51.100.20")
	for p := uint16(20); p > 0; p-- {
		c.Services = append(c.Services, resolver.Service{Name: "s", Namespace: "n",
			Ports: []resolver.Port{{Port: 1000 + p, Protocol: "TCP"}}})
	}
	got := healthPorts(&c)
	if want := []uint16{1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008}; !slices.Equal(got, want) {
		t.Errorf("ports %v, want the lowest eight %v", got, want)
	}
}

// Track never modifies its input, and hands out the same Down slice while it does not change,
// so that the resolver sees the cluster unchanged.
func TestHealthTrackKeepsDownSlice(t *testing.T) {
	h := newTestChecker(t, HealthOptions{Interval: time.Second, Failures: 1})
	clusters := []resolver.Cluster{gwCluster("east", 15443, "203.0.113.7"), gwCluster("west", 15443, "198.51.100.20")}
	h.Track(clusters)
	probed(h, h.targets[netip.MustParseAddrPort("203.0.113.7:15443")], errRefused)
	first, health := h.Track(clusters)
	second, _ := h.Track(slices.Clone(clusters))
	if clusters[0].Gateway.Down != nil {
		t.Fatal("Track modified its input")
	}
	if unsafe.SliceData(first[0].Gateway.Down) != unsafe.SliceData(second[0].Gateway.Down) {
		t.Error("an unchanged Down list was handed out as a new slice")
	}
	want := []PeerHealth{{Peer: "east", Up: 0, Down: 1}, {Peer: "west", Up: 1, Down: 0}}
	if !slices.Equal(health, want) {
		t.Errorf("health %+v, want %+v", health, want)
	}
	if all, _ := h.Track(clusters[1:]); &all[0] != &clusters[1] {
		t.Error("a map with nothing down was copied")
	}
}

func TestHealthJitter(t *testing.T) {
	h := newTestChecker(t, HealthOptions{Interval: time.Second})
	lo, hi := time.Hour, time.Duration(0)
	for range 1000 {
		d := h.interval()
		lo, hi = min(lo, d), max(hi, d)
		if f := h.firstDelay(); f < 0 || f >= 100*time.Millisecond {
			t.Fatalf("first probe after %v, want within a tenth of the interval", f)
		}
	}
	if lo < 900*time.Millisecond || hi > 1100*time.Millisecond {
		t.Errorf("intervals in [%v, %v], want within ±10%% of 1s", lo, hi)
	}
	if lo > 920*time.Millisecond || hi < 1080*time.Millisecond {
		t.Errorf("intervals in [%v, %v]: not spread over ±10%%", lo, hi)
	}
}

// Targets that leave the map are no longer probed.
func TestHealthTargetsRemoved(t *testing.T) {
	d := newFakeDialer()
	h := newTestChecker(t, HealthOptions{Interval: 10 * time.Millisecond, Dial: d.dial})
	h.Track([]resolver.Cluster{gwCluster("east", 1, "203.0.113.7"), gwCluster("west", 1, "198.51.100.20")})
	runChecker(t, h)
	waitFor(t, "probes of east", func() bool { return d.count("203.0.113.7:1") > 0 })
	h.Track([]resolver.Cluster{gwCluster("west", 1, "198.51.100.20")})
	before := d.count("203.0.113.7:1")
	clock := d.count("198.51.100.20:1")
	waitFor(t, "more probes of west", func() bool { return d.count("198.51.100.20:1") >= clock+5 })
	if n := d.count("203.0.113.7:1"); n > before+1 { // one may have been in flight
		t.Errorf("east probed %d more times after it left the map", n-before)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.targets) != 1 || len(h.queue) > 1 {
		t.Errorf("%d targets, %d queued after east left, want 1", len(h.targets), len(h.queue))
	}
}

func TestHealthMaxTargets(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	h := newTestChecker(t, HealthOptions{Interval: time.Second, MaxTargets: 3, Failures: 1, Log: zap.New(core)})
	clusters := []resolver.Cluster{
		gwCluster("east", 1, "203.0.113.1", "203.0.113.2"),
		gwCluster("west", 1, "203.0.113.2", "203.0.113.3", "203.0.113.4", "203.0.113.5"),
	}
	h.Track(clusters)
	h.Track(clusters)
	if len(h.targets) != 3 || len(h.queue) != 3 {
		t.Fatalf("%d targets, %d queued, want 3", len(h.targets), len(h.queue))
	}
	if n := logs.FilterMessage("too many gateway addresses and ports to health-check, the rest count as healthy").Len(); n != 1 {
		t.Errorf("the bound was logged %d times, want once", n)
	}
	for _, tg := range h.targets {
		probed(h, tg, errRefused)
	}
	_, health := h.Track(clusters)
	want := []PeerHealth{{Peer: "east", Down: 2}, {Peer: "west", Up: 2, Down: 2}}
	if !slices.Equal(health, want) {
		t.Errorf("health %+v, want %+v: unprobed addresses count as up", health, want)
	}
}

func TestHealthConcurrency(t *testing.T) {
	d := newFakeDialer()
	d.block = make(chan struct{})
	h := newTestChecker(t, HealthOptions{Interval: 50 * time.Millisecond, Concurrency: 2, Dial: d.dial})
	var addrs []string
	for i := range 10 {
		addrs = append(addrs, netip.AddrFrom4([4]byte{203, 0, 113, byte(i + 1)}).String())
	}
	h.Track([]resolver.Cluster{gwCluster("east", 1, addrs...)})
	runChecker(t, h)
	waitFor(t, "two probes at once", func() bool { return d.inFlight.Load() == 2 })
	total := func() int {
		n := 0
		for _, a := range addrs {
			n += d.count(a + ":1")
		}
		return n
	}
	waitFor(t, "every target probed", func() bool { return total() >= 10 })
	if m := d.most.Load(); m != 2 {
		t.Errorf("at most %d probes at once, want 2", m)
	}
	close(d.block)
}
