package testbed

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// The objects tests make most often. No controller runs in the test bed, so what a cluster's
// controllers would add (load-balancer addresses, say) the test writes itself.

// EnsureNamespace creates the namespace unless it exists.
func (c *Cluster) EnsureNamespace(ctx context.Context, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	_, err := c.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// CreateService creates a Service of the given type and ports in an existing namespace.
func (c *Cluster) CreateService(ctx context.Context, ns, name string, typ corev1.ServiceType, ports ...corev1.ServicePort) (*corev1.Service, error) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       corev1.ServiceSpec{Type: typ, Ports: ports},
	}
	return c.client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{})
}

// SetIngress replaces a LoadBalancer Service's status.loadBalancer.ingress with the given IPs,
// as a cloud's controller would.
func (c *Cluster) SetIngress(ctx context.Context, svc *corev1.Service, ips ...string) error {
	svc = svc.DeepCopy()
	svc.Status.LoadBalancer.Ingress = nil
	for _, ip := range ips {
		svc.Status.LoadBalancer.Ingress = append(svc.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{IP: ip})
	}
	_, err := c.client.CoreV1().Services(svc.Namespace).UpdateStatus(ctx, svc, metav1.UpdateOptions{})
	return err
}

// CreateGateway makes what a peer's ingress gateway looks like to peerdns: the namespace, a
// LoadBalancer Service with the port, and the load-balancer addresses ips.
func (c *Cluster) CreateGateway(ctx context.Context, ns, name string, port corev1.ServicePort, ips ...string) error {
	if err := c.EnsureNamespace(ctx, ns); err != nil {
		return err
	}
	svc, err := c.CreateService(ctx, ns, name, corev1.ServiceTypeLoadBalancer, port)
	if err != nil {
		return err
	}
	return c.SetIngress(ctx, svc, ips...)
}

// crdResource is the API of CustomResourceDefinitions.
var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// WaitEstablished waits, up to 30 seconds, until the CustomResourceDefinition name is
// established: the API server serves its resource.
func (c *Cluster) WaitEstablished(ctx context.Context, name string) error {
	crds := dynamic.NewForConfigOrDie(c.Config()).Resource(crdResource)
	deadline := time.Now().Add(30 * time.Second)
	for {
		crd, err := crds.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
		for _, cond := range conds {
			if m, ok := cond.(map[string]any); ok && m["type"] == "Established" && m["status"] == "True" {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("CRD %s not established after 30s: %v", name, conds)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
