package multicluster

import (
	"context"
	"os"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/peerdns/peerdns/test/testbed"
)

// TestRemoteSecrets: an Istio remote secret for west, added to the local cluster, makes west a
// peer: its services are answered. Removed, west leaves the map. east, read from a kubeconfig
// file, is answered throughout (SPEC section 4).
func TestRemoteSecrets(t *testing.T) {
	logClustersOnFailure(t)
	ns := newNamespace(t, east, west)
	createService(t, east, ns, "api", nil)
	createService(t, west, ns, "db", nil)
	s := start(t, setup{peers: peers(east), local: true, extra: []string{"remote_secrets " + gatewayNamespace}})
	api, db := "api."+ns+".global", "db."+ns+".global"
	await(t, s, settle, addrs(defaultGateways["east"].ips...), api, "A")
	check(t, s, rcode("NXDOMAIN"), db, "A")

	secret := createRemoteSecret(t, west)
	await(t, s, settle, addrs(defaultGateways["west"].ips...), db, "A")
	check(t, s, txt("west", `state=live`), db, "TXT")

	err := local.Client().CoreV1().Secrets(gatewayNamespace).Delete(context.Background(), secret, metav1.DeleteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	await(t, s, settle, rcode("NXDOMAIN"), db, "A")
	check(t, s, addrs(defaultGateways["east"].ips...), api, "A")
}

// createRemoteSecret writes, in the local cluster, the Secret that `istioctl
// create-remote-secret` makes for peer: labelled istio/multiCluster=true, one data key named
// after the cluster, its value a kubeconfig (here, with peerdns's least-privilege identity). It
// returns the Secret's name.
func createRemoteSecret(t *testing.T, peer *testbed.Cluster) string {
	t.Helper()
	kubeconfig, err := os.ReadFile(identity[peer.Name])
	if err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:        "istio-remote-secret-" + peer.Name,
			Namespace:   gatewayNamespace,
			Labels:      map[string]string{"istio/multiCluster": "true"},
			Annotations: map[string]string{"networking.istio.io/cluster": peer.Name},
		},
		Data: map[string][]byte{peer.Name: kubeconfig},
	}
	_, err = local.Client().CoreV1().Secrets(gatewayNamespace).Create(context.Background(), secret, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create remote secret for %s: %v", peer.Name, err)
	}
	t.Cleanup(func() {
		local.Client().CoreV1().Secrets(gatewayNamespace).Delete(context.Background(), secret.Name, metav1.DeleteOptions{})
	})
	return secret.Name
}
