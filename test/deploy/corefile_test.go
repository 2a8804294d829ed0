package deploy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/peerdns/peerdns/internal/testnet"
	"github.com/peerdns/peerdns/test/e2e"
)

// Paths in the pod, as the manifests lay them out.
const (
	confArg      = "/etc/peerdns/Corefile" // -conf
	snapshotPath = "/var/lib/peerdns/map.json"
)

// TestCorefileMatchesPod: the Corefile is where -conf looks for it, listens where the
// container's ports and probes point, and keeps its snapshot on the pod's writable emptyDir
// (the root filesystem is read-only).
func TestCorefileMatchesPod(t *testing.T) {
	o := typed(t, readDocuments(t, manifestsFile))
	lines := corefileLines(o.corefile(t))
	srv := o.server(t)
	d := one(t, "Deployments", o.deployments)
	if !slices.Equal(srv.Args, []string{"-conf", confArg}) {
		t.Errorf("server args %q, want -conf %s", srv.Args, confArg)
	}
	conf := mountOf(t, d.Spec.Template.Spec, srv, filepath.Dir(confArg))
	if conf.ConfigMap == nil || conf.ConfigMap.Name != one(t, "ConfigMaps", o.configMaps).Name ||
		!slices.ContainsFunc(conf.ConfigMap.Items, func(k corev1.KeyToPath) bool { return k.Key == "Corefile" && k.Path == "Corefile" }) {
		t.Errorf("%s is not the ConfigMap's Corefile: %+v", confArg, conf)
	}
	if data := mountOf(t, d.Spec.Template.Spec, srv, filepath.Dir(snapshotPath)); data.EmptyDir == nil {
		t.Errorf("%s is not on an emptyDir: %+v", filepath.Dir(snapshotPath), data)
	}
	want := []string{
		"global:" + itoa(dnsPort) + " {",
		"health :" + itoa(healthPort) + " {",
		"ready :" + itoa(readyPort),
		"prometheus :" + itoa(metricsPort),
		"remote_secrets istio-system",
		"snapshot_file " + snapshotPath,
	}
	for _, w := range want {
		if !slices.Contains(lines, w) {
			t.Errorf("Corefile has no line %q:\n%s", w, o.corefile(t))
		}
	}
	for _, p := range []struct {
		name  string
		port  int32
		proto corev1.Protocol
	}{{"dns", dnsPort, "UDP"}, {"dns-tcp", dnsPort, "TCP"}, {"health", healthPort, "TCP"}, {"ready", readyPort, "TCP"}, {"metrics", metricsPort, "TCP"}} {
		if !slices.ContainsFunc(srv.Ports, func(c corev1.ContainerPort) bool {
			return c.Name == p.name && c.ContainerPort == p.port && c.Protocol == p.proto
		}) {
			t.Errorf("container has no port %s %d/%s: %+v", p.name, p.port, p.proto, srv.Ports)
		}
	}
}

// mountOf is the volume that c mounts at path.
func mountOf(t *testing.T, spec corev1.PodSpec, c corev1.Container, path string) corev1.VolumeSource {
	t.Helper()
	i := slices.IndexFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == path })
	if i < 0 {
		t.Fatalf("nothing mounted at %s", path)
	}
	j := slices.IndexFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == c.VolumeMounts[i].Name })
	if j < 0 {
		t.Fatalf("no volume %s", c.VolumeMounts[i].Name)
	}
	return spec.Volumes[j].VolumeSource
}

// gatewayIPs are the load-balancer addresses of the gateways TestShippedCorefileServes makes
// in the test bed's cluster, which plays both the local cluster and its own peer "self".
var gatewayIPs = map[string]string{
	"istio-ingressgateway":  "203.0.113.77",
	"istio-eastwestgateway": "203.0.113.78",
}

