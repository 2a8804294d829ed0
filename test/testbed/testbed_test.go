package testbed_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/peerdns/peerdns/test/testbed"
)

// east and west run for the whole test binary, as peers would.
var east, west *testbed.Cluster

// reader is a token identity with no permissions of its own.
const reader = "reader"

func TestMain(m *testing.M) {
	clusters, err := testbed.StartAll(context.Background(), testbed.Options{Users: []string{reader}}, "east", "west")
	if err != nil {
		fmt.Fprintln(os.Stderr, "testbed:", err)
		os.Exit(1)
	}
	east, west = clusters[0], clusters[1]
	code := m.Run()
	testbed.StopAll(clusters...)
	os.Exit(code)
}

func TestLoadBalancerStatusIsKeptPerCluster(t *testing.T) {
	east.LogOnFailure(t)
	ctx := context.Background()
	ns := newNamespace(t, east)
	svc := createLoadBalancer(t, east, ns, "web")

	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{
		{IP: "127.0.0.10"}, {Hostname: "web.lb.test"},
	}
	if _, err := east.Client().CoreV1().Services(ns).UpdateStatus(ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update status: %v", err)
	}
	got, err := clientFor(t, east.Kubeconfig).CoreV1().Services(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("read back through the admin kubeconfig: %v", err)
	}
	ingress := got.Status.LoadBalancer.Ingress
	if len(ingress) != 2 || ingress[0].IP != "127.0.0.10" || ingress[1].Hostname != "web.lb.test" {
		t.Errorf("ingress = %+v, want 127.0.0.10 and web.lb.test", ingress)
	}
	if got.Spec.ClusterIP == "" || got.Spec.Ports[0].NodePort == 0 {
		t.Errorf("the API server allocated no cluster IP or node port: %+v", got.Spec)
	}

	if _, err := west.Client().CoreV1().Services(ns).Get(ctx, "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("west sees east's service: err = %v, want NotFound", err)
	}
}

func TestCredentialsArePerCluster(t *testing.T) {
	ctx := context.Background()
	path, err := west.KubeconfigFor("admin", east.Token("admin"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = clientFor(t, path).CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if !apierrors.IsUnauthorized(err) {
		t.Errorf("east's admin token on west: err = %v, want Unauthorized", err)
	}
	if east.Token("admin") == west.Token("admin") || string(east.CA) == string(west.CA) {
		t.Error("east and west share a token or a CA")
	}
}

func TestTokenIdentityNeedsRBAC(t *testing.T) {
	east.LogOnFailure(t)
	ctx := context.Background()
	path, err := east.KubeconfigFor(reader, east.Token(reader))
	if err != nil {
		t.Fatal(err)
	}
	client := clientFor(t, path)
	if _, err := client.CoreV1().Services("").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("list without RBAC: err = %v, want Forbidden", err)
	}

	grantServiceReader(t, east, rbacv1.Subject{Kind: rbacv1.UserKind, Name: reader})
	waitFor(t, "reader may list services", func() error {
		_, err := client.CoreV1().Services("").List(ctx, metav1.ListOptions{})
		return err
	})
	w, err := client.CoreV1().Services("").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("watch with RBAC: %v", err)
	}
	w.Stop()
	if _, err := client.CoreV1().Secrets("default").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("list secrets: err = %v, want Forbidden", err)
	}

	forged, err := east.KubeconfigFor(reader, "not-a-token")
	if err != nil {
		t.Fatal(err)
	}
	_, err = clientFor(t, forged).CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if !apierrors.IsUnauthorized(err) {
		t.Errorf("unknown token: err = %v, want Unauthorized", err)
	}
}

