package peerdnsctl

import (
	"context"
	"maps"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/peerdns/peerdns/internal/stubdomain"
)

// kubeadmCorefile is the Corefile kubeadm writes, with one unrelated server block added by the
// cluster's operator.
const kubeadmCorefile = `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
       disable success cluster.local
       disable denial cluster.local
    }
    loop
    reload
    loadbalance
}
# the company's own zone
acme.local:53 {
	errors
	cache 30
	forward . 10.150.0.1
}
`

// kubeDNSData is a kube-dns ConfigMap as an operator would have it: one stub domain of their
// own, and upstream servers.
var kubeDNSData = map[string]string{
	"stubDomains":         `{"acme.local": ["10.150.0.1"]}`,
	"upstreamNameservers": `["8.8.8.8", "8.8.4.4"]`,
}

var coreDNSData = map[string]string{"Corefile": kubeadmCorefile}

// reset puts the target's ConfigMap back to data (nil: no ConfigMap).
func reset(t *testing.T, target stubdomain.Target, data map[string]string) {
	t.Helper()
	ctx := context.Background()
	name := configMapName(target)
	cms := local.Client().CoreV1().ConfigMaps("kube-system")
	if err := cms.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatalf("delete %s: %v", name, err)
	}
	if data == nil {
		return
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kube-system", Labels: map[string]string{"k8s-app": name}},
		Data:       maps.Clone(data),
	}
	if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
}

func configMapName(target stubdomain.Target) string {
	if target == stubdomain.KubeDNS {
		return "kube-dns"
	}
	return "coredns"
}

// get reads the target's ConfigMap; nil when it does not exist.
func get(t *testing.T, target stubdomain.Target) *corev1.ConfigMap {
	t.Helper()
	cm, err := local.Client().CoreV1().ConfigMaps("kube-system").Get(context.Background(), configMapName(target), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatalf("get %s: %v", configMapName(target), err)
	}
	return cm
}
