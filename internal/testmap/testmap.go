// Package testmap generates peer maps of any size for benchmarks and load tests.
package testmap

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/peerdns/peerdns/resolver"
)

// Clusters returns n clusters serving services services in all, spread round-robin: service i is
// "svc-<i>" in namespace "ns-<i%100>" and runs in cluster i%n. Every cluster has one IPv4 gateway
// address from 198.51.100.0/24 or 203.0.113.0/24 (documentation ranges) and a fixed port, so
// AAAA questions are NODATA. shared of every 10 services also run in a second cluster.
func Clusters(n, services, shared int) []resolver.Cluster {
	out := make([]resolver.Cluster, n)
	for c := range out {
		net := 198
		if c%2 == 1 {
			net = 203
		}
		out[c] = resolver.Cluster{
			Name:    fmt.Sprintf("cluster-%d", c),
			Source:  "static",
			Updated: time.Now(),
			Gateway: resolver.Gateway{
				Addresses: []netip.Addr{gatewayAddr(net, c)},
				Port:      15443,
			},
		}
	}
	for i := range services {
		svc := Service(i)
		out[i%n].Services = append(out[i%n].Services, svc)
		if n > 1 && i%10 < shared {
			out[(i+1)%n].Services = append(out[(i+1)%n].Services, svc)
		}
	}
	return out
}

// Service returns service i of the generated map.
func Service(i int) resolver.Service {
	return resolver.Service{
		Name:      fmt.Sprintf("svc-%d", i),
		Namespace: fmt.Sprintf("ns-%d", i%100),
		Ports:     []resolver.Port{{Name: "grpc", Port: 8080, Protocol: "TCP"}},
	}
}

// Name returns the query name of service i in zone "global.".
func Name(i int) string { return fmt.Sprintf("svc-%d.ns-%d.global.", i, i%100) }

func gatewayAddr(net, c int) netip.Addr {
	if net == 198 {
		return netip.AddrFrom4([4]byte{198, 51, 100, byte(c)})
	}
	return netip.AddrFrom4([4]byte{203, 0, 113, byte(c)})
}