func TestServiceAccountTokenIsRevokedWithItsAccount(t *testing.T) {
	west.LogOnFailure(t)
	ctx := context.Background()
	ns := newNamespace(t, west)
	path, err := west.ServiceAccountKubeconfig(ctx, ns, "peerdns")
	if err != nil {
		t.Fatal(err)
	}
	client := clientFor(t, path)
	grantServiceReader(t, west, rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "peerdns"})
	waitFor(t, "service account may list services", func() error {
		_, err := client.CoreV1().Services("").List(ctx, metav1.ListOptions{})
		return err
	})

	err = west.Client().CoreV1().ServiceAccounts(ns).Delete(ctx, "peerdns", metav1.DeleteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "deleted service account's token refused", func() error {
		_, err := client.CoreV1().Services("").List(ctx, metav1.ListOptions{})
		if apierrors.IsUnauthorized(err) {
			return nil
		}
		return fmt.Errorf("err = %v, want Unauthorized", err)
	})
}

func TestKilledClusterComesBackWithItsData(t *testing.T) {
	// A cluster of its own: killing a shared one would disturb other tests.
	north := testbed.StartT(t, testbed.Options{}, "north")[0]
	ctx := context.Background()
	ns := newNamespace(t, north)
	createLoadBalancer(t, north, ns, "db")
	client := clientFor(t, north.Kubeconfig)

	north.Kill()
	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := client.CoreV1().Services(ns).Get(short, "db", metav1.GetOptions{}); err == nil {
		t.Fatal("a killed cluster answered")
	}

	if err := north.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Services(ns).Get(ctx, "db", metav1.GetOptions{}); err != nil {
		t.Fatalf("after restart, through the client made before the kill: %v", err)
	}
	if _, err := clientFor(t, north.Kubeconfig).CoreV1().Services(ns).Get(ctx, "db", metav1.GetOptions{}); err != nil {
		t.Fatalf("after restart, through a new client: %v", err)
	}
}

func TestMissingBinariesFail(t *testing.T) {
	t.Setenv("PEERDNS_TESTBED_DIR", t.TempDir())
	_, err := testbed.Start(context.Background(), "nowhere", testbed.Options{})
	if !errors.Is(err, testbed.ErrNotBuilt) {
		t.Fatalf("err = %v, want ErrNotBuilt", err)
	}
	t.Log(err)
}

// newNamespace creates a namespace of its own for the test: deleted ones
// stay Terminating, with no controller to finish the job.
func newNamespace(t *testing.T, c *testbed.Cluster) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "test-"}}
	ns, err := c.Client().CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace in %s: %v", c.Name, err)
	}
	return ns.Name
}

func createLoadBalancer(t *testing.T, c *testbed.Cluster, ns, name string) *corev1.Service {
	t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{
			Type:  corev1.ServiceTypeLoadBalancer,
			Ports: []corev1.ServicePort{{Name: "http", Port: 80}},
		},
	}
	svc, err := c.Client().CoreV1().Services(ns).Create(context.Background(), svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create service %s/%s in %s: %v", ns, name, c.Name, err)
	}
	return svc
}

// grantServiceReader lets subject list and watch Services cluster-wide, and
// nothing else.
func grantServiceReader(t *testing.T, c *testbed.Cluster, subject rbacv1.Subject) {
	t.Helper()
	ctx := context.Background()
	name := "service-reader-" + rbacName(subject)
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"list", "watch"},
		}},
	}
	if _, err := c.Client().RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects:   []rbacv1.Subject{subject},
	}
	if _, err := c.Client().RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func rbacName(s rbacv1.Subject) string {
	if s.Namespace != "" {
		return s.Namespace + "-" + s.Name
	}
	return s.Name
}

func clientFor(t *testing.T, kubeconfig string) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatalf("load %s: %v", kubeconfig, err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// waitFor retries check until it succeeds or 30 seconds pass. RBAC changes
// reach the API server's authorizer within moments; a token it accepted
// stays accepted for up to 10 seconds (its token cache, not configurable).
func waitFor(t *testing.T, what string, check func() error) {
	t.Helper()
	const patience = 30 * time.Second
	deadline := time.Now().Add(patience)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after %v: %v", what, patience, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
