package forwarding

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/peerdns/peerdns/test/e2e"
)

// TestIntegratedMode runs deploy/README.md's integrated-mode Corefile: peerdns inside the
// cluster's own CoreDNS, after kubernetes, with its peers from an Istio remote secret in the
// local cluster. Only what a loopback test must change is changed: the port, the kubeconfig of
// the local cluster (a pod would use its ServiceAccount), and the plugins that need fixed ports
// or an upstream (health, ready, prometheus, loop).
func TestIntegratedMode(t *testing.T) {
	block := integratedCorefile(t)
	createRemoteSecret(t)
	dir := t.TempDir()
	e2e.CopyFile(t, local.Kubeconfig, filepath.Join(dir, "local.yaml"))
	s := e2e.Start(t, adaptIntegrated(block), e2e.Options{Dir: dir, Zone: "cluster.local."})
	port := s.Port()
	gw := []string{eastGateway}

	await(t, port, "productcatalogservice.default.global.", "A", expect{status: "NOERROR", addrs: gw})
	check(t, port, "productcatalogservice.default.global.", "AAAA", expect{status: "NOERROR", soa: true})
	check(t, port, "nothere.default.global.", "A", expect{status: "NXDOMAIN", soa: true})
	// A namespace only the peer has falls through the kubernetes plugin to peerdns.
	check(t, port, "cart."+remoteNS+".svc.cluster.local.", "A", expect{status: "NOERROR", addrs: gw})
	// Local names stay the kubernetes plugin's, found or not: a name of a local namespace that
	// kubernetes does not have is NXDOMAIN, never handed to forward.
	check(t, port, "frontend.default.svc.cluster.local.", "A", expect{status: "NOERROR", addrs: []string{clusterIP(t, "default", "frontend")}})
	check(t, port, "productcatalogservice.default.svc.cluster.local.", "A", expect{status: "NXDOMAIN", soa: true})
	check(t, port, "nothere.kube-system.svc.cluster.local.", "A", expect{status: "NXDOMAIN", soa: true})
	// A namespace that appears in the peer is answered at once: no stub domain to add.
	later := newRemoteNamespace(t)
	await(t, port, "billing."+later+".svc.cluster.local.", "A", expect{status: "NOERROR", addrs: gw})
}

// integratedCorefile is the first corefile block of deploy/README.md that holds both the
// kubernetes plugin and peerdns.
func integratedCorefile(t *testing.T) string {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(moduleRoot(), "deploy", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range strings.Split(string(text), "~~~ corefile\n")[1:] {
		block, _, _ := strings.Cut(part, "~~~")
		if strings.Contains(block, "kubernetes ") && strings.Contains(block, "peerdns") {
			return block
		}
	}
	t.Fatal("deploy/README.md has no ~~~ corefile block with both kubernetes and peerdns: the integrated mode must be documented with one")
	return ""
}

// adaptIntegrated makes the documented Corefile runnable on loopback.
func adaptIntegrated(block string) string {
	var out []string
	depth, skipUntil := 0, -1
	for _, line := range strings.Split(block, "\n") {
		fields := strings.Fields(line)
		opens, closes := strings.Count(line, "{"), strings.Count(line, "}")
		was := depth
		depth += opens - closes
		if skipUntil >= 0 {
			if depth <= skipUntil {
				skipUntil = -1
			}
			continue
		}
		if len(fields) == 0 {
			out = append(out, line)
			continue
		}
		switch fields[0] {
		case "health", "ready", "prometheus", "loop":
			if opens > closes {
				skipUntil = was
			}
			continue
		case ".:53":
			line = strings.Replace(line, ".:53", ".:{port}", 1)
		}
		out = append(out, line)
		indent := line[:len(line)-len(strings.TrimLeft(line, " "))] + "    "
		switch {
		case fields[0] == "kubernetes" && opens > closes:
			out = append(out, indent+"kubeconfig {dir}/local.yaml")
		case fields[0] == "peerdns" && opens > closes:
			out = append(out, indent+"local_kubeconfig {dir}/local.yaml")
		}
	}
	return strings.Join(out, "\n")
}

// createRemoteSecret gives the local cluster east's kubeconfig as an Istio remote secret, the
// way `istioctl create-remote-secret` does.
func createRemoteSecret(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	kubeconfig, err := os.ReadFile(east.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := local.EnsureNamespace(ctx, "istio-system"); err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: "istio-remote-secret-east", Namespace: "istio-system",
			Labels:      map[string]string{"istio/multiCluster": "true"},
			Annotations: map[string]string{"networking.istio.io/cluster": "east"},
		},
		Data: map[string][]byte{"east": kubeconfig},
	}
	if _, err := local.Client().CoreV1().Secrets("istio-system").Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
