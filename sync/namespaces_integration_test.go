package sync_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/peerdns/peerdns/sync"
	"github.com/peerdns/peerdns/test/testbed"
)

// startNamespaces runs the local namespaces source through client until the test ends, and
// counts its changed signals.
func startNamespaces(t *testing.T, client kubernetes.Interface) (*sync.LocalNamespaces, *atomic.Int64) {
	src := sync.NewLocalNamespaces(client, nil)
	var signals atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); src.Run(ctx, func() { signals.Add(1) }) }()
	t.Cleanup(func() { cancel(); <-done })
	return src, &signals
}

// waitNamespace waits until name is among the source's namespaces, or not.
func waitNamespace(t *testing.T, src *sync.LocalNamespaces, name string, present bool) {
	t.Helper()
	eventually(t, fmt.Sprintf("namespace %s local: %v", name, present), func() error {
		if _, found := slices.BinarySearch(src.Namespaces(), name); found != present {
			return fmt.Errorf("found %v", found)
		}
		return nil
	})
}

func TestLocalNamespacesFollowTheCluster(t *testing.T) {
	local, _ := clusters(t)
	ctx := context.Background()
	client, err := sync.LocalClient(local.Kubeconfig, "")
	if err != nil {
		t.Fatal(err)
	}
	src, signals := startNamespaces(t, client)
	if src.Name() != "local_namespaces" {
		t.Errorf("Name() = %q", src.Name())
	}
	waitNamespacesReady(t, src)
	names := src.Namespaces()
	if !slices.IsSorted(names) || !slices.Contains(names, "default") || !slices.Contains(names, "kube-system") {
		t.Errorf("namespaces = %v, want sorted, with default and kube-system", names)
	}
	if signals.Load() == 0 {
		t.Error("ready without a changed signal")
	}

	before := signals.Load()
	ns := newTestNamespace(t, local, "ln-")
	waitNamespace(t, src, ns, true)
	eventually(t, "changed signalled", func() error {
		if signals.Load() == before {
			return fmt.Errorf("no signal")
		}
		return nil
	})

	deleteToTerminating(t, local, ns)
	// Events arrive in order: once a namespace created after the delete is seen, the
	// Terminating update has been seen too. A Terminating namespace is still local.
	marker := newTestNamespace(t, local, "ln-marker-")
	waitNamespace(t, src, marker, true)
	waitNamespace(t, src, ns, true)

	finalize(t, local, ns)
	if _, err := local.Client().CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("finalized namespace: err = %v, want NotFound", err)
	}
	waitNamespace(t, src, ns, false)
}

// waitNamespacesReady waits until the source has listed the namespaces; it has no clusters.
func waitNamespacesReady(t *testing.T, src *sync.LocalNamespaces) {
	t.Helper()
	eventually(t, "local namespaces ready", func() error {
		if clusters, ready := src.Clusters(); !ready || clusters != nil {
			return fmt.Errorf("ready %v, clusters %v", ready, clusters)
		}
		return nil
	})
}

// deleteToTerminating deletes the namespace; with no namespace controller it stays Terminating.
func deleteToTerminating(t *testing.T, c *testbed.Cluster, ns string) {
	t.Helper()
	ctx := context.Background()
	namespaces := c.Client().CoreV1().Namespaces()
	if err := namespaces.Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := namespaces.Get(ctx, ns, metav1.GetOptions{})
	if err != nil || got.Status.Phase != corev1.NamespaceTerminating {
		t.Fatalf("deleted namespace: err %v, phase %v; want it Terminating", err, got.Status.Phase)
	}
}

// finalize does what the namespace controller does once a namespace is empty: it clears the
// finalizers and deletes the namespace again, which removes it.
func finalize(t *testing.T, c *testbed.Cluster, ns string) {
	t.Helper()
	ctx := context.Background()
	namespaces := c.Client().CoreV1().Namespaces()
	got, err := namespaces.Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got.Spec.Finalizers = nil
	if _, err := namespaces.Finalize(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := namespaces.Delete(ctx, ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
}

// The local namespaces source runs with a ServiceAccount that may only list and watch
// Namespaces, as deploy/ grants it.
func TestLocalNamespacesLeastPrivilege(t *testing.T) {
	local, _ := clusters(t)
	ctx := context.Background()
	home := newTestNamespace(t, local, "ln-home-")
	client := serviceAccountClient(t, local, home, "peerdns")
	grantNamespaceWatcher(t, local, home, "peerdns")
	src, _ := startNamespaces(t, client)
	waitNamespace(t, src, home, true)
	if _, err := client.CoreV1().Namespaces().Get(ctx, home, metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("get namespace: err = %v, want Forbidden (list and watch suffice)", err)
	}
}

// grantNamespaceWatcher binds the ServiceAccount ns/name to a ClusterRole that may list and
// watch Namespaces, and nothing else.
func grantNamespaceWatcher(t *testing.T, c *testbed.Cluster, ns, name string) {
	t.Helper()
	ctx := context.Background()
	roleName := "peerdns-namespaces-" + ns
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: roleName},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"list", "watch"},
		}},
	}
	if _, err := c.Client().RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: roleName},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: roleName},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}},
	}
	if _, err := c.Client().RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
