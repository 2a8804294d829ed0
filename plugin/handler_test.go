package plugin

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"

	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/pkg/fall"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"

	"github.com/peerdns/peerdns/resolver"
)

// testClusters is a small map: two clusters serving productcatalog, one IPv4-only service.
func testClusters() []resolver.Cluster {
	gw := func(ss ...string) resolver.Gateway {
		var g resolver.Gateway
		for _, s := range ss {
			g.Addresses = append(g.Addresses, netip.MustParseAddr(s))
		}
		return g
	}
	return []resolver.Cluster{
		{Name: "east", Source: "static", Gateway: gw("203.0.113.7", "2001:db8::7"),
			Services: []resolver.Service{
				{Name: "productcatalog", Namespace: "default"},
				{Name: "cart", Namespace: "default"},
			}},
		{Name: "west", Source: "static", Gateway: gw("198.51.100.20"),
			Services: []resolver.Service{
				{Name: "productcatalog", Namespace: "default"},
				{Name: "ledger", Namespace: "bank"},
			}},
	}
}

// newTestHandler returns a handler over clusters (none published when clusters is nil) whose
// next plugin records that it was called.
func newTestHandler(t testing.TB, clusters []resolver.Cluster) (*PeerDNS, *bool) {
	t.Helper()
	r := resolver.New(resolver.Config{Zones: []string{"global."}})
	if clusters != nil {
		if _, err := r.Publish(resolver.Map{Clusters: clusters}); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	called := new(bool)
	next := test.HandlerFunc(func(context.Context, dns.ResponseWriter, *dns.Msg) (int, error) {
		*called = true
		return dns.RcodeRefused, nil
	})
	return &PeerDNS{Next: next, resolver: r}, called
}

const testSOA = "global. 5 IN SOA ns.dns.global. hostmaster.global. 1 7200 1800 86400 5"

func TestServeDNS(t *testing.T) {
	h, called := newTestHandler(t, testClusters())
	cases := []test.Case{
		{Qname: "productcatalog.default.global.", Qtype: dns.TypeA, Authoritative: true,
			Answer: []dns.RR{
				test.A("productcatalog.default.global. 5 IN A 198.51.100.20"),
				test.A("productcatalog.default.global. 5 IN A 203.0.113.7"),
			}},
		{Qname: "ProductCatalog.Default.GLOBAL.", Qtype: dns.TypeAAAA, Authoritative: true,
			Answer: []dns.RR{test.AAAA("ProductCatalog.Default.GLOBAL. 5 IN AAAA 2001:db8::7")}},
		{Qname: "east.productcatalog.default.global.", Qtype: dns.TypeA, Authoritative: true,
			Answer: []dns.RR{test.A("east.productcatalog.default.global. 5 IN A 203.0.113.7")}},
		{Qname: "ledger.bank.global.", Qtype: dns.TypeAAAA, Authoritative: true,
			Ns: []dns.RR{test.SOA(testSOA)}},
		{Qname: "bank.global.", Qtype: dns.TypeA, Authoritative: true,
			Ns: []dns.RR{test.SOA(testSOA)}},
		{Qname: "nothere.default.global.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError,
			Authoritative: true, Ns: []dns.RR{test.SOA(testSOA)}},
		{Qname: "web.default.svc.cluster.local.global.", Qtype: dns.TypeA,
			Rcode: dns.RcodeNameError, Authoritative: true, Ns: []dns.RR{test.SOA(testSOA)}},
		{Qname: "global.", Qtype: dns.TypeSOA, Authoritative: true,
			Answer: []dns.RR{test.SOA(testSOA)}},
		{Qname: "global.", Qtype: dns.TypeAXFR, Rcode: dns.RcodeRefused},
	}
	for _, tc := range cases {
		t.Run(dns.TypeToString[tc.Qtype]+" "+tc.Qname, func(t *testing.T) {
			*called = false
			rec := dnstest.NewRecorder(&test.ResponseWriter{})
			rcode, err := h.ServeDNS(context.Background(), rec, tc.Msg())
			if err != nil || rcode != dns.RcodeSuccess {
				t.Fatalf("ServeDNS returned %d, %v; want the answer written and 0, nil", rcode, err)
			}
			if *called {
				t.Fatal("next plugin called for a name in the zone")
			}
			checkReply(t, rec.Msg, tc)
		})
	}
}

// checkReply compares a written reply with tc, AA bit included.
func checkReply(t *testing.T, m *dns.Msg, tc test.Case) {
	t.Helper()
	if m == nil {
		t.Fatal("no reply written")
	}
	if err := test.SortAndCheck(m, tc); err != nil {
		t.Error(err)
	}
	if m.Authoritative != tc.Authoritative {
		t.Errorf("AA is %t, want %t", m.Authoritative, tc.Authoritative)
	}
	if !m.Response || len(m.Question) != 1 || m.Question[0].Name != dns.Fqdn(tc.Qname) {
		t.Errorf("reply does not answer the question: %v", m.Question)
	}
}

func TestServeDNSSOASerialIsGeneration(t *testing.T) {
	h, _ := newTestHandler(t, testClusters())
	if _, err := h.resolver.Publish(resolver.Map{Clusters: testClusters()}); err != nil {
		t.Fatal(err)
	}
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	req := test.Case{Qname: "missing.default.global.", Qtype: dns.TypeA}.Msg()
	if _, err := h.ServeDNS(context.Background(), rec, req); err != nil {
		t.Fatal(err)
	}
	if len(rec.Msg.Ns) != 1 {
		t.Fatalf("authority section: %v", rec.Msg.Ns)
	}
	if soa, ok := rec.Msg.Ns[0].(*dns.SOA); !ok || soa.Serial != 2 || soa.Minttl != 5 {
		t.Errorf("SOA %v, want serial 2 (second map) and minimum 5", rec.Msg.Ns[0])
	}
}

func TestServeDNSOutsideZone(t *testing.T) {
	h, called := newTestHandler(t, testClusters())
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	req := test.Case{Qname: "example.org.", Qtype: dns.TypeA}.Msg()
	rcode, err := h.ServeDNS(context.Background(), rec, req)
	if !*called || rcode != dns.RcodeRefused || err != nil {
		t.Errorf("next called %t, returned %d, %v; want the next plugin's answer", *called, rcode, err)
	}
	if rec.Msg != nil {
		t.Errorf("peerdns wrote a reply for a name outside its zones: %v", rec.Msg)
	}
}

func TestServeDNSNoNextPlugin(t *testing.T) {
	h, _ := newTestHandler(t, testClusters())
	h.Next = nil
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	rcode, err := h.ServeDNS(context.Background(), rec, test.Case{Qname: "example.org.", Qtype: dns.TypeA}.Msg())
	// The server writes REFUSED for the returned code: a stand-alone server never recurses.
	if rcode != dns.RcodeRefused || err != nil || rec.Msg != nil {
		t.Errorf("returned %d, %v, wrote %v; want REFUSED for the server to write", rcode, err, rec.Msg)
	}
}

func TestServeDNSFallthrough(t *testing.T) {
	cases := []struct {
		name  string
		fall  []string
		qname string
		next  bool
	}{
		{"every zone, nxdomain", nil, "nothere.default.global.", true},
		{"listed zone, nxdomain", []string{"default.global."}, "nothere.default.global.", true},
		{"other zone, nxdomain", []string{"bank.global."}, "nothere.default.global.", false},
		{"known name is answered", nil, "cart.default.global.", false},
		{"case of the question ignored", []string{"default.global."}, "NotHere.DEFAULT.Global.", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, called := newTestHandler(t, testClusters())
			h.Fall.SetZonesFromArgs(tc.fall)
			rec := dnstest.NewRecorder(&test.ResponseWriter{})
			_, err := h.ServeDNS(context.Background(), rec, test.Case{Qname: tc.qname, Qtype: dns.TypeA}.Msg())
			if err != nil {
				t.Fatal(err)
			}
			if *called != tc.next {
				t.Errorf("next plugin called %t, want %t", *called, tc.next)
			}
			if tc.next == (rec.Msg != nil) {
				t.Errorf("reply written %t, want %t", rec.Msg != nil, !tc.next)
			}
		})
	}
}

