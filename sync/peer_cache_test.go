package sync

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/peerdns/peerdns/resolver"
)

func TestExportRules(t *testing.T) {
	teamX, err := labels.Parse("team=x")
	if err != nil {
		t.Fatal(err)
	}
	gw := types.NamespacedName{Namespace: "gw-system", Name: "gw"}
	all := newExportRules(PeerOptions{Gateway: gw})
	optIn := newExportRules(PeerOptions{Gateway: gw, ExportSelector: teamX})
	only := newExportRules(PeerOptions{Gateway: gw, Namespaces: []string{"shop", "kube-system", "shop"}})
	off := map[string]string{ExportLabel: "false", "team": "x"}
	for _, tc := range []struct {
		name  string
		rules exportRules
		ns    string
		ls    map[string]string
		want  bool
	}{
		{"default", all, "shop", nil, true},
		{"export=true is not needed", all, "shop", map[string]string{ExportLabel: "true"}, true},
		{"export=false", all, "shop", off, false},
		{"kube-system", all, "kube-system", nil, false},
		{"kube-public", all, "kube-public", nil, false},
		{"kube-node-lease", all, "kube-node-lease", nil, false},
		{"the gateway's namespace", all, "gw-system", nil, false},
		{"selector matches", optIn, "shop", map[string]string{"team": "x"}, true},
		{"selector does not match", optIn, "shop", map[string]string{"team": "y"}, false},
		{"selector matches, export=false", optIn, "shop", off, false},
		{"selector, system namespace", optIn, "kube-system", map[string]string{"team": "x"}, false},
		{"namespaces: listed", only, "shop", nil, true},
		{"namespaces: a listed system namespace", only, "kube-system", nil, true},
		{"namespaces: not listed", only, "web", nil, false},
		{"namespaces: export=false", only, "shop", off, false},
	} {
		if got := tc.rules.exported(tc.ns, tc.ls); got != tc.want {
			t.Errorf("%s: exported(%s, %v) = %v, want %v", tc.name, tc.ns, tc.ls, got, tc.want)
		}
	}
	if got := all.labelSelector(); got != "peerdns.io/export!=false" {
		t.Errorf("label selector %q", got)
	}
	if got := optIn.labelSelector(); got != "peerdns.io/export!=false,team=x" {
		t.Errorf("opt-in label selector %q", got)
	}
	want := "metadata.namespace!=kube-system,metadata.namespace!=kube-public,metadata.namespace!=kube-node-lease,metadata.namespace!=gw-system"
	if got := all.fieldSelector(); got != want {
		t.Errorf("field selector %q, want %q", got, want)
	}
	if got := only.fieldSelector(); got != "" {
		t.Errorf("field selector with namespaces %q, want none", got)
	}
}

func TestTransformService(t *testing.T) {
	rules := newExportRules(PeerOptions{Gateway: defaultGateway})
	in := svc("shop", "web", []string{"http:80", ":8080", "Bad_Name:81", "x:0"}, "team=x")
	in.ResourceVersion = "42"
	in.Annotations = map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{...}"}
	in.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}
	in.Spec.Ports[1].Protocol = ""
	in.Spec.Ports[2].Protocol = corev1.ProtocolUDP
	before := in.DeepCopy()
	out, err := rules.transformService(in)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := out.(*cachedService)
	if !ok {
		t.Fatalf("transform gave %T", out)
	}
	want := resolver.Service{Name: "web", Namespace: "shop", Ports: []resolver.Port{
		{Name: "http", Port: 80, Protocol: "TCP"},
		{Port: 8080, Protocol: "TCP"},
		{Port: 81, Protocol: "UDP"},
	}}
	if !c.exported || !reflect.DeepEqual(c.svc, want) {
		t.Errorf("cached %+v, want exported %+v", c, want)
	}
	if !reflect.DeepEqual(in, before) {
		t.Error("the transform modified its input")
	}
	key, err := cache.MetaNamespaceKeyFunc(c)
	if err != nil || key != "shop/web" {
		t.Errorf("cache key %q, %v", key, err)
	}
	if m := c.GetObjectMeta(); m.GetResourceVersion() != "42" {
		t.Errorf("resource version %q", m.GetResourceVersion())
	}

	hidden, _ := rules.transformService(svc("kube-system", "dns", []string{"dns:53"}))
	if h := hidden.(*cachedService); h.exported || h.svc.Ports != nil {
		t.Errorf("kube-system service cached as %+v", h)
	}
	tomb := cache.DeletedFinalStateUnknown{Key: "shop/web", Obj: c}
	if got, _ := rules.transformService(tomb); got != any(tomb) {
		t.Error("a tombstone was transformed")
	}
	if got, _ := rules.transformService(c); got != any(c) {
		t.Error("a cached value was transformed again")
	}
}

