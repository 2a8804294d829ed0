package resolver

import (
	"slices"
	"testing"

	"github.com/miekg/dns"
)

// withDown returns testClusters with the given addresses failing health checks, by cluster.
func withDown(down map[string][]string) []Cluster {
	clusters := testClusters()
	for i := range clusters {
		if d, ok := down[clusters[i].Name]; ok {
			clusters[i].Gateway.Down = addrs(d...)
		}
	}
	return clusters
}

func TestHealthLeavesDownAddressesOut(t *testing.T) {
	r := newTestResolver(t, Config{}, withDown(map[string][]string{"east": {"203.0.113.7"}}))
	cases := []tcase{
		{name: "A without the down address", qname: "productcatalog.default.global.", qtype: dns.TypeA, kind: Success,
			answer: []string{
				"productcatalog.default.global. 5 IN A 198.51.100.20",
				"productcatalog.default.global. 5 IN A 203.0.113.99",
			}},
		{name: "the other family of the cluster still answers", qname: "productcatalog.default.global.",
			qtype: dns.TypeAAAA, kind: Success,
			answer: []string{"productcatalog.default.global. 5 IN AAAA 2001:db8::7"}},
		{name: "fail open: every IPv4 address of the only cluster is down", qname: "cart.default.global.",
			qtype: dns.TypeA, kind: Success,
			answer: []string{"cart.default.global. 5 IN A 203.0.113.7"}},
		{name: "fail open on a cluster-targeted name", qname: "east.productcatalog.default.global.",
			qtype: dns.TypeA, kind: Success,
			answer: []string{"east.productcatalog.default.global. 5 IN A 203.0.113.7"}},
		{name: "SRV keeps a cluster with a healthy address",
			qname: "_grpc._tcp.productcatalog.default.global.", qtype: dns.TypeSRV, kind: Success,
			answer: []string{
				"_grpc._tcp.productcatalog.default.global. 5 IN SRV 0 1 15443 east.productcatalog.default.global.",
				"_grpc._tcp.productcatalog.default.global. 5 IN SRV 1 1 3550 west.productcatalog.default.global.",
			},
			extra: []string{
				"east.productcatalog.default.global. 5 IN A 203.0.113.7",
				"east.productcatalog.default.global. 5 IN AAAA 2001:db8::7",
				"west.productcatalog.default.global. 5 IN A 198.51.100.20",
			}},
		{name: "TXT names the down address", qname: "east.cart.default.global.", qtype: dns.TypeTXT, kind: Success,
			answer: []string{
				`east.cart.default.global. 5 IN TXT "cluster=east gateway=203.0.113.7,2001:db8::7 down=203.0.113.7 port=15443 state=live age=3s source=static locality=us-east1/us-east1-b priority=0"`,
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, r) })
	}
	if n := r.Snapshot().FailOpen(); n != 1 {
		t.Errorf("FailOpen() = %d, want 1 (cart.default)", n)
	}
}

func TestHealthWholeClusterDown(t *testing.T) {
	r := newTestResolver(t, Config{}, withDown(map[string][]string{"east": {"2001:db8::7", "203.0.113.7"}}))
	cases := []tcase{
		{name: "A from the healthy clusters", qname: "productcatalog.default.global.", qtype: dns.TypeA, kind: Success,
			answer: []string{
				"productcatalog.default.global. 5 IN A 198.51.100.20",
				"productcatalog.default.global. 5 IN A 203.0.113.99",
			}},
		{name: "AAAA fails open: no healthy IPv6 address anywhere", qname: "productcatalog.default.global.",
			qtype: dns.TypeAAAA, kind: Success,
			answer: []string{"productcatalog.default.global. 5 IN AAAA 2001:db8::7"}},
		{name: "SRV without the down cluster", qname: "_grpc._tcp.productcatalog.default.global.",
			qtype: dns.TypeSRV, kind: Success,
			answer: []string{"_grpc._tcp.productcatalog.default.global. 5 IN SRV 0 1 3550 west.productcatalog.default.global."},
			extra:  []string{"west.productcatalog.default.global. 5 IN A 198.51.100.20"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, r) })
	}
	if n := r.Snapshot().FailOpen(); n != 2 {
		t.Errorf("FailOpen() = %d, want 2 (productcatalog.default for AAAA, cart.default)", n)
	}
}