// TestShippedCorefileServes runs the built server with the Corefile of the plain manifests, and
// with the custom render's, changed only where a pod and this machine differ: the DNS, health,
// ready and metrics ports (free ones on 127.0.0.1), the snapshot file (in the test's folder),
// the static file's path, and local_kubeconfig (the pod's own account is not there) — a
// kubeconfig of the manifests' own ServiceAccount, with only the RBAC the manifests grant. A
// peer arrives through an Istio remote secret, and the service it runs is answered.
func TestShippedCorefileServes(t *testing.T) {
	local.LogOnFailure(t)
	prepareGateways(t)
	ns := "shop"
	if err := local.EnsureNamespace(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	if _, err := local.CreateService(context.Background(), ns, "cart", corev1.ServiceTypeClusterIP,
		corev1.ServicePort{Name: "http", Port: 8080}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		docs    []document
		gateway string
		static  bool // the custom values' static file, and its zone mesh.example.com
	}{
		manifestsFile:          {readDocuments(t, manifestsFile), "istio-ingressgateway", false},
		"chart, custom values": {renderCustom(t), "istio-eastwestgateway", true},
	} {
		t.Run(name, func(t *testing.T) {
			o := typed(t, c.docs)
			identity := applyIdentity(t, c.docs, o)
			secretsNS := one(t, "Roles", o.roles).Namespace
			p := newPorts(t)
			corefile := adaptCorefile(t, o.corefile(t), p, identity, c.static)
			createRemoteSecret(t, secretsNS, "self", identity)
			s := e2e.Start(t, corefile, e2e.Options{})

			r := s.Dig(t, "cart.shop.global", "A")
			if got, want := e2e.Addrs(r.Answer()), []string{gatewayIPs[c.gateway]}; r.Status() != "NOERROR" || !slices.Equal(got, want) {
				t.Errorf("cart.shop.global A: %s %v, want NOERROR %v\n%s", r.Status(), got, want, r.Raw())
			}
			r = s.Dig(t, "cart.shop.global", "TXT")
			if txt := strings.Join(e2e.TXTs(r.Answer()), " "); !strings.Contains(txt, "cluster=self") || !strings.Contains(txt, "state=live") {
				t.Errorf("cart.shop.global TXT: %q, want the live peer self", txt)
			}
			if c.static {
				r = s.Dig(t, "productcatalogservice.default.mesh.example.com", "A")
				if r.Status() != "NOERROR" || len(r.Answer()) == 0 {
					t.Errorf("a service of the static file in the second zone: %s\n%s", r.Status(), r.Raw())
				}
			}
			awaitHTTP(t, p.health, "/health", "OK")
			awaitHTTP(t, p.ready, "/ready", "OK")
			awaitHTTP(t, p.metrics, "/metrics", `coredns_peerdns_peers{state="live"}`)
			awaitFile(t, filepath.Join(s.Dir(), "map.json"))
		})
	}
}

// ports are the free ports a test copy of a Corefile listens on.
type ports struct{ health, ready, metrics int }

func newPorts(t *testing.T) ports {
	t.Helper()
	var p [3]int
	for i := range p {
		var err error
		if p[i], err = testnet.FreePort(); err != nil {
			t.Fatal(err)
		}
	}
	return ports{p[0], p[1], p[2]}
}

// adaptCorefile rewrites a shipped Corefile for this machine. Every rewrite must apply exactly
// as often as expected, so that a change to the shipped Corefile cannot slip past the test.
func adaptCorefile(t *testing.T, text string, p ports, kubeconfig string, static bool) string {
	t.Helper()
	zones := strings.Count(text, ":"+itoa(dnsPort)+" ")
	if zones == 0 {
		t.Fatalf("Corefile listens on no :%d:\n%s", dnsPort, text)
	}
	lo := "127.0.0.1:"
	rewrites := []struct {
		old, new string
		n        int
	}{
		{":" + itoa(dnsPort) + " ", ":{port} ", zones},
		{":{port} {\n", ":{port} {\n    bind 127.0.0.1\n", 1}, // the server block's first line
		{"health :" + itoa(healthPort), "health " + lo + itoa(p.health), 1},
		{"ready :" + itoa(readyPort), "ready " + lo + itoa(p.ready), 1},
		{"prometheus :" + itoa(metricsPort), "prometheus " + lo + itoa(p.metrics), 1},
		{"snapshot_file " + snapshotPath, "snapshot_file {dir}/map.json", 1},
		{"\n        remote_secrets ", "\n        local_kubeconfig " + kubeconfig + "\n        remote_secrets ", 1},
	}
	if static {
		example := filepath.Join(root, "deploy", "examples", "peers.yaml")
		rewrites = append(rewrites, struct {
			old, new string
			n        int
		}{"static /etc/peers/peers.yaml", "static " + example, 1})
	}
	for _, r := range rewrites {
		if n := strings.Count(text, r.old); n != r.n {
			t.Fatalf("Corefile holds %q %d times, want %d:\n%s", r.old, n, r.n, text)
		}
		text = strings.ReplaceAll(text, r.old, r.new)
	}
	return text
}

// prepareGateways makes the gateway Services the two Corefiles' peer is read through.
func prepareGateways(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if err := local.EnsureNamespace(ctx, "istio-system"); err != nil {
		t.Fatal(err)
	}
	for name, ip := range gatewayIPs {
		svc, err := local.CreateService(ctx, "istio-system", name, corev1.ServiceTypeLoadBalancer, corev1.ServicePort{Name: "http2", Port: 80})
		if apierrors.IsAlreadyExists(err) {
			svc, err = local.Client().CoreV1().Services("istio-system").Get(ctx, name, metav1.GetOptions{})
		}
		if err == nil {
			err = local.SetIngress(ctx, svc, ip)
		}
		if err != nil {
			t.Fatalf("gateway %s: %v", name, err)
		}
	}
}

// applyIdentity applies, for real, the manifests' Namespaces, ServiceAccount and RBAC, and
// returns a kubeconfig with a token of that ServiceAccount.
func applyIdentity(t *testing.T, docs []document, o *objects) string {
	t.Helper()
	a := newApplier(t)
	for _, d := range a.applyForReal(t, docs) {
		switch d.obj.GetKind() {
		case "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding":
			if _, err := a.apply(context.Background(), d, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	sa := one(t, "ServiceAccounts", o.serviceAccounts)
	path, err := local.ServiceAccountKubeconfig(context.Background(), sa.Namespace, sa.Name)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// createRemoteSecret writes what `istioctl create-remote-secret` makes: a Secret labelled
// istio/multiCluster=true whose data key is the peer's name and value its kubeconfig.
func createRemoteSecret(t *testing.T, ns, peer, kubeconfig string) {
	t.Helper()
	data, err := os.ReadFile(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: "istio-remote-secret-" + peer, Namespace: ns,
			Labels: map[string]string{"istio/multiCluster": "true"},
		},
		Data: map[string][]byte{peer: data},
	}
	secrets := local.Client().CoreV1().Secrets(ns)
	if _, err := secrets.Create(context.Background(), secret, metav1.CreateOptions{}); err != nil {
		t.Fatalf("remote secret in %s: %v", ns, err)
	}
	t.Cleanup(func() { secrets.Delete(context.Background(), secret.Name, metav1.DeleteOptions{}) })
}

// awaitHTTP polls http://127.0.0.1:port/path until it answers 200 with a body holding want.
func awaitHTTP(t *testing.T, port int, path, want string) {
	t.Helper()
	url := "http://127.0.0.1:" + strconv.Itoa(port) + path
	client := &http.Client{Timeout: 2 * time.Second}
	last := "no answer"
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := client.Get(url)
		if err != nil {
			last = err.Error()
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && strings.Contains(string(body), want) {
			return
		}
		last = fmt.Sprintf("%d %.300s", resp.StatusCode, body)
	}
	t.Errorf("GET %s: %s; want 200 with %q", url, last, want)
}

// awaitFile waits until path exists and is not empty.
func awaitFile(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
			return
		}
	}
	t.Errorf("%s was not written", path)
}
