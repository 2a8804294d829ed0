package kubetest

import (
	"context"
	"net/netip"
	"reflect"
	"runtime"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/peerdns/peerdns/resolver"
	peersync "github.com/peerdns/peerdns/sync"
	"github.com/peerdns/peerdns/test/testbed"
)

// startPeers runs a PeerSet with one peer per cluster, as its admin.
func startPeers(t *testing.T, opts peersync.PeerOptions, clusters ...*testbed.Cluster) *peersync.PeerSet {
	t.Helper()
	set := peersync.NewPeerSet("kubeconfig", opts)
	var specs []peersync.PeerSpec
	for _, c := range clusters {
		specs = append(specs, peersync.PeerSpec{Name: c.Name, Config: c.Config(), Hash: "admin"})
	}
	set.SetPeers(specs)
	set.Discovered()
	run(t, set)
	return set
}

func TestServicesFollowThePeer(t *testing.T) {
	t.Parallel()
	east, _ := peers(t)
	ns := newNamespace(t, east, "shop-")
	gw := createGateway(t, east, nil, "203.0.113.7")
	createService(t, east, ns, "web", nil, "http:80", "grpc:9090")
	createService(t, east, ns, "hidden", map[string]string{peersync.ExportLabel: "false"})
	set := startPeers(t, peersync.PeerOptions{Gateway: gw, Namespaces: []string{ns}}, east)

	c := waitCluster(t, set, "east", "live with web", serves(ns+"/web"))
	wantPorts := []resolver.Port{{Name: "http", Port: 80, Protocol: "TCP"}, {Name: "grpc", Port: 9090, Protocol: "TCP"}}
	if !reflect.DeepEqual(c.Services[0].Ports, wantPorts) {
		t.Errorf("web's ports %+v, want %+v", c.Services[0].Ports, wantPorts)
	}
	wantGW := resolver.Gateway{Addresses: []netip.Addr{netip.MustParseAddr("203.0.113.7")}, Port: 15443}
	if !reflect.DeepEqual(c.Gateway, wantGW) || c.Source != "kubeconfig" {
		t.Errorf("gateway %+v source %q, want %+v from kubeconfig", c.Gateway, c.Source, wantGW)
	}

	start := time.Now()
	createService(t, east, ns, "api", nil)
	waitCluster(t, set, "east", "api created", serves(ns+"/api", ns+"/web"))
	t.Logf("a created service reached Clusters in %v", time.Since(start))
	deleteService(t, east, ns, "web")
	waitCluster(t, set, "east", "web deleted", serves(ns+"/api"))
	if _, ok := set.TakeChanges(); !ok {
		t.Error("TakeChanges after events: none")
	}
}

// By default every namespace is exported but the system ones and the gateway's.
func TestDefaultExport(t *testing.T) {
	t.Parallel()
	east, _ := peers(t)
	ns := newNamespace(t, east, "default-export-")
	gw := createGateway(t, east, nil, "203.0.113.7")
	name := "probe-" + ns // unique in every namespace of east
	createService(t, east, ns, name, nil)
	createService(t, east, "kube-system", name, nil)
	createService(t, east, gw.Namespace, name, nil)
	set := startPeers(t, peersync.PeerOptions{Gateway: gw}, east)

	c := waitCluster(t, set, "east", "live with the probe", func(c resolver.Cluster) bool {
		return c.State == resolver.Live && slices.Contains(serviceKeys(c), ns+"/"+name)
	})
	for _, s := range c.Services {
		if s.Name == name && s.Namespace != ns {
			t.Errorf("%s/%s exported", s.Namespace, s.Name)
		}
	}
}

func TestExportSelectorAndNamespaces(t *testing.T) {
	t.Parallel()
	east, _ := peers(t)
	a, b, other := newNamespace(t, east, "sel-a-"), newNamespace(t, east, "sel-b-"), newNamespace(t, east, "sel-c-")
	gw := createGateway(t, east, nil, "203.0.113.7")
	team := map[string]string{"team": "x"}
	createService(t, east, a, "in", team)
	createService(t, east, a, "out", map[string]string{"team": "y"})
	createService(t, east, b, "in", team)
	createService(t, east, other, "in", team)
	createService(t, east, a, "off", map[string]string{"team": "x", peersync.ExportLabel: "false"})
	sel, err := labels.Parse("team=x")
	if err != nil {
		t.Fatal(err)
	}
	set := startPeers(t, peersync.PeerOptions{Gateway: gw, ExportSelector: sel, Namespaces: []string{a, b}}, east)
	waitCluster(t, set, "east", "a/in and b/in", serves(a+"/in", b+"/in"))

	// A label change moves a Service in and out of the selection.
	createService(t, east, b, "later", map[string]string{"team": "y"})
	relabel(t, east, b, "later", map[string]string{"team": "x"})
	waitCluster(t, set, "east", "b/later selected", serves(a+"/in", b+"/in", b+"/later"))
	relabel(t, east, b, "later", map[string]string{"team": "x", peersync.ExportLabel: "false"})
	waitCluster(t, set, "east", "b/later export=false", serves(a+"/in", b+"/in"))
}

