package sync

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/peerdns/peerdns/resolver"
)

const demoFile = "../deploy/examples/peers.yaml"

// writeFile writes content to name in dir and returns its path.
func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadStaticDemo(t *testing.T) {
	clusters, err := LoadStatic(demoFile)
	if err != nil {
		t.Fatalf("LoadStatic(%s): %v", demoFile, err)
	}
	type summary struct {
		name     string
		addrs    string
		port     uint16
		locality resolver.Locality
		priority int
		services int
	}
	want := []summary{
		{"east", "[203.0.113.7 2001:db8::7]", 15443, resolver.Locality{Region: "us-east1", Zone: "us-east1-b"}, 0, 8},
		{"west", "[198.51.100.20]", 15443, resolver.Locality{Region: "us-west1", Zone: "us-west1-a"}, 0, 7},
		{"vm-billing", "[203.0.113.50]", 0, resolver.Locality{Region: "us-east1", Zone: "us-east1-c"}, 10, 1},
	}
	var got []summary
	for _, c := range clusters {
		if c.Source != "static" || c.State != resolver.Live {
			t.Errorf("cluster %s: source %q state %v, want static live", c.Name, c.Source, c.State)
		}
		got = append(got, summary{c.Name, sprintAddrs(c.Gateway.Addresses),
			c.Gateway.Port, c.Locality, c.Priority, len(c.Services)})
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("demo clusters:\n got %+v\nwant %+v", got, want)
	}
	redis := clusters[0].Services[2]
	wantRedis := resolver.Service{Name: "redis-cart", Namespace: "default",
		Ports: []resolver.Port{{Name: "tcp-redis", Port: 6379, Protocol: "TCP"}}}
	if !reflect.DeepEqual(redis, wantRedis) {
		t.Errorf("east's third service = %+v, want %+v", redis, wantRedis)
	}

	// The resolver takes the demo map whole.
	snap, err := resolver.New(resolver.Config{}).Publish(resolver.Map{Clusters: clusters})
	if err != nil {
		t.Fatalf("Publish(demo): %v", err)
	}
	if snap.Clusters() != 3 {
		t.Errorf("snapshot has %d clusters, want 3", snap.Clusters())
	}
}

func sprintAddrs(addrs []netip.Addr) string {
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return "[" + strings.Join(s, " ") + "]"
}

func TestLoadStaticValid(t *testing.T) {
	tests := []struct {
		name, in string
		want     []resolver.Cluster
	}{
		{"no clusters", "clusters: []\n", []resolver.Cluster{}},
		{"minimal", "clusters:\n- name: a\n  gateway: {addresses: [203.0.113.1]}\n",
			[]resolver.Cluster{cluster("a", resolver.Gateway{Addresses: addrs("203.0.113.1")})}},
		{"hostname lower-cased, trailing dot dropped",
			"clusters:\n- name: a\n  gateway: {hostname: LB.Example.COM., port: 15443}\n",
			[]resolver.Cluster{cluster("a", resolver.Gateway{Hostname: "lb.example.com", Port: 15443})}},
		{"mapped IPv4 unmapped", "clusters:\n- name: a\n  gateway: {addresses: ['::ffff:203.0.113.1']}\n",
			[]resolver.Cluster{cluster("a", resolver.Gateway{Addresses: addrs("203.0.113.1")})}},
		{"protocol upper-cased, TCP by default",
			"clusters:\n- name: a\n  gateway: {addresses: [2001:db8::1]}\n  services:\n" +
				"  - {name: dns, namespace: kube-dns, ports: [{name: dns, port: 53, protocol: udp}, {port: 53}]}\n",
			[]resolver.Cluster{cluster("a", resolver.Gateway{Addresses: addrs("2001:db8::1")},
				resolver.Service{Name: "dns", Namespace: "kube-dns", Ports: []resolver.Port{
					{Name: "dns", Port: 53, Protocol: "UDP"}, {Port: 53, Protocol: "TCP"}}})}},
		{"null optional keys", "clusters:\n- name: a\n  gateway: {addresses: [203.0.113.1]}\n  locality:\n  services:\n",
			[]resolver.Cluster{cluster("a", resolver.Gateway{Addresses: addrs("203.0.113.1")})}},
		{"anchors and aliases",
			"clusters:\n- name: a\n  gateway: &gw {addresses: [203.0.113.1]}\n  services: &svcs [{name: web, namespace: shop}]\n" +
				"- name: b\n  gateway: *gw\n  services: *svcs\n",
			[]resolver.Cluster{
				cluster("a", resolver.Gateway{Addresses: addrs("203.0.113.1")}, resolver.Service{Name: "web", Namespace: "shop"}),
				cluster("b", resolver.Gateway{Addresses: addrs("203.0.113.1")}, resolver.Service{Name: "web", Namespace: "shop"}),
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "peers.yaml", tt.in)
			got, err := LoadStatic(path)
			if err != nil {
				t.Fatalf("LoadStatic: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("LoadStatic:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func cluster(name string, gw resolver.Gateway, services ...resolver.Service) resolver.Cluster {
	return resolver.Cluster{Name: name, Source: "static", State: resolver.Live, Gateway: gw, Services: services}
}

func addrs(s ...string) []netip.Addr {
	out := make([]netip.Addr, len(s))
	for i, a := range s {
		out[i] = netip.MustParseAddr(a)
	}
	return out
}
