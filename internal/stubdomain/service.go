package stubdomain

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// ParseServiceRef reads "NAMESPACE/NAME".
func ParseServiceRef(s string) (ns, name string, err error) {
	ns, name, ok := strings.Cut(s, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("service %q: want NAMESPACE/NAME", s)
	}
	return ns, name, nil
}

// ServiceAddress returns where a stub domain reaches the Service ns/name: its ClusterIP, with
// the port of its DNS port when that is not 53. The DNS port is the UDP port named "dns" or
// "dns-udp", else the first UDP port, else the first port.
func ServiceAddress(ctx context.Context, client kubernetes.Interface, host, ns, name string) (string, error) {
	svc, err := client.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("read Service %s/%s at %s (the peerdns server, whose ClusterIP the stub domains forward to; or give --server): %w", ns, name, host, err)
	}
	ip, err := netip.ParseAddr(svc.Spec.ClusterIP)
	if err != nil {
		return "", fmt.Errorf("Service %s/%s at %s has no ClusterIP (%q): a stub domain needs one; give --server", ns, name, host, svc.Spec.ClusterIP)
	}
	return FormatServer(ip, dnsPort(svc.Spec.Ports)), nil
}

// dnsPort picks the port of a Service that DNS queries go to; 0 when it has none.
func dnsPort(ports []corev1.ServicePort) uint16 {
	for _, p := range ports {
		if (p.Name == "dns" || p.Name == "dns-udp") && p.Protocol != corev1.ProtocolTCP {
			return uint16(p.Port)
		}
	}
	for _, p := range ports {
		if p.Protocol == corev1.ProtocolUDP {
			return uint16(p.Port)
		}
	}
	if len(ports) > 0 {
		return uint16(ports[0].Port)
	}
	return 0
}
