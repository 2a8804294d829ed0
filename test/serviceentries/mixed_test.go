package serviceentries

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/peerdns/peerdns/test/e2e"
	"github.com/peerdns/peerdns/test/testbed"
)

// vmsYAML is the static file of the mixed map: a VM in the server's own zone, and one far away
// with a higher priority number.
const vmsYAML = `clusters:
  - name: vm-east
    gateway: {addresses: [203.0.113.50]}
    locality: {region: us-east1, zone: us-east1-b}
    services:
      - {name: productcatalogservice, namespace: default, ports: [{name: grpc, port: 3550}]}
  - name: vm-far
    gateway: {addresses: [203.0.113.60]}
    locality: {region: us-west1, zone: us-west1-a}
    priority: 10
    services:
      - {name: productcatalogservice, namespace: default, ports: [{name: grpc, port: 3550}]}
`

// The mixed map's ServiceEntry: productcatalogservice through a third gateway, in us-west1.
const productcatalogEntry = `
hosts: [productcatalogservice.default.global]
location: MESH_INTERNAL
ports: [{name: grpc, number: 3550, protocol: GRPC}]
resolution: STATIC
endpoints: [{address: 198.51.100.77, ports: {grpc: 15443}, locality: us-west1/us-west1-b}]
`

// peerGateway is a Kubernetes peer's istio-system/istio-ingressgateway.
type peerGateway struct {
	ip, region, zone string
	tls              bool // Istio's 15443 "tls" port: SRV answers carry it
}

