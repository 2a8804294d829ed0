package resolver

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/miekg/dns"
)

// FuzzLookup feeds arbitrary names and types through the name parser and the answer writer:
// nothing may panic, the answer must pack, and case must never change what a name is.
func FuzzLookup(f *testing.F) {
	for _, s := range []string{
		"productcatalog.default.global.", "West.ProductCatalog.Default.Global.",
		"_grpc._tcp.productcatalog.default.global.", "_tcp.productcatalog.default.global.",
		"default.global.", "global.", "ns.dns.global.", "web.default.svc.cluster.local.global.",
		`a\.b.default.global.`, `x\.global.`, "..global.", ".", "", "a..", "\\", "global",
	} {
		f.Add(s, dns.TypeA)
	}
	f.Add("productcatalog.default.global.", dns.TypeTXT)
	f.Add("_grpc._tcp.productcatalog.default.global.", dns.TypeSRV)
	f.Add("global.", dns.TypeANY)
	r := newTestResolver(f, Config{Zones: []string{"global.", "svc.example."}}, testClusters())
	f.Fuzz(func(t *testing.T, name string, qtype uint16) {
		res := r.Lookup(name, qtype, dns.ClassINET)
		upper := string(bytes.ToUpper([]byte(name))) // ASCII and beyond: only ASCII may fold
		if k := r.Lookup(upper, qtype, dns.ClassINET).Kind(); asciiOnly(name) && k != res.Kind() {
			t.Fatalf("%q is %v but %q is %v", name, res.Kind(), upper, k)
		}
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(name), qtype)
		r.Answer(m, m.Question[0], res, netip.MustParseAddr("::1"))
		if _, ok := dns.IsDomainName(name); ok && dns.IsFqdn(m.Question[0].Name) && len(name) < 250 {
			if _, err := m.Pack(); err != nil {
				t.Fatalf("answer for %q does not pack: %v\n%v", name, err, m)
			}
		}
	})
}

func asciiOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
