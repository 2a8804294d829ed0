package kubetest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/peerdns/peerdns/resolver"
	peersync "github.com/peerdns/peerdns/sync"
	"github.com/peerdns/peerdns/test/testbed"
)

// peerEntry is one context of a kubeconfig file written by a test.
type peerEntry struct {
	name  string // the context, hence the peer
	c     *testbed.Cluster
	ca    []byte // nil: the cluster's own
	token string
}

// writeKubeconfig writes a kubeconfig with one context per entry.
func writeKubeconfig(t *testing.T, path string, entries ...peerEntry) {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	for _, e := range entries {
		ca := e.ca
		if ca == nil {
			ca = e.c.CA
		}
		cfg.Clusters[e.name] = &clientcmdapi.Cluster{Server: e.c.URL, CertificateAuthorityData: ca}
		cfg.AuthInfos[e.name] = &clientcmdapi.AuthInfo{Token: e.token}
		cfg.Contexts[e.name] = &clientcmdapi.Context{Cluster: e.name, AuthInfo: e.name}
	}
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
}

// errorLog collects what a source passes to OnError.
type errorLog struct {
	mu   gosync.Mutex
	errs []string
}

func (l *errorLog) add(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err.Error())
}

func (l *errorLog) has(sub string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.errs {
		if strings.Contains(e, sub) {
			return true
		}
	}
	return false
}

// A folder of kubeconfigs: files added, removed and broken are picked up without a restart.
func TestKubeconfigFolder(t *testing.T) {
	t.Parallel()
	east, west := peers(t)
	ns := newNamespace(t, east, "kubeconfig-")
	dir := t.TempDir()
	writeKubeconfig(t, filepath.Join(dir, "east.yaml"), peerEntry{name: "east", c: east, token: east.Token("admin")})
	writeKubeconfig(t, filepath.Join(dir, "west.yaml"), peerEntry{name: "West", c: west, token: west.Token("admin")})
	if err := os.WriteFile(filepath.Join(dir, ".hidden"), []byte("not a kubeconfig"), 0o600); err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.InfoLevel)
	errs := &errorLog{}
	src, err := peersync.NewKubeconfig(dir, peersync.PeerOptions{Namespaces: []string{ns}, Log: zap.New(core), OnError: errs.add})
	if err != nil {
		t.Fatal(err)
	}
	run(t, src)
	waitCluster(t, src, "east", "live", inState(resolver.Live))
	waitCluster(t, src, "west", "live (context West, lower-cased)", inState(resolver.Live))

	third := filepath.Join(dir, "east2.yaml")
	writeKubeconfig(t, third, peerEntry{name: "east2", c: east, token: east.Token("admin")})
	waitCluster(t, src, "east2", "added with its file", inState(resolver.Live))
	if err := os.Remove(third); err != nil {
		t.Fatal(err)
	}
	waitGone(t, src, "east2")

	westFile := filepath.Join(dir, "west.yaml")
	good, err := os.ReadFile(westFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(westFile, []byte("apiVersion: v1\nkind: Config\nclusters: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitLog(t, logs, "kubeconfig file rejected, keeping its previous peers", "")
	if !errs.has(westFile) {
		t.Errorf("no error naming %s reported: %v", westFile, errs.errs)
	}
	waitCluster(t, src, "west", "kept while its file is broken", inState(resolver.Live))
	waitCluster(t, src, "east", "unaffected", inState(resolver.Live))
	if err := os.WriteFile(westFile, good, 0o600); err != nil {
		t.Fatal(err)
	}
	waitLog(t, logs, "kubeconfig file usable again", "")
}

func TestKubeconfigMissing(t *testing.T) {
	if _, err := peersync.NewKubeconfig(filepath.Join(t.TempDir(), "nope"), peersync.PeerOptions{}); err == nil {
		t.Error("a missing path gave no error")
	}
}

// Credentials a real server refuses: a clear reason per peer, once, and the other peers live.
// The least-privilege identity (list and watch Services) is enough.
func TestRefusedCredentials(t *testing.T) {
	t.Parallel()
	east, west := peers(t)
	ns := newNamespace(t, west, "creds-")
	createService(t, west, ns, "web", nil)
	path := filepath.Join(t.TempDir(), "peers.yaml")
	writeKubeconfig(t, path,
		peerEntry{name: "bad-token", c: east, token: "not-a-token"},
		peerEntry{name: "wrong-ca", c: east, ca: west.CA, token: east.Token("admin")},
		peerEntry{name: "forbidden", c: east, token: east.Token("peerdns")},
		peerEntry{name: "least", c: east, token: leastPrivilegeToken(t, east)},
		peerEntry{name: "west", c: west, token: west.Token("admin")})
	core, logs := observer.New(zap.InfoLevel)
	src, err := peersync.NewKubeconfig(path, peersync.PeerOptions{Namespaces: []string{ns}, Log: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	run(t, src)
	waitCluster(t, src, "west", "live", serves(ns+"/web"))
	waitCluster(t, src, "least", "live with list/watch on services only", inState(resolver.Live))
	for peer, want := range map[string]string{
		"bad-token": "credentials rejected (401): token expired or revoked?",
		"wrong-ca":  "the server's certificate is not signed by the kubeconfig's CA",
		"forbidden": "forbidden (403): the identity may not list/watch services: check RBAC",
	} {
		if got := waitLog(t, logs, "peer cannot sync", peer); got != want {
			t.Errorf("%s: reason %q, want %q", peer, got, want)
		}
		waitCluster(t, src, peer, "syncing", inState(resolver.Syncing))
	}
	waitFor(t, "ready, the refused peers settled", func() bool { _, ready := src.Clusters(); return ready })
	for _, peer := range []string{"bad-token", "wrong-ca", "forbidden"} {
		if n := logs.FilterMessage("peer cannot sync").FilterField(zap.String("peer", peer)).Len(); n != 1 {
			t.Errorf("%s: cause logged %d times, want once", peer, n)
		}
	}
}

// leastPrivilegeToken returns the token of a ServiceAccount that may only list and watch
// Services, cluster-wide.
func leastPrivilegeToken(t *testing.T, c *testbed.Cluster) string {
	t.Helper()
	ctx := context.Background()
	ns := newNamespace(t, c, "peerdns-")
	rules := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"list", "watch"}}}
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: ns}, Rules: rules}
	if _, err := c.Client().RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: ns},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "peerdns"}},
	}
	if _, err := c.Client().RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	path, err := c.ServiceAccountKubeconfig(ctx, ns, "peerdns")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.AuthInfos[cfg.Contexts[cfg.CurrentContext].AuthInfo].Token
}
