package sync

import (
	"context"
	"errors"
	"net/netip"
	"reflect"
	gosync "sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/peerdns/peerdns/resolver"
)

// fakeDNS answers gateway hostname lookups from a table the test changes.
type fakeDNS struct {
	mu      gosync.Mutex
	answers map[string][]netip.Addr
	err     error // when set, every lookup fails with it
	calls   int
}

func (f *fakeDNS) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	if a, ok := f.answers[host]; ok {
		return append([]netip.Addr(nil), a...), nil
	}
	return nil, errors.New("no such host")
}

func (f *fakeDNS) set(host string, addrs []netip.Addr, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[host], f.err = addrs, err
}

func (f *fakeDNS) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// gatewayOf returns the gateway of cluster name in clusters.
func gatewayOf(clusters []resolver.Cluster, name string) (resolver.Gateway, bool) {
	for _, c := range clusters {
		if c.Name == name {
			return c.Gateway, true
		}
	}
	return resolver.Gateway{}, false
}

// waitGateway waits until the last published map gives cluster name the addresses want.
func waitGateway(t *testing.T, pub *fakePublisher, name string, want []netip.Addr) {
	t.Helper()
	waitFor(t, name+"'s addresses "+sprintAddrs(want), func() bool {
		g, ok := gatewayOf(pub.last(), name)
		return ok && reflect.DeepEqual(g.Addresses, want)
	})
}

const hostnameFile = "clusters:\n" +
	"- name: lb\n  gateway: {hostname: LB.Example.com., port: 15443}\n" +
	"- name: fixed\n  gateway: {addresses: [203.0.113.7]}\n"

func TestStaticHostname(t *testing.T) {
	dns := &fakeDNS{answers: map[string][]netip.Addr{
		"lb.example.com": addrs("2001:db8::9", "::ffff:203.0.113.9", "203.0.113.9"),
	}}
	path := writeFile(t, t.TempDir(), "peers.yaml", hostnameFile)
	core, logs := observer.New(zap.InfoLevel)
	st, pub, _ := startStatic(t, StaticOptions{Path: path, Resolve: testPoll, Lookup: dns.lookup, Log: zap.New(core)})
	waitGateway(t, pub, "lb", addrs("203.0.113.9", "2001:db8::9")) // unmapped, sorted, once each
	if g, _ := gatewayOf(pub.last(), "lb"); g.Hostname != "lb.example.com" || g.Port != 15443 {
		t.Errorf("gateway %+v, want hostname lb.example.com port 15443", g)
	}

	dns.set("lb.example.com", addrs("198.51.100.9"), nil)
	waitGateway(t, pub, "lb", addrs("198.51.100.9"))

	// A lookup that fails keeps the last addresses, and is logged once.
	dns.set("lb.example.com", nil, errors.New("server misbehaving"))
	n := dns.callCount()
	waitFor(t, "three failed lookups", func() bool { return dns.callCount() >= n+3 })
	if c, _ := st.Clusters(); !reflect.DeepEqual(c[0].Gateway.Addresses, addrs("198.51.100.9")) {
		t.Errorf("after failed lookups lb has %v, want the last [198.51.100.9]", c[0].Gateway.Addresses)
	}
	if n := logs.FilterMessage("gateway hostname lookup failed, keeping the previous addresses").Len(); n != 1 {
		t.Errorf("failure logged %d times, want once", n)
	}

	dns.set("lb.example.com", addrs("198.51.100.10"), nil)
	waitGateway(t, pub, "lb", addrs("198.51.100.10"))
	if n := logs.FilterMessage("gateway hostname resolves again").Len(); n != 1 {
		t.Errorf("recovery logged %d times, want once", n)
	}
}

// A hostname that does not resolve at load leaves its cluster without addresses; it is not an
// error of the file, and the map is published.
func TestStaticHostnameUnresolvable(t *testing.T) {
	dns := &fakeDNS{answers: map[string][]netip.Addr{}}
	path := writeFile(t, t.TempDir(), "peers.yaml", hostnameFile)
	core, logs := observer.New(zap.WarnLevel)
	_, pub, rep := startStatic(t, StaticOptions{Path: path, Resolve: testPoll, Lookup: dns.lookup, Log: zap.New(core)})
	waitFor(t, "the first map", func() bool { return pub.count() >= 1 })
	if g, ok := gatewayOf(pub.last(), "lb"); !ok || len(g.Addresses) != 0 {
		t.Errorf("unresolvable lb published as %+v, want no addresses", g)
	}
	if n := logs.FilterMessage("gateway hostname does not resolve, its clusters serve nothing").Len(); n != 1 {
		t.Errorf("unresolvable hostname logged %d times, want once", n)
	}
	dns.set("lb.example.com", addrs("203.0.113.9"), nil)
	waitGateway(t, pub, "lb", addrs("203.0.113.9"))
	if n := rep.errorCount(); n != 0 {
		t.Errorf("%d source errors reported, want none", n)
	}
}

// A hostname that appears in an edit is resolved with the reload, not at the next refresh.
func TestStaticHostnameAdded(t *testing.T) {
	dns := &fakeDNS{answers: map[string][]netip.Addr{"lb-west.example.com": addrs("198.51.100.20")}}
	dir := t.TempDir()
	path := writeFile(t, dir, "peers.yaml", "clusters:\n- name: fixed\n  gateway: {addresses: [203.0.113.7]}\n")
	_, pub, _ := startStatic(t, StaticOptions{Path: path, Resolve: time.Hour, Lookup: dns.lookup})
	waitFor(t, "the first map", func() bool { return pub.count() >= 1 })
	writeFile(t, dir, "peers.yaml", "clusters:\n- name: west\n  gateway: {hostname: lb-west.example.com}\n")
	waitGateway(t, pub, "west", addrs("198.51.100.20"))
}
