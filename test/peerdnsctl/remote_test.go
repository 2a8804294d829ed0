package peerdnsctl

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/peerdns/peerdns/internal/stubdomain"
	"github.com/peerdns/peerdns/test/e2e"
	"github.com/peerdns/peerdns/test/testbed"
)

// exportService creates a Service in namespace ns of c (and the namespace).
func exportService(t *testing.T, c *testbed.Cluster, ns, name string) {
	t.Helper()
	ctx := context.Background()
	if err := c.EnsureNamespace(ctx, ns); err != nil {
		t.Fatalf("namespace %s in %s: %v", ns, c.Name, err)
	}
	if _, err := c.CreateService(ctx, ns, name, corev1.ServiceTypeClusterIP, corev1.ServicePort{Name: "http", Port: 8080}); err != nil {
		t.Fatalf("service %s/%s in %s: %v", ns, name, c.Name, err)
	}
}

func deleteService(t *testing.T, c *testbed.Cluster, ns, name string) {
	t.Helper()
	if err := c.Client().CoreV1().Services(ns).Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete service %s/%s in %s: %v", ns, name, c.Name, err)
	}
}

func localNamespace(t *testing.T, name string) {
	t.Helper()
	if err := local.EnsureNamespace(context.Background(), name); err != nil {
		t.Fatalf("namespace %s in local: %v", name, err)
	}
}

// TestRemoteNamespacesKubeDNS installs with --peers, then follows namespaces appearing in the
// peer, leaving it, and appearing locally, with sync-stubs.
func TestRemoteNamespacesKubeDNS(t *testing.T) {
	local.LogOnFailure(t)
	east.LogOnFailure(t)
	reset(t, stubdomain.KubeDNS, kubeDNSData)
	exportService(t, east, "shop", "cart")
	exportService(t, east, "both", "web")
	localNamespace(t, "both")
	peers := []string{"--peers", east.Kubeconfig}
	stubs := func() string { return get(t, stubdomain.KubeDNS).Data["stubDomains"] }

	mustCtl(t, append([]string{"install", "--target", "kube-dns", "--remote-namespaces"}, peers...)...)
	want := `{"acme.local": ["10.150.0.1"],"global": ["10.96.0.20"],"shop.svc.cluster.local": ["10.96.0.20"]}`
	if got := stubs(); got != want {
		t.Fatalf("after install:\n%s\nwant:\n%s", got, want)
	}
	if res := mustCtl(t, "status", "--target", "kube-dns"); !strings.Contains(res.stdout, "remote namespaces: shop\n") {
		t.Errorf("status does not show the remote namespace:\n%s", res.stdout)
	}

	exportService(t, east, "billing", "invoices")
	mustCtl(t, append([]string{"sync-stubs", "--target", "kube-dns"}, peers...)...)
	want = `{"acme.local": ["10.150.0.1"],"global": ["10.96.0.20"],"shop.svc.cluster.local": ["10.96.0.20"],"billing.svc.cluster.local": ["10.96.0.20"]}`
	if got := stubs(); got != want {
		t.Fatalf("after a namespace appeared in the peer:\n%s\nwant:\n%s", got, want)
	}
	rv := get(t, stubdomain.KubeDNS).ResourceVersion
	mustCtl(t, append([]string{"sync-stubs", "--target", "kube-dns"}, peers...)...)
	if get(t, stubdomain.KubeDNS).ResourceVersion != rv {
		t.Errorf("sync-stubs without a change wrote")
	}

	deleteService(t, east, "shop", "cart")
	localNamespace(t, "billing")
	res := mustCtl(t, append([]string{"sync-stubs", "--target", "kube-dns", "--dry-run"}, peers...)...)
	if !strings.Contains(res.stdout, "--- kube-system/kube-dns stubDomains") || get(t, stubdomain.KubeDNS).ResourceVersion != rv {
		t.Errorf("dry-run sync-stubs: no diff, or it wrote")
	}
	mustCtl(t, append([]string{"sync-stubs", "--target", "kube-dns"}, peers...)...)
	want = `{"acme.local": ["10.150.0.1"],"global": ["10.96.0.20"]}`
	if got := stubs(); got != want {
		t.Fatalf("after the peer's namespace emptied and the other appeared locally:\n%s\nwant:\n%s", got, want)
	}

	mustCtl(t, "uninstall", "--target", "kube-dns")
	if got := get(t, stubdomain.KubeDNS).Data; !maps.Equal(got, kubeDNSData) {
		t.Errorf("after uninstall: %q", got)
	}
}

