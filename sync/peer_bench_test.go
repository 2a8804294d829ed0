package sync

import (
	"fmt"
	"runtime"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/peerdns/peerdns/resolver"
)

// manyServices returns n exported Services in 50 namespaces, with two named ports each.
func manyServices(n int) []*corev1.Service {
	out := make([]*corev1.Service, n)
	for i := range out {
		out[i] = svc(fmt.Sprintf("ns-%02d", i%50), fmt.Sprintf("svc-%05d", i), []string{"http:80", "grpc:9090"}, "app=x")
	}
	return out
}

// The cost of one change in a peer of 5,000 services: rebuilding its sorted services from the
// informer's cache (what Clusters does after an event).
func BenchmarkPeerRebuild(b *testing.B) {
	f := newFakeClusters()
	spec, _ := f.add("east", append(manyServices(5000), gatewaySvc("203.0.113.7"))...)
	s := startSet(b, f, PeerOptions{}, spec)
	s.wait(b, "east", "live with 5000 services", func(c resolver.Cluster) bool { return len(c.Services) == 5000 })
	p := s.peer("east")
	w := p.live.Load()
	b.ReportAllocs()
	for b.Loop() {
		w.dirty.Store(true)
		p.cluster()
	}
}

// What the informer cache holds per Service once transformed, against the Service itself.
func BenchmarkTransformService(b *testing.B) {
	rules := newExportRules(PeerOptions{Gateway: defaultGateway})
	services := manyServices(5000)
	var keep []any
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, s := range services {
		c, _ := rules.transformService(s)
		keep = append(keep, c)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_, _ = rules.transformService(services[i%len(services)])
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(len(keep)), "cached-B/service")
	runtime.KeepAlive(keep)
}
