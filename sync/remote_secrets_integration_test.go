package sync_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	gosync "sync"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/peerdns/peerdns/resolver"
	"github.com/peerdns/peerdns/sync"
	"github.com/peerdns/peerdns/test/testbed"
)

func TestRemoteSecretsFollowSecrets(t *testing.T) {
	local, peer := clusters(t)
	ctx := context.Background()
	ns := newTestNamespace(t, local, "rs-")
	onlyInPeer := newTestNamespace(t, peer, "only-in-peer-")
	rec := startDiscovery(t, local.Client(), ns, sync.PeerOptions{})
	rec.waitPeers(t)

	admin := kubeconfigBytes(t, peer, "admin")
	secret := createSecret(t, local, ns, remoteSecret("istio-remote-secret-peer", "true", map[string][]byte{"peer": admin}))
	rec.waitPeers(t, "peer")
	spec := mustPeer(t, rec, "peer")
	if spec.Hash != hashOf(admin) || spec.Source != "remote_secret" || spec.Config.UserAgent != "peerdns" {
		t.Errorf("spec: hash %s (want %s), source %q, user agent %q", spec.Hash, hashOf(admin), spec.Source, spec.Config.UserAgent)
	}
	client, err := kubernetes.NewForConfig(spec.Config)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Namespaces().Get(ctx, onlyInPeer, metav1.GetOptions{}); err != nil {
		t.Errorf("the spec's config does not reach the peer: %v", err)
	}

	rotated := kubeconfigBytes(t, peer, "rotated")
	secret.Data["peer"] = rotated
	if _, err := local.Client().CoreV1().Secrets(ns).Update(ctx, secret, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "peer re-specced with the rotated token", func() error {
		if s := mustPeer(t, rec, "peer"); s.Hash != hashOf(rotated) || s.Config.BearerToken != peer.Token("rotated") {
			return fmt.Errorf("hash %s, want %s", s.Hash, hashOf(rotated))
		}
		return nil
	})

	if err := local.Client().CoreV1().Secrets(ns).Delete(ctx, secret.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	rec.waitPeers(t)
}

func TestRemoteSecretsNeedTheLabel(t *testing.T) {
	local, peer := clusters(t)
	ctx := context.Background()
	ns := newTestNamespace(t, local, "rs-")
	admin := kubeconfigBytes(t, peer, "admin")
	ghost := createSecret(t, local, ns, remoteSecret("no-label", "", map[string][]byte{"ghost": admin}))
	createSecret(t, local, ns, remoteSecret("label-false", "false", map[string][]byte{"phantom": admin}))
	rec := startDiscovery(t, local.Client(), ns, sync.PeerOptions{})
	rec.waitPeers(t) // the first complete list: neither secret

	createSecret(t, local, ns, remoteSecret("labelled", "true", map[string][]byte{"peer": admin}))
	rec.waitPeers(t, "peer")

	ghost.Labels = map[string]string{sync.RemoteSecretLabel: "true"}
	ghost, err := local.Client().CoreV1().Secrets(ns).Update(ctx, ghost, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec.waitPeers(t, "ghost", "peer")
	ghost.Labels = nil
	if _, err := local.Client().CoreV1().Secrets(ns).Update(ctx, ghost, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	rec.waitPeers(t, "peer")
}

func TestRemoteSecretsSkipBrokenEntries(t *testing.T) {
	local, peer := clusters(t)
	ns := newTestNamespace(t, local, "rs-")
	core, logs := observer.New(zap.WarnLevel)
	var mu gosync.Mutex
	var reported []error
	onError := func(err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() }
	rec := startDiscovery(t, local.Client(), ns, sync.PeerOptions{Log: zap.New(core), OnError: onError})

	token := peer.Token("admin")
	admin := kubeconfigBytes(t, peer, "admin")
	createSecret(t, local, ns, remoteSecret("mixed", "true", map[string][]byte{
		"peer":     admin,
		"broken":   []byte("{" + token),
		"Bad_Name": admin,
		"unsafe":   []byte(`{"apiVersion": "v1", "kind": "Config", "current-context": "x", "contexts": [{"name": "x", "context": {"cluster": "x", "user": "x"}}], "clusters": [{"name": "x", "cluster": {"server": "https://192.0.2.1"}}], "users": [{"name": "x", "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "/bin/sh", "interactiveMode": "Never"}}}]}`),
	}))
	rec.waitPeers(t, "peer")
	eventually(t, "three entries logged", func() error {
		if n := logs.FilterMessage("remote secret entry skipped").Len(); n != 3 {
			return fmt.Errorf("%d lines", n)
		}
		return nil
	})
	for _, e := range logs.FilterMessage("remote secret entry skipped").All() {
		fields := fmt.Sprint(e.ContextMap())
		if e.ContextMap()["secret"] != ns+"/mixed" || slices.Contains([]any{"peer", nil}, e.ContextMap()["key"]) {
			t.Errorf("log line does not name the secret and the broken key: %s", fields)
		}
		if slices.ContainsFunc([]string{token, "/bin/sh"}, func(s string) bool { return strings.Contains(fields, s) }) {
			t.Errorf("log line shows the secret's content: %s", fields)
		}
		t.Log(e.Message, fields)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reported) != 3 {
		t.Errorf("OnError called %d times, want 3", len(reported))
	}
}

func TestRemoteSecretsOneClusterInTwoSecrets(t *testing.T) {
	local, peer := clusters(t)
	ctx := context.Background()
	ns := newTestNamespace(t, local, "rs-")
	core, logs := observer.New(zap.WarnLevel)
	rec := startDiscovery(t, local.Client(), ns, sync.PeerOptions{Log: zap.New(core)})
	admin, rotated := kubeconfigBytes(t, peer, "admin"), kubeconfigBytes(t, peer, "rotated")
	first := createSecret(t, local, ns, remoteSecret("zz-first", "true", map[string][]byte{"peer": admin}))
	second := createSecret(t, local, ns, remoteSecret("aa-second", "true", map[string][]byte{"peer": rotated}))

	// The older secret wins; created within the same second, the name that sorts first.
	winner, want := first, hashOf(admin)
	if first.CreationTimestamp.Equal(&second.CreationTimestamp) {
		winner, want = second, hashOf(rotated)
	}
	eventually(t, "conflict logged", func() error {
		if logs.FilterMessageSnippet("more than one remote secret").Len() == 0 {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	if got := mustPeer(t, rec, "peer").Hash; got != want {
		t.Errorf("the peer's kubeconfig is not the one of %s, the secret that should win", winner.Name)
	}
	if err := local.Client().CoreV1().Secrets(ns).Delete(ctx, winner.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the remaining secret takes over", func() error {
		if mustPeer(t, rec, "peer").Hash == want {
			return fmt.Errorf("still the deleted secret's kubeconfig")
		}
		return nil
	})
}

// Through the PeerSet: a remote secret makes its peer watched, whose services and gateway reach
// the clusters; deleting the secret stops the peer.
func TestRemoteSecretsRunPeers(t *testing.T) {
	local, peer := clusters(t)
	ctx, cancel := context.WithCancel(context.Background())
	ns := newTestNamespace(t, local, "rs-")
	gateway := types.NamespacedName{Namespace: newTestNamespace(t, peer, "rs-gw-"), Name: "gw"}
	createLoadBalancer(t, peer, gateway, "203.0.113.50")
	app := newTestNamespace(t, peer, "rs-app-")
	createLoadBalancer(t, peer, types.NamespacedName{Namespace: app, Name: "web"}, "")

	src := sync.NewRemoteSecrets(local.Client(), ns, sync.PeerOptions{Gateway: gateway})
	done := make(chan struct{})
	go func() { defer close(done); src.Run(ctx, func() {}) }()
	t.Cleanup(func() { cancel(); <-done })
	if src.Name() != "remote_secret" {
		t.Errorf("Name() = %q", src.Name())
	}

	s := createSecret(t, local, ns, remoteSecret("istio-remote-secret-peer", "true",
		map[string][]byte{"peer": kubeconfigBytes(t, peer, "admin")}))
	waitClusters(t, src, "peer")
	eventually(t, "peer live, with its gateway and service", func() error {
		clusters, _ := src.Clusters()
		c := clusters[0]
		web := slices.ContainsFunc(c.Services, func(s resolver.Service) bool { return s.Namespace == app && s.Name == "web" })
		if c.State != resolver.Live || fmt.Sprint(c.Gateway.Addresses) != "[203.0.113.50]" || !web {
			return fmt.Errorf("state %v, gateway %v, %s/web served %v", c.State, c.Gateway.Addresses, app, web)
		}
		return nil
	})

	if err := local.Client().CoreV1().Secrets(ns).Delete(ctx, s.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitClusters(t, src)
}

// createLoadBalancer creates a LoadBalancer Service in c and, when ip is given, writes it into
// its status, as a cloud controller would.
func createLoadBalancer(t *testing.T, c *testbed.Cluster, name types.NamespacedName, ip string) {
	t.Helper()
	ctx := context.Background()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name.Name},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer,
			Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}
	services := c.Client().CoreV1().Services(name.Namespace)
	svc, err := services.Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create service %s in %s: %v", name, c.Name, err)
	}
	if ip == "" {
		return
	}
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: ip}}
	if _, err := services.UpdateStatus(ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("load-balancer status of %s in %s: %v", name, c.Name, err)
	}
}
