package sync_test

import (
	"context"
	"fmt"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/peerdns/peerdns/sync"
	"github.com/peerdns/peerdns/test/testbed"
)

// The remote_secrets source runs with the least privilege SPEC section 7 asks for: a
// ServiceAccount that may only list and watch Secrets in the one namespace. Until that is
// granted, the failure is logged; once granted, the source works, without get, and still
// cannot read a Secret anywhere else.
func TestRemoteSecretsLeastPrivilege(t *testing.T) {
	local, peer := clusters(t)
	ctx := context.Background()
	ns := newTestNamespace(t, local, "rs-")
	elsewhere := newTestNamespace(t, local, "rs-elsewhere-")
	admin := kubeconfigBytes(t, peer, "admin")
	createSecret(t, local, elsewhere, remoteSecret("not-ours", "true", map[string][]byte{"elsewhere": admin}))
	client := serviceAccountClient(t, local, ns, "peerdns")

	core, logs := observer.New(zap.WarnLevel)
	rec := startDiscovery(t, client, ns, sync.PeerOptions{Log: zap.New(core)})
	eventually(t, "forbidden list logged", func() error {
		for _, e := range logs.FilterMessageSnippet("cannot list or watch").All() {
			if e.ContextMap()["watching"] == "secrets in namespace "+ns {
				return nil
			}
		}
		return fmt.Errorf("%d warnings, none about the secrets of %s", logs.Len(), ns)
	})
	if _, err := rec.current(); err == nil {
		t.Fatal("discovered without permission to list")
	}

	grantSecretsWatcher(t, local, ns, "peerdns")
	rec.waitPeers(t)
	createSecret(t, local, ns, remoteSecret("istio-remote-secret-peer", "true", map[string][]byte{"peer": admin}))
	rec.waitPeers(t, "peer")

	secrets := client.CoreV1().Secrets
	if _, err := secrets(ns).Get(ctx, "istio-remote-secret-peer", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("get in %s: err = %v, want Forbidden (list and watch suffice)", ns, err)
	}
	if _, err := secrets(elsewhere).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("list in another namespace: err = %v, want Forbidden", err)
	}
	if _, err := secrets("").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("list in every namespace: err = %v, want Forbidden", err)
	}
}

// serviceAccountClient returns a client that acts as the ServiceAccount ns/name of c.
func serviceAccountClient(t *testing.T, c *testbed.Cluster, ns, name string) kubernetes.Interface {
	t.Helper()
	path, err := c.ServiceAccountKubeconfig(context.Background(), ns, name)
	if err != nil {
		t.Fatal(err)
	}
	client, err := sync.LocalClient(path, "")
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// grantSecretsWatcher binds the ServiceAccount ns/name to a Role that may list and watch the
// Secrets of ns: what deploy/ grants the remote_secrets source.
func grantSecretsWatcher(t *testing.T, c *testbed.Cluster, ns, name string) {
	t.Helper()
	ctx := context.Background()
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "peerdns-remote-secrets"},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"list", "watch"},
		}},
	}
	if _, err := c.Client().RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}},
	}
	if _, err := c.Client().RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