func TestServeDNSNotReady(t *testing.T) {
	h, called := newTestHandler(t, nil)
	h.Fall = fall.Root
	for _, qname := range []string{"productcatalog.default.global.", "nothere.global."} {
		rec := dnstest.NewRecorder(&test.ResponseWriter{})
		rcode, err := h.ServeDNS(context.Background(), rec, test.Case{Qname: qname, Qtype: dns.TypeA}.Msg())
		if rcode != dns.RcodeSuccess || err != nil || *called {
			t.Fatalf("%s: returned %d, %v, next called %t; want SERVFAIL written here", qname, rcode, err, *called)
		}
		checkReply(t, rec.Msg, test.Case{Qname: qname, Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure})
	}
}

func TestServeDNSNoQuestion(t *testing.T) {
	h, called := newTestHandler(t, testClusters())
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	if _, err := h.ServeDNS(context.Background(), rec, new(dns.Msg)); err != nil || !*called {
		t.Errorf("a message without a question: %v, next called %t; want it passed on", err, *called)
	}
}

// addrWriter is a ResponseWriter with a given local address.
type addrWriter struct {
	test.ResponseWriter
	local net.Addr
}

func (w *addrWriter) LocalAddr() net.Addr { return w.local }

func TestLocalAddr(t *testing.T) {
	cases := []struct {
		w    dns.ResponseWriter
		want string
	}{
		{&test.ResponseWriter{}, "127.0.0.1"},
		{&test.ResponseWriter{TCP: true}, "127.0.0.1"},
		{&test.ResponseWriter6{}, "::1"},
		{&addrWriter{local: &net.UDPAddr{IP: net.ParseIP("::ffff:192.0.2.1"), Port: 53}}, "192.0.2.1"},
		{&addrWriter{local: &net.UDPAddr{IP: net.IPv4zero, Port: 53}}, "invalid IP"},
		{&addrWriter{local: &net.TCPAddr{IP: net.IPv6unspecified, Port: 53}}, "invalid IP"},
		{&addrWriter{local: &net.IPAddr{IP: net.ParseIP("2001:db8::1")}}, "invalid IP"},
		{&addrWriter{local: nil}, "invalid IP"},
	}
	for _, tc := range cases {
		if got := localAddr(tc.w); got.String() != tc.want {
			t.Errorf("localAddr(%v) = %v, want %s", tc.w.LocalAddr(), got, tc.want)
		}
	}
}

