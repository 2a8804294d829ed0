package resolver_test

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/peerdns/peerdns/internal/testmap"
	"github.com/peerdns/peerdns/resolver"
)

// BenchmarkLookup measures the lookup alone (no message building) on a map of 10,000 services
// over 5 clusters: it must not allocate.
func BenchmarkLookup(b *testing.B) {
	r := resolver.New(resolver.Config{})
	if _, err := r.Publish(resolver.Map{Clusters: testmap.Clusters(5, 10000, 2)}); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name, qname string
		qtype       uint16
	}{
		{"hit", testmap.Name(4242), dns.TypeA},
		{"hit-mixed-case", "SVC-4242.NS-42.Global.", dns.TypeA},
		{"nodata", testmap.Name(4242), dns.TypeAAAA},
		{"nxdomain", "web.default.svc.cluster.local.global.", dns.TypeA},
		{"srv", "_grpc._tcp." + testmap.Name(4242), dns.TypeSRV},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r.Lookup(bc.qname, bc.qtype, dns.ClassINET)
			}
		})
	}
}

// BenchmarkLookupAnswer measures lookup plus writing the answer records into a message.
func BenchmarkLookupAnswer(b *testing.B) {
	r := resolver.New(resolver.Config{})
	if _, err := r.Publish(resolver.Map{Clusters: testmap.Clusters(5, 10000, 2)}); err != nil {
		b.Fatal(err)
	}
	local := netip.MustParseAddr("127.0.0.1")
	for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeSRV} {
		qname := testmap.Name(4241) // served by two clusters
		if qtype == dns.TypeSRV {
			qname = "_grpc._tcp." + qname
		}
		q := dns.Question{Name: qname, Qtype: qtype, Qclass: dns.ClassINET}
		b.Run(dns.TypeToString[qtype], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m := new(dns.Msg)
				r.Answer(m, q, r.Lookup(q.Name, q.Qtype, q.Qclass), local)
			}
		})
	}
}

// BenchmarkBuild measures building a whole map from nothing, as at startup.
func BenchmarkBuild(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		m := resolver.Map{Clusters: testmap.Clusters(20, n, 2)}
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := resolver.Build(resolver.Config{}, 1, m, time.Now()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPublishChange measures publishing a map that differs from the one served by one
// change of one of 20 peers, on 100,000 services: what an event in a peer cluster costs.
func BenchmarkPublishChange(b *testing.B) {
	const peers, services = 20, 100000
	base := testmap.Clusters(peers, services, 2)
	oneMore := slices.Clone(base)
	oneMore[7].Services = append(slices.Clip(base[7].Services), testmap.Service(services+1))
	newGateway := slices.Clone(base)
	newGateway[7].Gateway.Addresses = []netip.Addr{netip.MustParseAddr("198.51.100.250")}
	for _, bc := range []struct {
		name   string
		change []resolver.Cluster
	}{
		{"service-added", oneMore},
		{"gateway-changed", newGateway},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			r := resolver.New(resolver.Config{})
			maps := [2]resolver.Map{{Clusters: base}, {Clusters: bc.change}}
			if _, err := r.Publish(maps[0]); err != nil {
				b.Fatal(err)
			}
			i := 1
			for b.Loop() {
				if _, err := r.Publish(maps[i%2]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