// TestRemoteSecretsCoreDNS finds the peer through an Istio remote secret of the local cluster.
func TestRemoteSecretsCoreDNS(t *testing.T) {
	local.LogOnFailure(t)
	reset(t, stubdomain.CoreDNS, coreDNSData)
	exportService(t, east, "orders", "api")
	kubeconfig, err := os.ReadFile(east.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	localNamespace(t, "istio-system")
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "istio-remote-secret-east", Namespace: "istio-system",
			Labels: map[string]string{"istio/multiCluster": "true"}},
		Data: map[string][]byte{"east": kubeconfig},
	}
	if _, err := local.Client().CoreV1().Secrets("istio-system").Create(context.Background(), secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mustCtl(t, "install", "--target", "coredns", "--remote-namespaces", "--remote-secrets", "istio-system")
	corefile := get(t, stubdomain.CoreDNS).Data["Corefile"]
	block := corefile[len(kubeadmCorefile):]
	if !strings.HasPrefix(corefile, kubeadmCorefile) || !strings.HasPrefix(block, "# peerdns begin\nglobal:53 ") ||
		!strings.Contains(block, " orders.svc.cluster.local:53") || strings.Contains(block, "default.svc") ||
		!strings.Contains(block, "forward . 10.96.0.20\n") {
		t.Errorf("Corefile after install:\n%s", corefile)
	}
	mustCtl(t, "uninstall", "--target", "coredns")
	if got := get(t, stubdomain.CoreDNS).Data["Corefile"]; got != kubeadmCorefile {
		t.Errorf("after uninstall:\n%s", got)
	}
}

// TestSyncStubsWatch runs sync-stubs --watch and changes the peer and the local cluster under
// it, and edits the ConfigMap by hand behind its back (the resync puts the stub domain back);
// SIGTERM ends it cleanly.
func TestSyncStubsWatch(t *testing.T) {
	local.LogOnFailure(t)
	reset(t, stubdomain.CoreDNS, coreDNSData)
	mustCtl(t, "install", "--target", "coredns")
	proc := e2e.StartProcess(t, ctlBin, "--kubeconfig", local.Kubeconfig, "sync-stubs", "--target", "coredns",
		"--watch", "--resync", "1s", "--peers", east.Kubeconfig)

	exportService(t, east, "watched", "api")
	start := time.Now()
	waitCorefile(t, "watched appears", func(c string) bool { return strings.Contains(c, " watched.svc.cluster.local:53") })
	t.Logf("namespace added in the peer to stub domain written: %v", time.Since(start).Round(time.Millisecond))

	cm := get(t, stubdomain.CoreDNS)
	cm.Data["Corefile"] = strings.Replace(cm.Data["Corefile"], " watched.svc.cluster.local:53", "", 1)
	if _, err := local.Client().CoreV1().ConfigMaps("kube-system").Update(context.Background(), cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	waitCorefile(t, "watched back after a hand edit", func(c string) bool { return strings.Contains(c, " watched.svc.cluster.local:53") })
	t.Logf("stub domain removed by hand to put back (--resync 1s): %v", time.Since(start).Round(time.Millisecond))

	localNamespace(t, "watched")
	start = time.Now()
	waitCorefile(t, "watched goes", func(c string) bool {
		return strings.Contains(c, "# peerdns begin\nglobal:53 ") && !strings.Contains(c, "watched")
	})
	t.Logf("namespace created locally to stub domain removed: %v", time.Since(start).Round(time.Millisecond))

	proc.Stop(t)
}

func waitCorefile(t *testing.T, what string, ok func(string) bool) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		c := get(t, stubdomain.CoreDNS).Data["Corefile"]
		if ok(c) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 45s; Corefile:\n%s", what, c)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPeerNotReady names a peer that could not be listed and writes nothing.
func TestPeerNotReady(t *testing.T) {
	reset(t, stubdomain.KubeDNS, kubeDNSData)
	before := get(t, stubdomain.KubeDNS)
	text, err := os.ReadFile(east.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	ghost := strings.ReplaceAll(strings.ReplaceAll(string(text), east.URL, "https://127.0.0.1:1"), "east", "ghost")
	path := filepath.Join(t.TempDir(), "ghost")
	if err := os.WriteFile(path, []byte(ghost), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res := ctl(t, "install", "--target", "kube-dns", "--remote-namespaces", "--peers", path, "--timeout", "3s")
	if res.code != 1 || !strings.Contains(res.stderr, "peer ghost") || !strings.Contains(res.stderr, "not ready") {
		t.Errorf("want exit 1 naming peer ghost")
	}
	if took := time.Since(start); took > 60*time.Second {
		t.Errorf("took %v with --timeout 3s", took)
	}
	if get(t, stubdomain.KubeDNS).ResourceVersion != before.ResourceVersion {
		t.Errorf("wrote without every peer")
	}
}
