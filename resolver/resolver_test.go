package resolver

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

var epoch = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

// testClusters is the map most tests answer from. The server runs in us-east1/us-east1-b.
func testClusters() []Cluster {
	grpc := []Port{{Name: "grpc", Port: 3550, Protocol: "TCP"}}
	return []Cluster{
		{
			Name: "east", Source: "static", Updated: epoch.Add(-3 * time.Second),
			Gateway:  Gateway{Addresses: addrs("203.0.113.7", "2001:db8::7"), Port: 15443},
			Locality: Locality{Region: "us-east1", Zone: "us-east1-b"},
			Services: []Service{
				{Name: "productcatalog", Namespace: "default", Ports: grpc},
				{Name: "cart", Namespace: "default"},
			},
		},
		{
			Name: "west", Source: "kubeconfig", Updated: epoch.Add(-time.Minute),
			Gateway:  Gateway{Addresses: addrs("198.51.100.20")},
			Locality: Locality{Region: "us-west1", Zone: "us-west1-a"},
			Services: []Service{
				{Name: "productcatalog", Namespace: "default", Ports: []Port{
					{Name: "grpc", Port: 3550, Protocol: "TCP"}, {Name: "http", Port: 8080, Protocol: "TCP"}}},
				{Name: "ledger", Namespace: "bank", Ports: []Port{{Port: 9000, Protocol: "TCP"}}},
			},
		},
		{
			Name: "old", Source: "kubeconfig", State: Stale, Updated: epoch.Add(-2 * time.Minute),
			Gateway:  Gateway{Addresses: addrs("203.0.113.99")},
			Priority: 5,
			Services: []Service{{Name: "productcatalog", Namespace: "default"}},
		},
		{
			Name: "new", Source: "kubeconfig", State: Syncing,
			Gateway:  Gateway{Addresses: addrs("203.0.113.100")},
			Services: []Service{{Name: "hidden", Namespace: "default"}},
		},
		{
			Name: "noaddr", Source: "static",
			Services: []Service{{Name: "nowhere", Namespace: "default"}},
		},
	}
}

func newTestResolver(t testing.TB, cfg Config, clusters []Cluster) *Resolver {
	t.Helper()
	if cfg.Locality == (Locality{}) {
		cfg.Locality = Locality{Region: "us-east1", Zone: "us-east1-b"}
	}
	r := New(cfg)
	r.now = func() time.Time { return epoch }
	if _, err := r.Publish(Map{Clusters: clusters}); err != nil {
		t.Fatalf("publish: %v", err)
	}
	return r
}

type tcase struct {
	name   string
	qname  string
	qtype  uint16
	qclass uint16 // 0: IN
	kind   Kind
	answer []string
	ns     []string
	extra  []string
}

// run asks one question and compares every section with the expected zone-file lines, in order.
func (tc tcase) run(t *testing.T, r *Resolver) {
	t.Helper()
	if tc.qclass == 0 {
		tc.qclass = dns.ClassINET
	}
	res := r.Lookup(tc.qname, tc.qtype, tc.qclass)
	if res.Kind() != tc.kind {
		t.Fatalf("%s %s: kind %v, want %v", tc.qname, dns.TypeToString[tc.qtype], res.Kind(), tc.kind)
	}
	m := new(dns.Msg)
	q := dns.Question{Name: tc.qname, Qtype: tc.qtype, Qclass: tc.qclass}
	r.Answer(m, q, res, netip.MustParseAddr("127.0.0.1"))
	compare(t, "answer", m.Answer, tc.answer)
	compare(t, "authority", m.Ns, tc.ns)
	compare(t, "additional", m.Extra, tc.extra)
}

func compare(t *testing.T, section string, got []dns.RR, want []string) {
	t.Helper()
	var g, w []string
	for _, rr := range got {
		g = append(g, rr.String())
	}
	for _, s := range want {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatalf("bad expected record %q: %v", s, err)
		}
		w = append(w, rr.String())
	}
	if !slices.Equal(g, w) {
		t.Errorf("%s section:\n got: %s\nwant: %s", section, strings.Join(g, "\n      "), strings.Join(w, "\n      "))
	}
}

