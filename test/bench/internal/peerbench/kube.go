package peerbench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/peerdns/peerdns/test/testbed"
)

// The peers' gateway, where peerdns looks for it by default, and Istio's fixed gateway port.
const (
	GatewayNamespace = "istio-system"
	GatewayName      = "istio-ingressgateway"
	gatewayPort      = 15443
)

// Gateway creates the default gateway Service in c and writes ip as its load-balancer address
// (no controller runs in the test bed to do it).
func Gateway(ctx context.Context, c *testbed.Cluster, ip string) error {
	k := c.Client()
	if err := Namespaces(ctx, k, GatewayNamespace); err != nil {
		return err
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: GatewayName, Namespace: GatewayNamespace},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer,
			Ports: []corev1.ServicePort{{Name: "tls", Port: gatewayPort}}},
	}
	svc, err := k.CoreV1().Services(GatewayNamespace).Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("gateway in %s: %w", c.Name, err)
	}
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: ip}}
	_, err = k.CoreV1().Services(GatewayNamespace).UpdateStatus(ctx, svc, metav1.UpdateOptions{})
	return err
}

// Namespaces creates the namespaces that do not exist yet.
func Namespaces(ctx context.Context, k kubernetes.Interface, names ...string) error {
	for _, name := range names {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		_, err := k.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	return nil
}

// NewService is an exported Service with one named port.
func NewService(name string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 8080}}},
	}
}

// Item is one Service to create.
type Item struct {
	Client    kubernetes.Interface
	Namespace string
	Name      string
	// Headless Services (clusterIP: None) need no address allocated, which halves the API
	// server's writes; peerdns exports them like any other.
	Headless bool
}

// CreateAll creates every item with workers goroutines at once, calling progress every 5,000
// creations, and returns how long it took. It stops at the first error.
func CreateAll(ctx context.Context, items []Item, workers int, progress func(done int)) (time.Duration, error) {
	start := time.Now()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next, done atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(items)) && ctx.Err() == nil; i = next.Add(1) - 1 {
				it := items[i]
				svc := NewService(it.Name)
				if it.Headless {
					svc.Spec.ClusterIP = corev1.ClusterIPNone
				}
				_, err := it.Client.CoreV1().Services(it.Namespace).Create(ctx, svc, metav1.CreateOptions{})
				if err != nil && !apierrors.IsAlreadyExists(err) {
					cancel(fmt.Errorf("create %s/%s: %w", it.Namespace, it.Name, err))
					return
				}
				if n := done.Add(1); n%5000 == 0 && progress != nil {
					progress(int(n))
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start), context.Cause(ctx)
}

// KubeconfigDir copies each cluster's admin kubeconfig into dir as NAME.yaml: one peer per
// file, its context named after the cluster.
func KubeconfigDir(dir string, clusters ...*testbed.Cluster) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, c := range clusters {
		data, err := os.ReadFile(c.Kubeconfig)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, c.Name+".yaml"), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}