// One map of every kind of source: a VM from a static file, two Kubernetes peers through
// kubeconfigs and a ServiceEntry of the local cluster. Answers go by tier (the server's zone,
// then its region, then priority; a tier rotates) and TXT names each cluster's source.
func TestMixedMap(t *testing.T) {
	preparePeer(t, east, peerGateway{ip: "203.0.113.7", region: "us-east1", zone: "us-east1-c", tls: true})
	preparePeer(t, west, peerGateway{ip: "198.51.100.9", region: "us-west1", zone: "us-west1-a"})
	ns := newNamespace(t, local, "mesh-")
	putEntry(t, "v1", ns, "productcatalog", productcatalogEntry)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "vms.yaml"), []byte(vmsYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*testbed.Cluster{east, west} {
		e2e.CopyFile(t, c.Kubeconfig, filepath.Join(dir, "peers", c.Name+".yaml"))
	}
	s := startServer(t, dir, "static {dir}/vms.yaml", "kubeconfig {dir}/peers", "locality us-east1 us-east1-b")

	const name = "productcatalogservice.default.global"
	all := []string{"203.0.113.50", "203.0.113.7", "198.51.100.9", "198.51.100.77", "203.0.113.60"}
	waitDig(t, s, "every source's gateway", answers(all...), name, "A")
	orders := map[string]bool{}
	for range 4 {
		var got []string
		for _, rr := range s.Dig(t, name, "A").Answer() {
			got = append(got, rr.(*dns.A).A.String())
		}
		// vm-east: the server's zone; east: its region; west and the entry: priority 0
		// elsewhere, taking turns; vm-far: priority 10 elsewhere.
		if len(got) != 5 || got[0] != "203.0.113.50" || got[1] != "203.0.113.7" || got[4] != "203.0.113.60" ||
			!slices.Equal(slices.Sorted(slices.Values(got[2:4])), []string{"198.51.100.77", "198.51.100.9"}) {
			t.Fatalf("answer order %v, want 203.0.113.50, 203.0.113.7, {198.51.100.9, 198.51.100.77}, 203.0.113.60", got)
		}
		orders[strings.Join(got[2:4], " ")] = true
	}
	if len(orders) != 2 {
		t.Errorf("west and the entry answered in the orders %v over 4 queries, want them to take turns", orders)
	}

	entry := ns + "-productcatalog"
	txt := map[string]string{} // cluster → its TXT string
	for _, str := range e2e.TXTs(s.Dig(t, name, "TXT").Answer()) {
		cluster, _, _ := strings.Cut(strings.TrimPrefix(str, "cluster="), " ")
		txt[cluster] = str
	}
	for cluster, want := range map[string][]string{
		"vm-east": {"gateway=203.0.113.50 port=3550", "source=static", "locality=us-east1/us-east1-b priority=0"},
		"vm-far":  {"gateway=203.0.113.60", "source=static", "priority=10"},
		"east":    {"gateway=203.0.113.7 port=15443", "state=live", "source=kubeconfig", "locality=us-east1/us-east1-c"},
		"west":    {"gateway=198.51.100.9 port=3550", "source=kubeconfig", "locality=us-west1/us-west1-a"},
		entry:     {"gateway=198.51.100.77 port=15443", "state=live", "source=serviceentries", "locality=us-west1/us-west1-b"},
	} {
		for _, w := range want {
			if !strings.Contains(txt[cluster], w) {
				t.Errorf("TXT of %s: %q, want %q in it", cluster, txt[cluster], w)
			}
		}
	}
	if len(txt) != 5 {
		t.Errorf("TXT names %d clusters, want 5: %v", len(txt), txt)
	}

	ports := map[string]uint16{} // SRV target cluster → port
	for _, rr := range s.Dig(t, "_grpc._tcp."+name, "SRV").Answer() {
		srv := rr.(*dns.SRV)
		ports[strings.TrimSuffix(srv.Target, "."+name+".")] = srv.Port
	}
	wantPorts := map[string]uint16{"vm-east": 3550, "east": 15443, "west": 3550, entry: 15443, "vm-far": 3550}
	if fmt.Sprint(ports) != fmt.Sprint(wantPorts) {
		t.Errorf("SRV ports %v, want %v", ports, wantPorts)
	}

	// The annotation gives the entry a priority of its own: after vm-far's 10.
	annotateEntry(t, ns, "productcatalog", "peerdns.io/priority", "20")
	waitDig(t, s, "the entry last, by its priority annotation", func(r *e2e.Reply) error {
		var got []string
		for _, rr := range r.Answer() {
			got = append(got, rr.(*dns.A).A.String())
		}
		if want := []string{"203.0.113.50", "203.0.113.7", "198.51.100.9", "203.0.113.60", "198.51.100.77"}; !slices.Equal(got, want) {
			return fmt.Errorf("answer order %v, want %v", got, want)
		}
		return nil
	}, name, "A")
	for _, str := range e2e.TXTs(s.Dig(t, name, "TXT").Answer()) {
		if strings.HasPrefix(str, "cluster="+entry+" ") && !strings.Contains(str, "priority=20") {
			t.Errorf("TXT of %s after the annotation: %q, want priority=20", entry, str)
		}
	}
	t.Logf("Corefile:\n%s", readFile(t, filepath.Join(dir, "Corefile")))
}

// preparePeer makes c a peer with a gateway and the service productcatalogservice in default.
func preparePeer(t *testing.T, c *testbed.Cluster, gw peerGateway) {
	t.Helper()
	ctx := context.Background()
	k := c.Client()
	if err := createNamespace(ctx, c, "istio-system"); err != nil {
		t.Fatal(err)
	}
	ports := []corev1.ServicePort{{Name: "http2", Port: 80}}
	if gw.tls {
		ports = append(ports, corev1.ServicePort{Name: "tls", Port: 15443})
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "istio-ingressgateway", Namespace: "istio-system", Labels: map[string]string{
			"topology.kubernetes.io/region": gw.region, "topology.kubernetes.io/zone": gw.zone,
		}},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: ports},
	}
	svc, err := k.CoreV1().Services("istio-system").Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("gateway of %s: %v", c.Name, err)
	}
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: gw.ip}}
	if _, err := k.CoreV1().Services("istio-system").UpdateStatus(ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("gateway address of %s: %v", c.Name, err)
	}
	app := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "productcatalogservice"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "grpc", Port: 3550}}},
	}
	if _, err := k.CoreV1().Services("default").Create(ctx, app, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("productcatalogservice in %s: %v", c.Name, err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
