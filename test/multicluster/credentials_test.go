package multicluster

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// TestBrokenCredentials: three more peers, all pointing at west's API server, cannot be read: one
// kubeconfig trusts the wrong certificate authority (east's), one has a token the API server
// never issued, one a token of a ServiceAccount that has been deleted (revoked). For each, the
// server logs an error that names the peer and the cause; east and west, with good credentials,
// are answered as usual (SPEC section 7).
func TestBrokenCredentials(t *testing.T) {
	logClustersOnFailure(t)
	ns := newNamespace(t, east, west)
	createService(t, east, ns, "api", nil)
	createService(t, west, ns, "db", nil)
	dir := t.TempDir()
	good := kubeconfigToken(t, identity[west.Name])
	writeKubeconfig(t, filepath.Join(dir, "peers", "wrongca.yaml"), "wrongca", west.URL, east.CA, good)
	writeKubeconfig(t, filepath.Join(dir, "peers", "badtoken.yaml"), "badtoken", west.URL, west.CA, "not-a-token")
	writeKubeconfig(t, filepath.Join(dir, "peers", "revoked.yaml"), "revoked", west.URL, west.CA, revokedToken(t, ns))

	s := start(t, setup{dir: dir, peers: peers(east, west), extra: []string{"startup_timeout 3s"}})
	await(t, s, settle, addrs(defaultGateways["east"].ips...), "api."+ns+".global", "A")
	await(t, s, settle, addrs(defaultGateways["west"].ips...), "db."+ns+".global", "A")
	check(t, s, txt("west", `state=live`), "db."+ns+".global", "TXT")

	unauthorized := `(?i)unauthori[sz]ed|\b401\b|refuse[sd]? (our|the) credentials`
	for peer, cause := range map[string]string{
		"wrongca":  `(?i)x509|certificate|tls`,
		"badtoken": unauthorized,
		"revoked":  unauthorized,
	} {
		line := awaitLog(t, s, settle, `^\[(WARNING|ERROR)\] `, `\bpeer=`+peer+`\b`, cause)
		t.Logf("%s: %s", peer, line)
	}
	check(t, s, addrs(defaultGateways["east"].ips...), "api."+ns+".global", "A")
	if !s.Alive() {
		t.Fatal("the server exited")
	}
}

// kubeconfigToken returns the bearer token of a kubeconfig's current context.
func kubeconfigToken(t *testing.T, path string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, ok := cfg.Contexts[cfg.CurrentContext]
	if !ok || cfg.AuthInfos[ctx.AuthInfo] == nil {
		t.Fatalf("%s: no current context with a user", path)
	}
	return cfg.AuthInfos[ctx.AuthInfo].Token
}

// writeKubeconfig writes a kubeconfig whose context, cluster and user are all called name.
func writeKubeconfig(t *testing.T, path, name, server string, ca []byte, token string) {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	cfg.CurrentContext = name
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
}

// revokedToken returns the token of a ServiceAccount of west that had peerdns's rights and has
// been deleted, once west refuses it.
func revokedToken(t *testing.T, ns string) string {
	t.Helper()
	ctx := context.Background()
	name := "revoked-" + ns
	path, err := west.ServiceAccountKubeconfig(ctx, rbacNamespace, name)
	if err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "peerdns"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: rbacNamespace, Name: name}},
	}
	if _, err := west.Client().RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := west.Client().CoreV1().ServiceAccounts(rbacNamespace).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// The API server caches a token it accepted for up to ten seconds.
	k := clientFor(t, path)
	deadline := time.Now().Add(settle)
	for {
		_, err := k.CoreV1().Services("").List(ctx, metav1.ListOptions{Limit: 1})
		if apierrors.IsUnauthorized(err) {
			return kubeconfigToken(t, path)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the deleted ServiceAccount's token is still accepted: err = %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