const soa = "global. 5 IN SOA ns.dns.global. hostmaster.global. 1 7200 1800 86400 5"

func TestLookup(t *testing.T) {
	cases := []tcase{
		{name: "A: local cluster first, then the rest by priority",
			qname: "productcatalog.default.global.", qtype: dns.TypeA, kind: Success,
			answer: []string{
				"productcatalog.default.global. 5 IN A 203.0.113.7",
				"productcatalog.default.global. 5 IN A 198.51.100.20",
				"productcatalog.default.global. 5 IN A 203.0.113.99",
			}},
		{name: "AAAA", qname: "productcatalog.default.global.", qtype: dns.TypeAAAA, kind: Success,
			answer: []string{"productcatalog.default.global. 5 IN AAAA 2001:db8::7"}},
		{name: "AAAA NODATA on an IPv4-only service", qname: "ledger.bank.global.", qtype: dns.TypeAAAA,
			kind: NoData, ns: []string{soa}},
		{name: "MX NODATA", qname: "cart.default.global.", qtype: dns.TypeMX, kind: NoData, ns: []string{soa}},
		{name: "case of the question kept", qname: "Cart.DEFAULT.Global.", qtype: dns.TypeA, kind: Success,
			answer: []string{"Cart.DEFAULT.Global. 5 IN A 203.0.113.7"}},
		{name: "case kept in negative answers", qname: "nope.DEFAULT.Global.", qtype: dns.TypeA, kind: NameError,
			ns: []string{"Global. 5 IN SOA ns.dns.global. hostmaster.global. 1 7200 1800 86400 5"}},
		{name: "cluster-targeted", qname: "west.productcatalog.default.global.", qtype: dns.TypeA, kind: Success,
			answer: []string{"west.productcatalog.default.global. 5 IN A 198.51.100.20"}},
		{name: "cluster-targeted, cluster not serving it", qname: "west.cart.default.global.", qtype: dns.TypeA,
			kind: NameError, ns: []string{soa}},
		{name: "cluster-targeted AAAA NODATA", qname: "west.productcatalog.default.global.", qtype: dns.TypeAAAA,
			kind: NoData, ns: []string{soa}},
		{name: "SRV: fixed gateway port, service port, additional addresses",
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
		{name: "SRV of a port only one cluster has", qname: "_http._tcp.productcatalog.default.global.",
			qtype: dns.TypeSRV, kind: Success,
			answer: []string{"_http._tcp.productcatalog.default.global. 5 IN SRV 0 1 8080 west.productcatalog.default.global."},
			extra:  []string{"west.productcatalog.default.global. 5 IN A 198.51.100.20"}},
		{name: "SRV unknown port", qname: "_nope._tcp.productcatalog.default.global.", qtype: dns.TypeSRV,
			kind: NameError, ns: []string{soa}},
		{name: "SRV wrong protocol", qname: "_grpc._udp.productcatalog.default.global.", qtype: dns.TypeSRV,
			kind: NameError, ns: []string{soa}},
		{name: "SRV name asked for A", qname: "_grpc._tcp.productcatalog.default.global.", qtype: dns.TypeA,
			kind: NoData, ns: []string{soa}},
		{name: "unnamed port has no SRV", qname: "_tcp.ledger.bank.global.", qtype: dns.TypeSRV,
			kind: NameError, ns: []string{soa}},
		{name: "SRV on the service name is NODATA", qname: "productcatalog.default.global.", qtype: dns.TypeSRV,
			kind: NoData, ns: []string{soa}},
		{name: "empty non-terminal: namespace", qname: "default.global.", qtype: dns.TypeA, kind: NoData, ns: []string{soa}},
		{name: "empty non-terminal: protocol", qname: "_tcp.productcatalog.default.global.", qtype: dns.TypeSRV,
			kind: NoData, ns: []string{soa}},
		{name: "unknown namespace", qname: "kube-system.global.", qtype: dns.TypeA, kind: NameError, ns: []string{soa}},
		{name: "unknown service", qname: "nope.default.global.", qtype: dns.TypeA, kind: NameError, ns: []string{soa}},
		{name: "search-path junk dies here", qname: "web.default.svc.cluster.local.global.", qtype: dns.TypeA,
			kind: NameError, ns: []string{soa}},
		{name: "too deep", qname: "a._grpc._tcp.productcatalog.default.global.", qtype: dns.TypeA,
			kind: NameError, ns: []string{soa}},
		{name: "syncing cluster not served", qname: "hidden.default.global.", qtype: dns.TypeA, kind: NameError, ns: []string{soa}},
		{name: "cluster without gateway address not served", qname: "nowhere.default.global.", qtype: dns.TypeA,
			kind: NameError, ns: []string{soa}},
		{name: "escaped label", qname: `cart\.x.default.global.`, qtype: dns.TypeA, kind: NameError, ns: []string{soa}},
		{name: "empty label", qname: "cart..default.global.", qtype: dns.TypeA, kind: NameError, ns: []string{soa}},
		{name: "apex SOA", qname: "global.", qtype: dns.TypeSOA, kind: Success,
			answer: []string{soa}},
		{name: "apex NS with the server's own address", qname: "global.", qtype: dns.TypeNS, kind: Success,
			answer: []string{"global. 5 IN NS ns.dns.global."},
			extra:  []string{"ns.dns.global. 5 IN A 127.0.0.1"}},
		{name: "apex A is NODATA", qname: "global.", qtype: dns.TypeA, kind: NoData, ns: []string{soa}},
		{name: "name server address", qname: "ns.dns.global.", qtype: dns.TypeA, kind: Success,
			answer: []string{"ns.dns.global. 5 IN A 127.0.0.1"}},
		{name: "name server has no address of the other family", qname: "ns.dns.global.", qtype: dns.TypeAAAA,
			kind: Success, ns: []string{soa}},
		{name: "ANY is one RRset (RFC 8482)", qname: "cart.default.global.", qtype: dns.TypeANY, kind: Success,
			answer: []string{"cart.default.global. 5 IN A 203.0.113.7"}},
		{name: "ANY at the apex", qname: "global.", qtype: dns.TypeANY, kind: Success, answer: []string{soa}},
		{name: "AXFR refused", qname: "global.", qtype: dns.TypeAXFR, kind: Refused},
		{name: "IXFR refused", qname: "global.", qtype: dns.TypeIXFR, kind: Refused},
		{name: "CHAOS class refused", qname: "cart.default.global.", qtype: dns.TypeTXT, qclass: dns.ClassCHAOS, kind: Refused},
		{name: "outside the zone", qname: "example.com.", qtype: dns.TypeA, kind: NotAuth},
		{name: "suffix that is not a label boundary", qname: "xglobal.", qtype: dns.TypeA, kind: NotAuth},
		{name: "TXT explains every serving cluster", qname: "productcatalog.default.global.", qtype: dns.TypeTXT, kind: Success,
			answer: []string{
				`productcatalog.default.global. 5 IN TXT "cluster=east gateway=203.0.113.7,2001:db8::7 port=15443 state=live age=3s source=static locality=us-east1/us-east1-b priority=0"`,
				`productcatalog.default.global. 5 IN TXT "cluster=west gateway=198.51.100.20 port=3550,8080 state=live age=1m0s source=kubeconfig locality=us-west1/us-west1-a priority=0"`,
				`productcatalog.default.global. 5 IN TXT "cluster=old gateway=203.0.113.99 state=stale age=2m0s source=kubeconfig priority=5"`,
			}},
		{name: "TXT of a cluster-targeted name", qname: "old.productcatalog.default.global.", qtype: dns.TypeTXT, kind: Success,
			answer: []string{
				`old.productcatalog.default.global. 5 IN TXT "cluster=old gateway=203.0.113.99 state=stale age=2m0s source=kubeconfig priority=5"`,
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newTestResolver(t, Config{}, testClusters()))
		})
	}
}