func TestReadGateway(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ingress []string
		ports   []string
		labels  []string
		want    gatewayInfo
	}{
		{"IPs", []string{"203.0.113.8", "::ffff:203.0.113.7", "2001:db8::1", "203.0.113.8", "fe80::1", "junk"},
			[]string{"tls:15443"}, nil,
			gatewayInfo{ips: addrs("203.0.113.7", "203.0.113.8", "2001:db8::1"), port: 15443}},
		{"hostnames", []string{"host:LB.example.com.", "host:lb.example.com", "host:a.example.com", "host:bad_name"},
			[]string{"http:80"}, nil,
			gatewayInfo{hostnames: []string{"a.example.com", "lb.example.com"}}},
		{"tls on another port", nil, []string{"tls:443"}, nil, gatewayInfo{}},
		{"15443 under another name", nil, []string{"sni:15443"}, nil, gatewayInfo{}},
		{"locality", nil, nil, []string{RegionLabel + "=us-east1", ZoneLabel + "=us-east1-b"},
			gatewayInfo{locality: resolver.Locality{Region: "us-east1", Zone: "us-east1-b"}}},
	} {
		s := svc("istio-system", "gw", tc.ports, tc.labels...)
		for _, in := range gatewaySvc(tc.ingress...).Status.LoadBalancer.Ingress {
			s.Status.LoadBalancer.Ingress = append(s.Status.LoadBalancer.Ingress, in)
		}
		out, _ := transformGateway(s)
		if got := out.(*cachedGateway).info; !got.equal(tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// Handlers signal only changes that matter, tombstones included.
func TestServiceHandler(t *testing.T) {
	rules := newExportRules(PeerOptions{Gateway: defaultGateway})
	cached := func(s *corev1.Service, rv string) *cachedService {
		s.ResourceVersion = rv
		c, _ := rules.transformService(s)
		return c.(*cachedService)
	}
	web1 := cached(svc("shop", "web", []string{"http:80"}), "1")
	web2 := cached(svc("shop", "web", []string{"http:80"}, "unrelated=label"), "2")
	web3 := cached(svc("shop", "web", []string{"http:8080"}), "3")
	hidden := cached(svc("shop", "web", nil, ExportLabel+"=false"), "4")
	sys := cached(svc("kube-system", "dns", nil), "5")
	for _, tc := range []struct {
		name  string
		event func(h cache.ResourceEventHandler)
		want  bool
	}{
		{"add exported", func(h cache.ResourceEventHandler) { h.OnAdd(web1, false) }, true},
		{"add not exported", func(h cache.ResourceEventHandler) { h.OnAdd(sys, false) }, false},
		{"update, same answer", func(h cache.ResourceEventHandler) { h.OnUpdate(web1, web2) }, false},
		{"update, new port", func(h cache.ResourceEventHandler) { h.OnUpdate(web2, web3) }, true},
		{"update, export=false", func(h cache.ResourceEventHandler) { h.OnUpdate(web3, hidden) }, true},
		{"delete", func(h cache.ResourceEventHandler) { h.OnDelete(web1) }, true},
		{"delete, tombstone", func(h cache.ResourceEventHandler) {
			h.OnDelete(cache.DeletedFinalStateUnknown{Key: "shop/web", Obj: web1})
		}, true},
		{"delete not exported, tombstone", func(h cache.ResourceEventHandler) {
			h.OnDelete(cache.DeletedFinalStateUnknown{Key: "kube-system/dns", Obj: sys})
		}, false},
	} {
		w := &peerWatch{}
		signals := 0
		tc.event(w.serviceHandler(func() { signals++ }))
		if got := signals == 1 && w.dirty.Load(); got != tc.want || signals > 1 {
			t.Errorf("%s: signalled %d times, dirty %v; want a signal: %v", tc.name, signals, w.dirty.Load(), tc.want)
		}
	}
}
