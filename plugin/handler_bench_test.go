package plugin

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	_ "github.com/coredns/coredns/plugin/hosts" // the yardstick: CoreDNS's own in-memory plugin
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"

	"github.com/peerdns/peerdns/resolver"
)

// benchServices is the size of the map the query path is measured on.
const benchServices = 10000

var benchGateways = []string{"203.0.113.7", "198.51.100.20"}

// benchClusters returns two IPv4-only clusters that both serve svc<i>.ns<i%100> for every i.
func benchClusters() []resolver.Cluster {
	services := make([]resolver.Service, benchServices)
	for i := range services {
		services[i] = resolver.Service{Name: fmt.Sprintf("svc%d", i), Namespace: fmt.Sprintf("ns%d", i%100)}
	}
	var clusters []resolver.Cluster
	for i, gw := range benchGateways {
		clusters = append(clusters, resolver.Cluster{
			Name: fmt.Sprintf("c%d", i), Source: "static", Services: services,
			Gateway: resolver.Gateway{Addresses: []netip.Addr{netip.MustParseAddr(gw)}},
		})
	}
	return clusters
}

// benchHosts returns CoreDNS's hosts plugin serving the same names and addresses from inline
// entries, set up through its own Corefile parser.
func benchHosts(b testing.TB) plugin.Handler {
	b.Helper()
	var sb strings.Builder
	sb.WriteString("hosts /nonexistent/hosts global {\n")
	for i := range benchServices {
		for _, gw := range benchGateways {
			fmt.Fprintf(&sb, "%s svc%d.ns%d.global\n", gw, i, i%100)
		}
	}
	sb.WriteString("}\n")
	c := caddy.NewTestController("dns", sb.String())
	setupHosts, err := caddy.DirectiveAction("dns", "hosts")
	if err != nil {
		b.Fatal(err)
	}
	if err := setupHosts(c); err != nil {
		b.Fatal(err)
	}
	return dnsserver.GetConfig(c).Plugin[0](nil)
}

// BenchmarkServeDNS measures one query through the handler on a map of 10,000 services, for
// peerdns and for CoreDNS's hosts plugin with the same names:
//
//	go test -run XXX -bench ServeDNS -benchmem ./plugin/
func BenchmarkServeDNS(b *testing.B) {
	h, _ := newTestHandler(b, benchClusters())
	handlers := []struct {
		name string
		h    plugin.Handler
	}{{"peerdns", h}, {"hosts", benchHosts(b)}}
	cases := []struct {
		name  string
		qname string
		qtype uint16
	}{
		{"A", "svc4242.ns42.global.", dns.TypeA},
		{"AAAA-nodata", "svc4242.ns42.global.", dns.TypeAAAA},
		{"NXDOMAIN", "nothere.ns42.global.", dns.TypeA},
	}
	ctx := context.Background()
	// A writer whose local address is fixed, as a server's socket is: test.ResponseWriter parses
	// one per call, which would be measured instead of the handlers.
	w := &addrWriter{local: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53}}
	for _, tc := range cases {
		for _, hd := range handlers {
			b.Run(tc.name+"/"+hd.name, func(b *testing.B) {
				r := test.Case{Qname: tc.qname, Qtype: tc.qtype}.Msg()
				b.ReportAllocs()
				for b.Loop() {
					hd.h.ServeDNS(ctx, w, r)
				}
			})
		}
	}
}

// TestBenchHandlersAgree checks that the benchmark compares like with like: both handlers
// answer the A question with the same two addresses.
func TestBenchHandlersAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two maps of 10,000 services")
	}
	h, _ := newTestHandler(t, benchClusters())
	for _, hd := range []plugin.Handler{h, benchHosts(t)} {
		rec := dnstest.NewRecorder(&test.ResponseWriter{})
		r := test.Case{Qname: "svc4242.ns42.global.", Qtype: dns.TypeA}.Msg()
		if _, err := hd.ServeDNS(context.Background(), rec, r); err != nil {
			t.Fatal(err)
		}
		checkReply(t, rec.Msg, test.Case{Qname: "svc4242.ns42.global.", Qtype: dns.TypeA,
			Authoritative: true, Answer: []dns.RR{
				test.A("svc4242.ns42.global. 303 IN A 198.51.100.20"),
				test.A("svc4242.ns42.global. 303 IN A 203.0.113.7"),
			}})
	}
}
