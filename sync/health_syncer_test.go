package sync

import (
	"net/netip"
	"path/filepath"
	"slices"
	gosync "sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/peerdns/peerdns/resolver"
)

// healthReporter records what the sync reports about health checks.
type healthReporter struct {
	fakeReporter
	hmu      gosync.Mutex
	health   []PeerHealth
	failOpen int
}

func (r *healthReporter) GatewayHealth(peers []PeerHealth) {
	r.hmu.Lock()
	defer r.hmu.Unlock()
	r.health = slices.Clone(peers)
}

func (r *healthReporter) FailOpen(n int) {
	r.hmu.Lock()
	defer r.hmu.Unlock()
	r.failOpen = n
}

func (r *healthReporter) last() ([]PeerHealth, int) {
	r.hmu.Lock()
	defer r.hmu.Unlock()
	return r.health, r.failOpen
}

// answerA returns the A records of qname, as strings.
func answerA(r *resolver.Resolver, qname string) []string {
	res := r.Lookup(qname, dns.TypeA, dns.ClassINET)
	m := new(dns.Msg)
	r.Answer(m, dns.Question{Name: qname, Qtype: dns.TypeA, Qclass: dns.ClassINET}, res, netip.Addr{})
	var out []string
	for _, rr := range m.Answer {
		out = append(out, rr.(*dns.A).A.String())
	}
	slices.Sort(out)
	return out
}

// The syncer publishes what the health checks find: down gateways leave the answers, a
// service whose every gateway is down is answered with all of them, and both are reported.
func TestSyncerHealthChecks(t *testing.T) {
	d := newFakeDialer()
	h := newTestChecker(t, HealthOptions{Interval: 20 * time.Millisecond, Dial: d.dial})
	east := gwCluster("east", 15443, "203.0.113.7", "203.0.113.8")
	east.Services = []resolver.Service{{Name: "web", Namespace: "shop"}}
	src := newFakeSource("static", true, east)
	res := resolver.New(resolver.Config{})
	rep := &healthReporter{}
	file := filepath.Join(t.TempDir(), "snapshot.json")
	s := New(Options{Publisher: res, Sources: []Source{src}, Reporter: rep, Health: h, SnapshotFile: file})
	s.Start()
	defer s.Stop()

	both := []string{"203.0.113.7", "203.0.113.8"}
	waitFor(t, "the first map", func() bool { return slices.Equal(answerA(res, "web.shop.global."), both) })
	d.fail("203.0.113.7:15443", true)
	waitFor(t, "203.0.113.7 out of the answers", func() bool {
		return slices.Equal(answerA(res, "web.shop.global."), []string{"203.0.113.8"})
	})
	waitFor(t, "the health reported", func() bool {
		health, n := rep.last()
		return slices.Equal(health, []PeerHealth{{Peer: "east", Up: 1, Down: 1}}) && n == 0
	})

	d.fail("203.0.113.8:15443", true)
	waitFor(t, "the fail-open service reported", func() bool {
		health, n := rep.last()
		return slices.Equal(health, []PeerHealth{{Peer: "east", Down: 2}}) && n == 1
	})
	if got := answerA(res, "web.shop.global."); !slices.Equal(got, both) {
		t.Errorf("every gateway down: answered %v, want all of them %v", got, both)
	}

	d.fail("203.0.113.7:15443", false)
	d.fail("203.0.113.8:15443", false)
	waitFor(t, "both back", func() bool {
		health, n := rep.last()
		return slices.Equal(health, []PeerHealth{{Peer: "east", Up: 2}}) && n == 0
	})
	s.Stop()
	saved, _, err := readSnapshot(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(saved) != 1 || saved[0].Gateway.Down != nil {
		t.Errorf("snapshot file holds %+v, want east without health state", saved)
	}
}

// Without health checks the builder reports no gateways and no fail-open names, so the series of
// a configuration that had them (before a reload) go away.
func TestSyncerNoHealthChecksClearsReports(t *testing.T) {
	rep := &healthReporter{health: []PeerHealth{{Peer: "east", Up: 1, Down: 1}}, failOpen: 2}
	src := newFakeSource("static", true, gwCluster("east", 15443, "203.0.113.7"))
	s := New(Options{Publisher: resolver.New(resolver.Config{}), Sources: []Source{src}, Reporter: rep})
	s.Start()
	defer s.Stop()
	waitFor(t, "the health reports cleared", func() bool {
		health, n := rep.last()
		return len(health) == 0 && n == 0
	})
}