func TestLocalAddrDoesNotAllocate(t *testing.T) {
	w := &addrWriter{local: &net.UDPAddr{IP: net.ParseIP("127.0.0.1"), Port: 53}}
	if n := testing.AllocsPerRun(100, func() { localAddr(w) }); n != 0 {
		t.Errorf("localAddr allocates %v times", n)
	}
}

// TestServeDNSConcurrent queries from several goroutines, on two servers, while maps are
// published: run with -race.
func TestServeDNSConcurrent(t *testing.T) {
	h, _ := newTestHandler(t, testClusters())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 50 {
			if _, err := h.resolver.Publish(resolver.Map{Clusters: testClusters()}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			srv := &dnsserver.Server{Addr: fmt.Sprintf("dns://:%d", 1053+i%2)}
			ctx := context.WithValue(context.Background(), dnsserver.Key{}, srv)
			for range 200 {
				rec := dnstest.NewRecorder(&test.ResponseWriter{})
				req := test.Case{Qname: "productcatalog.default.global.", Qtype: dns.TypeA}.Msg()
				if _, err := h.ServeDNS(ctx, rec, req); err != nil || len(rec.Msg.Answer) != 2 {
					t.Errorf("answer %v, error %v", rec.Msg, err)
					return
				}
			}
		})
	}
	wg.Wait()
	<-done
}