func TestHealthEverythingDownFailsOpen(t *testing.T) {
	r := newTestResolver(t, Config{}, withDown(map[string][]string{
		"east": {"203.0.113.7", "2001:db8::7"}, "west": {"198.51.100.20"}, "old": {"203.0.113.99"},
	}))
	cases := []tcase{
		{name: "A: every address, in the usual order", qname: "productcatalog.default.global.",
			qtype: dns.TypeA, kind: Success,
			answer: []string{
				"productcatalog.default.global. 5 IN A 203.0.113.7",
				"productcatalog.default.global. 5 IN A 198.51.100.20",
				"productcatalog.default.global. 5 IN A 203.0.113.99",
			}},
		{name: "SRV: every cluster", qname: "_grpc._tcp.productcatalog.default.global.",
			qtype: dns.TypeSRV, kind: Success,
			answer: []string{
				"_grpc._tcp.productcatalog.default.global. 5 IN SRV 0 1 15443 east.productcatalog.default.global.",
				"_grpc._tcp.productcatalog.default.global. 5 IN SRV 1 1 3550 west.productcatalog.default.global.",
			},
			extra: []string{
				"east.productcatalog.default.global. 5 IN A 203.0.113.7",
				"east.productcatalog.default.global. 5 IN AAAA 2001:db8::7",
				"west.productcatalog.default.global. 5 IN A 198.51.100.20",
			}},
		{name: "ANY still picks A", qname: "ledger.bank.global.", qtype: dns.TypeANY, kind: Success,
			answer: []string{"ledger.bank.global. 5 IN A 198.51.100.20"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, r) })
	}
	if n := r.Snapshot().FailOpen(); n != 3 {
		t.Errorf("FailOpen() = %d, want 3", n)
	}
}

// A down address the gateway does not have changes nothing.
func TestHealthUnknownDownAddress(t *testing.T) {
	r := newTestResolver(t, Config{}, withDown(map[string][]string{"west": {"192.0.2.1"}}))
	tcase{qname: "ledger.bank.global.", qtype: dns.TypeA, kind: Success,
		answer: []string{"ledger.bank.global. 5 IN A 198.51.100.20"}}.run(t, r)
	if n := r.Snapshot().FailOpen(); n != 0 {
		t.Errorf("FailOpen() = %d, want 0", n)
	}
}

// Health changes reach the answers through the incremental build, and back.
func TestHealthChangesRebuild(t *testing.T) {
	r := newTestResolver(t, Config{}, testClusters())
	steps := []struct {
		down     map[string][]string
		want     []string
		failOpen int
	}{
		{nil, []string{"203.0.113.7", "198.51.100.20", "203.0.113.99"}, 0},
		{map[string][]string{"west": {"198.51.100.20"}}, []string{"203.0.113.7", "203.0.113.99"}, 1},
		{map[string][]string{"west": {"198.51.100.20"}, "east": {"203.0.113.7"}}, []string{"203.0.113.99"}, 2},
		{nil, []string{"203.0.113.7", "198.51.100.20", "203.0.113.99"}, 0},
	}
	for i, st := range steps {
		gen := r.Snapshot().Generation()
		if _, err := r.Publish(Map{Clusters: withDown(st.down)}); err != nil {
			t.Fatal(err)
		}
		if got := answerA(t, r, "productcatalog.default.global."); !slices.Equal(got, st.want) {
			t.Errorf("step %d: A %v, want %v", i, got, st.want)
		}
		if n := r.Snapshot().FailOpen(); n != st.failOpen {
			t.Errorf("step %d: FailOpen() = %d, want %d", i, n, st.failOpen)
		}
		if i > 0 && r.Snapshot().Generation() == gen {
			t.Errorf("step %d: a health change kept generation %d", i, gen)
		}
	}
}

// Down addresses are left out at build time: a lookup still allocates nothing.
func TestHealthLookupDoesNotAllocate(t *testing.T) {
	r := newTestResolver(t, Config{}, withDown(map[string][]string{"east": {"203.0.113.7"}}))
	for _, q := range []struct {
		name  string
		qtype uint16
	}{
		{"productcatalog.default.global.", dns.TypeA},
		{"cart.default.global.", dns.TypeA},
		{"_grpc._tcp.productcatalog.default.global.", dns.TypeSRV},
	} {
		if n := testing.AllocsPerRun(100, func() { r.Lookup(q.name, q.qtype, dns.ClassINET) }); n != 0 {
			t.Errorf("%s: %v allocations per lookup, want 0", q.name, n)
		}
	}
}
