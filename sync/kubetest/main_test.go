package kubetest

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/peerdns/peerdns/resolver"
	peersync "github.com/peerdns/peerdns/sync"
	"github.com/peerdns/peerdns/test/testbed"
)

// The clusters of this binary, each started by the first test that asks for it and stopped when
// the binary ends: east and west are shared; south is killed and restarted by one test only.
var (
	bedOnce   gosync.Once
	bed       []*testbed.Cluster
	bedErr    error
	southOnce gosync.Once
	south     *testbed.Cluster
	southErr  error
)

// testUsers are token identities with no permissions: RBAC grants them nothing.
var testUsers = []string{"peerdns"}

func TestMain(m *testing.M) {
	peersync.RouteKlog(zap.NewNop()) // client-go's retries would flood the test output
	code := m.Run()
	testbed.StopAll(append(bed, south)...)
	os.Exit(code)
}

// peers returns east and west, starting them at the first call. Missing test bed binaries fail
// the test with the test bed's message.
func peers(t *testing.T) (east, west *testbed.Cluster) {
	t.Helper()
	bedOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		bed, bedErr = testbed.StartAll(ctx, testbed.Options{Users: testUsers}, "east", "west")
	})
	if bedErr != nil {
		t.Fatalf("testbed: %v", bedErr)
	}
	for _, c := range bed {
		c.LogOnFailure(t)
	}
	return bed[0], bed[1]
}

// killable returns south, a cluster only one test uses, starting it at the first call.
func killable(t *testing.T) *testbed.Cluster {
	t.Helper()
	southOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		south, southErr = testbed.Start(ctx, "south", testbed.Options{})
	})
	if southErr != nil {
		t.Fatalf("testbed: %v", southErr)
	}
	south.LogOnFailure(t)
	return south
}

// newNamespace creates a fresh namespace: deleted ones stay Terminating on the test bed.
func newNamespace(t *testing.T, c *testbed.Cluster, prefix string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix}}
	ns, err := c.Client().CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace in %s: %v", c.Name, err)
	}
	return ns.Name
}

// createService creates ns/name with the given labels and ports ("name:port", name optional).
func createService(t *testing.T, c *testbed.Cluster, ns, name string, labels map[string]string, ports ...string) {
	t.Helper()
	s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}}
	for _, p := range ports {
		pn, num, _ := strings.Cut(p, ":")
		var port int32
		if _, err := fmt.Sscan(num, &port); err != nil {
			t.Fatalf("port %q: %v", p, err)
		}
		s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: pn, Port: port})
	}
	if len(s.Spec.Ports) == 0 {
		s.Spec.Ports = []corev1.ServicePort{{Port: 80}}
	}
	if _, err := c.Client().CoreV1().Services(ns).Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create service %s/%s in %s: %v", ns, name, c.Name, err)
	}
}

// deleteService deletes ns/name.
func deleteService(t *testing.T, c *testbed.Cluster, ns, name string) {
	t.Helper()
	if err := c.Client().CoreV1().Services(ns).Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete service %s/%s in %s: %v", ns, name, c.Name, err)
	}
}

// createGateway creates a LoadBalancer Service with Istio's SNI port in a fresh namespace and
// sets its ingress (IPs, or hostnames prefixed "host:"); it returns the gateway's name.
func createGateway(t *testing.T, c *testbed.Cluster, labels map[string]string, ingress ...string) types.NamespacedName {
	t.Helper()
	gw := types.NamespacedName{Namespace: newNamespace(t, c, "gw-"), Name: "gateway"}
	noNodePorts := false
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: gw.Namespace, Name: gw.Name, Labels: labels},
		Spec: corev1.ServiceSpec{
			Type:                          corev1.ServiceTypeLoadBalancer,
			AllocateLoadBalancerNodePorts: &noNodePorts,
			Ports:                         []corev1.ServicePort{{Name: "tls", Port: 15443}},
		},
	}
	if _, err := c.Client().CoreV1().Services(gw.Namespace).Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create gateway in %s: %v", c.Name, err)
	}
	setIngress(t, c, gw, ingress...)
	return gw
}

// setIngress replaces the gateway's status.loadBalancer.ingress, as a cloud controller would.
func setIngress(t *testing.T, c *testbed.Cluster, gw types.NamespacedName, ingress ...string) {
	t.Helper()
	ctx := context.Background()
	s, err := c.Client().CoreV1().Services(gw.Namespace).Get(ctx, gw.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s = s.DeepCopy()
	s.Status.LoadBalancer.Ingress = nil
	for _, in := range ingress {
		if h, ok := strings.CutPrefix(in, "host:"); ok {
			s.Status.LoadBalancer.Ingress = append(s.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{Hostname: h})
		} else {
			s.Status.LoadBalancer.Ingress = append(s.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{IP: in})
		}
	}
	if _, err := c.Client().CoreV1().Services(gw.Namespace).UpdateStatus(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("set the gateway's ingress in %s: %v", c.Name, err)
	}
}

// run runs src until the test ends, and waits for it to stop then.
func run(t *testing.T, src peersync.Source) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		src.Run(ctx, func() {})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("the source did not stop within 30s")
		}
	})
}

// patience is how long a test waits for a condition.
const patience = 30 * time.Second

// waitFor polls cond until it holds, failing the test after patience.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not so after %v", what, patience)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitCluster waits until src has a cluster name for which cond holds, and returns it.
func waitCluster(t *testing.T, src peersync.Source, name, what string, cond func(resolver.Cluster) bool) resolver.Cluster {
	t.Helper()
	var last resolver.Cluster
	waitFor(t, name+": "+what, func() bool {
		clusters, _ := src.Clusters()
		i := slices.IndexFunc(clusters, func(c resolver.Cluster) bool { return c.Name == name })
		if i < 0 {
			return false
		}
		last = clusters[i]
		return cond(last)
	})
	return last
}

// waitGone waits until src has no cluster name.
func waitGone(t *testing.T, src peersync.Source, name string) {
	t.Helper()
	waitFor(t, name+" gone", func() bool {
		clusters, _ := src.Clusters()
		return !slices.ContainsFunc(clusters, func(c resolver.Cluster) bool { return c.Name == name })
	})
}

func serviceKeys(c resolver.Cluster) []string {
	var keys []string
	for _, s := range c.Services {
		keys = append(keys, s.Namespace+"/"+s.Name)
	}
	return keys
}

// serves reports whether a cluster is live and serves exactly the services "ns/name", in order.
func serves(keys ...string) func(resolver.Cluster) bool {
	return func(c resolver.Cluster) bool {
		return c.State == resolver.Live && slices.Equal(serviceKeys(c), keys)
	}
}

func inState(st resolver.State) func(resolver.Cluster) bool {
	return func(c resolver.Cluster) bool { return c.State == st }
}

// relabel replaces the labels of ns/name.
func relabel(t *testing.T, c *testbed.Cluster, ns, name string, labels map[string]string) {
	t.Helper()
	ctx := context.Background()
	s, err := c.Client().CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s = s.DeepCopy()
	s.Labels = labels
	if _, err := c.Client().CoreV1().Services(ns).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("relabel %s/%s in %s: %v", ns, name, c.Name, err)
	}
}
