package sync

import (
	"context"
	"errors"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	"github.com/peerdns/peerdns/resolver"
)

func TestPeerServices(t *testing.T) {
	f := newFakeClusters()
	spec, kube := f.add("east", gatewaySvc("203.0.113.7"),
		svc("shop", "web", []string{"http:80", "grpc:9090"}),
		svc("shop", "cart", []string{":8080"}),
		svc("kube-system", "kube-dns", []string{"dns:53"}),
		svc("shop", "hidden", nil, "peerdns.io/export=false"))
	s := startSet(t, f, PeerOptions{}, spec)

	c := s.wait(t, "east", "live with shop/cart and shop/web", hasServices("shop/cart", "shop/web"))
	if c.State != resolver.Live || c.Source != "kubeconfig" || c.Updated.IsZero() {
		t.Errorf("east is %v from %q updated %v, want live from kubeconfig, updated", c.State, c.Source, c.Updated)
	}
	want := resolver.Gateway{Addresses: addrs("203.0.113.7"), Port: 15443}
	if !reflect.DeepEqual(c.Gateway, want) {
		t.Errorf("gateway %+v, want %+v", c.Gateway, want)
	}
	if got := c.Services[1].Ports; !reflect.DeepEqual(got, []resolver.Port{{Name: "http", Port: 80, Protocol: "TCP"}, {Name: "grpc", Port: 9090, Protocol: "TCP"}}) {
		t.Errorf("web's ports %v", got)
	}
	if _, ready := s.Clusters(); !ready {
		t.Error("not ready after every peer listed")
	}

	// Unchanged data: the same slices.
	again := s.wait(t, "east", "still the same", hasServices("shop/cart", "shop/web"))
	if &again.Services[0] != &c.Services[0] || &again.Gateway.Addresses[0] != &c.Gateway.Addresses[0] {
		t.Error("unchanged peer returned new slices")
	}
	s.TakeChanges()

	ctx := context.Background()
	if _, err := kube.CoreV1().Services("shop").Create(ctx, svc("shop", "api", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c2 := s.wait(t, "east", "shop/api added", hasServices("shop/api", "shop/cart", "shop/web"))
	if &c2.Services[0] == &c.Services[0] {
		t.Error("changed peer reused its old slice")
	}
	if oldest, ok := s.TakeChanges(); !ok || time.Since(oldest) > 10*time.Second {
		t.Errorf("TakeChanges after an event: %v %v", oldest, ok)
	}
	if _, ok := s.TakeChanges(); ok {
		t.Error("TakeChanges twice gave a change twice")
	}

	if err := kube.CoreV1().Services("shop").Delete(ctx, "cart", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	s.wait(t, "east", "shop/cart deleted", hasServices("shop/api", "shop/web"))

	hide := svc("shop", "web", nil, "peerdns.io/export=false")
	if _, err := kube.CoreV1().Services("shop").Update(ctx, hide, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.wait(t, "east", "shop/web labelled export=false", hasServices("shop/api"))
}

func TestPeerExportOptions(t *testing.T) {
	f := newFakeClusters()
	spec, _ := f.add("east", gatewaySvc("203.0.113.7"),
		svc("a", "in", nil, "team=x"),
		svc("a", "out", nil, "team=y"),
		svc("b", "in", nil, "team=x"),
		svc("c", "in", nil, "team=x"),
		svc("a", "off", nil, "team=x", "peerdns.io/export=false"))
	sel, err := labels.Parse("team=x")
	if err != nil {
		t.Fatal(err)
	}
	s := startSet(t, f, PeerOptions{ExportSelector: sel, Namespaces: []string{"a", "b"}}, spec)
	s.wait(t, "east", "a/in and b/in", hasServices("a/in", "b/in"))
}

func TestPeerGatewayHostname(t *testing.T) {
	dns := &fakeDNS{answers: map[string][]netip.Addr{"lb.example.com": addrs("198.51.100.1")}}
	f := newFakeClusters()
	spec, kube := f.add("east", gatewaySvc("host:LB.example.com.", "203.0.113.7"))
	s := startSet(t, f, PeerOptions{Lookup: dns.lookup, Resolve: 20 * time.Millisecond}, spec)
	s.wait(t, "east", "gateway from IP and hostname", gatewayIs("lb.example.com", "198.51.100.1", "203.0.113.7"))

	dns.set("lb.example.com", addrs("198.51.100.2"), nil)
	s.wait(t, "east", "re-resolved", gatewayIs("lb.example.com", "198.51.100.2", "203.0.113.7"))

	// A new hostname is resolved at once, not at the next refresh.
	dns.set("lb2.example.com", addrs("198.51.100.3"), nil)
	gw := gatewaySvc("host:lb2.example.com")
	gw.Labels = map[string]string{RegionLabel: "us-east1", ZoneLabel: "us-east1-b"}
	ctx := context.Background()
	if _, err := kube.CoreV1().Services(gw.Namespace).Update(ctx, gw, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	c := s.wait(t, "east", "new hostname", gatewayIs("lb2.example.com", "198.51.100.3"))
	if c.Locality != (resolver.Locality{Region: "us-east1", Zone: "us-east1-b"}) {
		t.Errorf("locality %+v", c.Locality)
	}
}

func gatewayIs(hostname string, want ...string) func(resolver.Cluster) bool {
	return func(c resolver.Cluster) bool {
		return c.Gateway.Hostname == hostname && slices.Equal(c.Gateway.Addresses, addrs(want...))
	}
}

func TestPeerNoGateway(t *testing.T) {
	f := newFakeClusters()
	spec, kube := f.add("east", svc("shop", "web", nil))
	core, logs := observer.New(zap.InfoLevel)
	s := startSet(t, f, PeerOptions{Log: zap.New(core)}, spec)
	c := s.wait(t, "east", "live", hasServices("shop/web"))
	if c.State != resolver.Live || len(c.Gateway.Addresses) != 0 {
		t.Errorf("east %v with gateway %+v, want live without addresses", c.State, c.Gateway)
	}
	// Unrelated changes do not repeat the warning.
	if _, err := kube.CoreV1().Services("shop").Create(context.Background(), svc("shop", "api", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.wait(t, "east", "shop/api", hasServices("shop/api", "shop/web"))
	if n := logs.FilterMessage("peer gateway has no address, its services are not served").Len(); n != 1 {
		t.Errorf("no-address warning logged %d times, want once", n)
	}
	if _, err := kube.CoreV1().Services(DefaultGatewayNamespace).Create(context.Background(), gatewaySvc("203.0.113.9"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.wait(t, "east", "gateway created", gatewayIs("", "203.0.113.9"))
}

func TestSetPeersValidation(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	s := NewPeerSet("remote_secret", PeerOptions{Log: zap.New(core)})
	cfg := &rest.Config{Host: "https://x"}
	specs := []PeerSpec{{Name: "East_1", Config: cfg}, {Name: "west", Config: cfg}, {Name: "west", Config: cfg}, {Name: "north"}}
	s.SetPeers(specs)
	s.SetPeers(specs) // the same rejections are not logged again
	if got := logs.FilterMessage("peer rejected").Len(); got != 3 {
		t.Errorf("%d rejections logged, want 3", got)
	}
	if len(s.specs) != 1 || s.specs["west"].Source != "remote_secret" {
		t.Errorf("specs %+v", s.specs)
	}
}

// A peer whose credentials change keeps serving what it served while it relists.
func TestPeerRestartKeepsServing(t *testing.T) {
	f := newFakeClusters()
	spec, kube := f.add("east", gatewaySvc("203.0.113.7"), svc("shop", "web", nil))
	s := startSet(t, f, PeerOptions{}, spec)
	s.wait(t, "east", "live", hasServices("shop/web"))
	kube.PrependReactor("list", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("slow")
	})
	spec.Hash = "2"
	s.SetPeers([]PeerSpec{spec})
	c := s.wait(t, "east", "restarted", func(resolver.Cluster) bool { return s.peerHash("east") == "2" })
	if c.State != resolver.Live || !slices.Equal(serviceKeys(c), []string{"shop/web"}) {
		t.Errorf("restarting east: %v %v", c.State, serviceKeys(c))
	}
	s.SetPeers(nil)
	waitFor(t, "east removed", func() bool { c, _ := s.Clusters(); return len(c) == 0 })
}

// peerHash returns the Hash of the running peer name.
func (s *PeerSet) peerHash(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.peers[name]; p != nil {
		return p.spec.Hash
	}
	return ""
}

// peer returns the running peer name.
func (s *PeerSet) peer(name string) *peer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peers[name]
}
