package testbed

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
