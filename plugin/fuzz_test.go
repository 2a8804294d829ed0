package plugin

import (
	"testing"

	"github.com/coredns/coredns/plugin/pkg/fuzz"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

// FuzzServeDNS sends arbitrary messages through the handler over a small map. Run it with
// go test -fuzz FuzzServeDNS ./plugin/; the seeds run in every go test.
func FuzzServeDNS(f *testing.F) {
	seeds := []struct {
		name  string
		qtype uint16
	}{
		{"productcatalog.default.global.", dns.TypeA},
		{"ProductCatalog.Default.Global.", dns.TypeAAAA},
		{"east.productcatalog.default.global.", dns.TypeTXT},
		{"_grpc._tcp.productcatalog.default.global.", dns.TypeSRV},
		{"default.global.", dns.TypeA},
		{"global.", dns.TypeANY},
		{"global.", dns.TypeAXFR},
		{"nothere.global.", dns.TypeNS},
		{"web.default.svc.cluster.local.global.", dns.TypeA},
		{"example.org.", dns.TypeA},
	}
	for _, s := range seeds {
		m := test.Case{Qname: s.name, Qtype: s.qtype}.Msg()
		m.SetEdns0(1232, true)
		packed, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(packed)
	}
	h, _ := newTestHandler(f, testClusters())
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzz.Do(h, data)
	})
}