// The gateway's addresses follow its status, IPs and hostnames both.
func TestGatewayFollowsTheLoadBalancer(t *testing.T) {
	t.Parallel()
	east, _ := peers(t)
	ns := newNamespace(t, east, "gw-follow-")
	createService(t, east, ns, "web", nil)
	gw := createGateway(t, east, map[string]string{"topology.kubernetes.io/region": "us-east1"}, "203.0.113.7")
	dns := &fakeDNS{answers: map[string][]string{"lb.example.com": {"198.51.100.1"}, "lb2.example.com": {"198.51.100.2"}}}
	set := startPeers(t, peersync.PeerOptions{
		Gateway: gw, Namespaces: []string{ns}, Lookup: dns.lookup, Resolve: 50 * time.Millisecond,
	}, east)
	c := waitCluster(t, set, "east", "203.0.113.7", gatewayIs("", "203.0.113.7"))
	if c.Locality.Region != "us-east1" {
		t.Errorf("locality %+v, want region us-east1", c.Locality)
	}

	setIngress(t, east, gw, "203.0.113.8", "2001:db8::8")
	waitCluster(t, set, "east", "the new IPs", gatewayIs("", "203.0.113.8", "2001:db8::8"))

	setIngress(t, east, gw, "host:lb.example.com")
	waitCluster(t, set, "east", "the hostname's address", gatewayIs("lb.example.com", "198.51.100.1"))

	dns.set("lb.example.com", "198.51.100.9")
	waitCluster(t, set, "east", "the hostname's new address", gatewayIs("lb.example.com", "198.51.100.9"))

	setIngress(t, east, gw, "host:lb2.example.com")
	waitCluster(t, set, "east", "another hostname", gatewayIs("lb2.example.com", "198.51.100.2"))

	setIngress(t, east, gw)
	c = waitCluster(t, set, "east", "no address", gatewayIs(""))
	if c.State != resolver.Live || len(c.Services) != 1 {
		t.Errorf("a gateway without address changed the peer: %v %v", c.State, serviceKeys(c))
	}
}

func gatewayIs(hostname string, want ...string) func(resolver.Cluster) bool {
	return func(c resolver.Cluster) bool {
		var got []string
		for _, a := range c.Gateway.Addresses {
			got = append(got, a.String())
		}
		return c.Gateway.Hostname == hostname && slices.Equal(got, want)
	}
}

// fakeDNS answers gateway hostname lookups from a table the test changes.
type fakeDNS struct {
	mu      gosync.Mutex
	answers map[string][]string
}

func (f *fakeDNS) lookup(_ context.Context, host string) ([]netip.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []netip.Addr
	for _, a := range f.answers[host] {
		out = append(out, netip.MustParseAddr(a))
	}
	return out, nil
}

func (f *fakeDNS) set(host string, addrs ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[host] = addrs
}

// Stopping a set ends every goroutine it started: peers, informers, heartbeats and the
// connections to the API servers. Not parallel: the parallel tests wait until it is done.
func TestStopLeavesNothing(t *testing.T) {
	east, west := peers(t)
	ns := newNamespace(t, east, "stop-")
	createService(t, east, ns, "web", nil)
	ours := func(stack string) bool {
		return strings.Contains(stack, "peerdns/sync.") || strings.Contains(stack, "client-go/tools/cache.")
	}
	conns := func(stack string) bool {
		return strings.Contains(stack, "net/http.(*persistConn)") || strings.Contains(stack, "x/net/http2.")
	}
	before := countGoroutines(conns)
	ctx, cancel := context.WithCancel(context.Background())
	set := peersync.NewPeerSet("kubeconfig", peersync.PeerOptions{Namespaces: []string{ns}, Heartbeat: 50 * time.Millisecond})
	set.SetPeers([]peersync.PeerSpec{
		{Name: "east", Config: east.Config(), Hash: "1"}, {Name: "west", Config: west.Config(), Hash: "1"}})
	set.Discovered()
	done := make(chan struct{})
	go func() {
		defer close(done)
		set.Run(ctx, func() {})
	}()
	waitCluster(t, set, "east", "live", serves(ns+"/web"))
	waitCluster(t, set, "west", "live", inState(resolver.Live))
	t.Logf("goroutines before %d connections, running %d and %d of the set", before, countGoroutines(conns), countGoroutines(ours))
	cancel()
	<-done
	waitFor(t, "no goroutine of the set", func() bool { return countGoroutines(ours) == 0 })
	waitFor(t, "no connection of the set", func() bool { return countGoroutines(conns) <= before })
}

// countGoroutines counts the goroutines whose stack matches.
func countGoroutines(match func(stack string) bool) int {
	buf := make([]byte, 4<<20)
	n := 0
	for g := range strings.SplitSeq(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if match(g) {
			n++
		}
	}
	return n
}
