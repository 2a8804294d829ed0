package multicluster

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/peerdns/peerdns/test/testbed"
)

// The default gateway of every peer (SPEC section 4), and Istio's fixed gateway port.
const (
	gatewayNamespace = "istio-system"
	gatewayName      = "istio-ingressgateway"
	istioTLSPort     = 15443
)

// gateway is a LoadBalancer Service in front of a cluster. No controller runs in the test bed:
// its addresses are written into status.loadBalancer.ingress by the test. They come from the
// documentation ranges, as they only ever appear in answers.
type gateway struct {
	name string   // in gatewayNamespace
	ips  []string // status.loadBalancer.ingress
	tls  bool     // it has a port named tls, 15443: SRV answers that port for every service
}

// defaultGateways are the peers' istio-system/istio-ingressgateway, made by TestMain: east's
// takes every service's traffic on 15443, west's on the service's own port.
var defaultGateways = map[string]gateway{
	"east": {name: gatewayName, ips: []string{"203.0.113.7"}, tls: true},
	"west": {name: gatewayName, ips: []string{"198.51.100.9"}},
}

// newNamespace creates one fresh namespace, with the same name in every cluster given (a
// deleted namespace stays Terminating in the test bed, so each test takes new ones).
func newNamespace(t *testing.T, clusters ...*testbed.Cluster) string {
	t.Helper()
	ctx := context.Background()
	gen := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "mc-"}}
	ns, err := clusters[0].Client().CoreV1().Namespaces().Create(ctx, gen, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace in %s: %v", clusters[0].Name, err)
	}
	for _, c := range clusters[1:] {
		if err := c.EnsureNamespace(ctx, ns.Name); err != nil {
			t.Fatalf("create namespace %s in %s: %v", ns.Name, c.Name, err)
		}
	}
	return ns.Name
}

// createGateway creates a gateway Service and writes its load-balancer addresses.
func createGateway(ctx context.Context, c *testbed.Cluster, gw gateway) error {
	ports := []corev1.ServicePort{{Name: "http2", Port: 80}}
	if gw.tls {
		ports = append(ports, corev1.ServicePort{Name: "tls", Port: istioTLSPort})
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: gw.name, Namespace: gatewayNamespace},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: ports},
	}
	svc, err := c.Client().CoreV1().Services(gatewayNamespace).Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	return c.SetIngress(ctx, svc, gw.ips...)
}

// setGatewayIPs replaces a gateway's load-balancer addresses, as a cloud controller would.
func setGatewayIPs(t *testing.T, c *testbed.Cluster, name string, ips ...string) {
	t.Helper()
	ctx := context.Background()
	svc, err := c.Client().CoreV1().Services(gatewayNamespace).Get(ctx, name, metav1.GetOptions{})
	if err == nil {
		err = c.SetIngress(ctx, svc, ips...)
	}
	if err != nil {
		t.Fatalf("gateway %s/%s in %s: %v", gatewayNamespace, name, c.Name, err)
	}
}

// createService creates a ClusterIP Service with a named port, http 8080, for SRV.
func createService(t *testing.T, c *testbed.Cluster, ns, name string, labels map[string]string) {
	t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 8080}}},
	}
	if _, err := c.Client().CoreV1().Services(ns).Create(context.Background(), svc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create service %s/%s in %s: %v", ns, name, c.Name, err)
	}
}

func deleteService(t *testing.T, c *testbed.Cluster, ns, name string) {
	t.Helper()
	if err := c.Client().CoreV1().Services(ns).Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete service %s/%s in %s: %v", ns, name, c.Name, err)
	}
}

// labelService sets one label of a Service.
func labelService(t *testing.T, c *testbed.Cluster, ns, name, key, value string) {
	t.Helper()
	ctx := context.Background()
	services := c.Client().CoreV1().Services(ns)
	svc, err := services.Get(ctx, name, metav1.GetOptions{})
	if err == nil {
		svc = svc.DeepCopy()
		if svc.Labels == nil {
			svc.Labels = map[string]string{}
		}
		svc.Labels[key] = value
		_, err = services.Update(ctx, svc, metav1.UpdateOptions{})
	}
	if err != nil {
		t.Fatalf("label service %s/%s in %s: %v", ns, name, c.Name, err)
	}
}

func clientFor(t *testing.T, kubeconfig string) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatalf("load %s: %v", kubeconfig, err)
	}
	k, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// moduleRoot is the repository's root: the folder above the test's that holds go.mod.
func moduleRoot() string {
	dir, _ := os.Getwd()
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// cluster returns the test bed's cluster by name.
func cluster(name string) *testbed.Cluster {
	for _, c := range []*testbed.Cluster{local, east, west} {
		if c.Name == name {
			return c
		}
	}
	panic("no cluster " + name)
}

// peers lists clusters, for setup.peers.
func peers(clusters ...*testbed.Cluster) []*testbed.Cluster { return clusters }

// logClustersOnFailure prints the tail of every cluster's log if the test fails.
func logClustersOnFailure(t *testing.T) {
	for _, c := range []*testbed.Cluster{local, east, west} {
		c.LogOnFailure(t)
	}
}
