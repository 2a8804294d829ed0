package deploy

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/peerdns/peerdns/test/e2e"
	"github.com/peerdns/peerdns/test/testbed"
)

// syncStubsValues turn on the chart's sync-stubs Deployment, for a CoreDNS cluster DNS.
const syncStubsValues = `
namespace: {create: true}
remoteNamespaces: {enabled: true}
syncStubs: {enabled: true, target: coredns, resync: 30s}
`

// syncStubsName is the sync-stubs objects' name in release peerdns.
const syncStubsName = "peerdns-sync-stubs"

// renderSyncStubs renders the chart with syncStubsValues as release peerdns in namespace
// peerdns.
func renderSyncStubs(t *testing.T) []document {
	t.Helper()
	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte(syncStubsValues), 0o644); err != nil {
		t.Fatal(err)
	}
	out := runHelm(t, "template", "peerdns", chartDir, "--namespace", "peerdns", "--values", values)
	docs, err := parseDocuments([]byte(out))
	if err != nil {
		t.Fatalf("helm template with sync-stubs: %v\n%s", err, out)
	}
	return docs
}

// syncStubsDeployment is the sync-stubs Deployment of o.
func (o *objects) syncStubsDeployment(t *testing.T) *appsv1.Deployment {
	t.Helper()
	for _, d := range o.deployments {
		if d.Name == syncStubsName {
			return d
		}
	}
	t.Fatalf("no Deployment %s", syncStubsName)
	return nil
}

// TestSyncStubsObjects: with syncStubs.enabled the chart adds exactly the sync-stubs identity,
// its grants and its Deployment, beside the objects of the plain manifests. It may read and
// update the target's one ConfigMap and nothing else in kube-system, list and watch namespaces,
// and read the remote secrets; its pod passes the same security checks as the server's, and
// neither workload's selectors pick the other's pods.
func TestSyncStubsObjects(t *testing.T) {
	docs := renderSyncStubs(t)
	var got, want []string
	for _, d := range docs {
		got = append(got, d.String())
	}
	for _, d := range readDocuments(t, manifestsFile) {
		want = append(want, d.String())
	}
	want = append(want,
		"ServiceAccount peerdns/"+syncStubsName,
		"ClusterRole "+syncStubsName,
		"ClusterRoleBinding "+syncStubsName,
		"Role kube-system/"+syncStubsName,
		"RoleBinding kube-system/"+syncStubsName,
		"RoleBinding istio-system/"+syncStubsName,
		"Deployment peerdns/"+syncStubsName,
	)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("objects with syncStubs.enabled:\n%q\nwant\n%q", got, want)
	}

	o := typed(t, docs)
	sa := rbacv1.Subject{Kind: "ServiceAccount", Name: syncStubsName, Namespace: "peerdns"}
	for _, r := range o.clusterRoles {
		if r.Name == syncStubsName {
			checkRules(t, "ClusterRole "+r.Name, r.Rules, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"namespaces"}})
		}
	}
	for _, r := range o.roles {
		if r.Name == syncStubsName {
			wantRules := []rbacv1.PolicyRule{{
				APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"coredns"},
				Verbs: []string{"get", "update"},
			}}
			if !reflect.DeepEqual(r.Rules, wantRules) {
				t.Errorf("Role %s/%s rules %+v, want %+v", r.Namespace, r.Name, r.Rules, wantRules)
			}
		}
	}
	for _, b := range o.clusterRoleBindings {
		if b.Name == syncStubsName {
			checkBinding(t, b.Name, b.RoleRef, b.Subjects, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: syncStubsName}, sa)
		}
	}
	for _, b := range o.roleBindings {
		if b.Name != syncStubsName {
			continue
		}
		role := syncStubsName
		if b.Namespace == "istio-system" {
			role = "peerdns-remote-secrets" // the server's Role for the remote secrets
		}
		checkBinding(t, b.Namespace+"/"+b.Name, b.RoleRef, b.Subjects, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role}, sa)
	}

	d := o.syncStubsDeployment(t)
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("sync-stubs: replicas %v, strategy %s; want one pod, Recreate", d.Spec.Replicas, d.Spec.Strategy.Type)
	}
	pod := d.Spec.Template.Spec
	if pod.ServiceAccountName != syncStubsName {
		t.Errorf("sync-stubs runs as %q, want %s", pod.ServiceAccountName, syncStubsName)
	}
	checkPodSecurity(t, pod)
	c := one(t, "sync-stubs containers", pod.Containers)
	checkContainerSecurity(t, c)
	if !slices.Equal(c.Command, []string{"/peerdnsctl"}) || len(c.Args) == 0 || c.Args[0] != "sync-stubs" || !slices.Contains(c.Args, "--watch") {
		t.Errorf("sync-stubs runs %q %q, want /peerdnsctl sync-stubs --watch", c.Command, c.Args)
	}

	server := one(t, "Services", o.services)
	for what, sel := range map[string]map[string]string{
		"the server's Service":             server.Spec.Selector,
		"the server's Deployment":          o.serverDeployment(t).Spec.Selector.MatchLabels,
		"the server's PodDisruptionBudget": one(t, "PodDisruptionBudgets", o.budgets).Spec.Selector.MatchLabels,
	} {
		if labels.SelectorFromSet(sel).Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("%s (%v) selects the sync-stubs pod %v", what, sel, d.Spec.Template.Labels)
		}
	}
	if labels.SelectorFromSet(d.Spec.Selector.MatchLabels).Matches(labels.Set(o.serverDeployment(t).Spec.Template.Labels)) {
		t.Errorf("the sync-stubs Deployment (%v) selects the server's pods", d.Spec.Selector.MatchLabels)
	}
}

// serverDeployment is the Deployment of o that is not sync-stubs.
func (o *objects) serverDeployment(t *testing.T) *appsv1.Deployment {
	t.Helper()
	var servers []*appsv1.Deployment
	for _, d := range o.deployments {
		if d.Name != syncStubsName {
			servers = append(servers, d)
		}
	}
	return one(t, "server Deployments", servers)
}

// TestSyncStubsInCluster runs peerdnsctl with the rendered Deployment's arguments, as its
// ServiceAccount with exactly the rendered grants, against a real API server: a namespace that
// only a peer (from an Istio remote secret) has becomes a stub domain of the CoreDNS ConfigMap,
// and the same identity is refused the kube-dns ConfigMap.
func TestSyncStubsInCluster(t *testing.T) {
	local.LogOnFailure(t)
	ctx := context.Background()
	east := testbed.StartT(t, testbed.Options{}, "east")[0]
	east.LogOnFailure(t)
	err := east.CreateGateway(ctx, "istio-system", "istio-ingressgateway", corev1.ServicePort{Name: "tls", Port: 15443}, "203.0.113.70")
	if err == nil {
		err = east.EnsureNamespace(ctx, "remote-only")
	}
	if err == nil {
		_, err = east.CreateService(ctx, "remote-only", "cart", corev1.ServiceTypeClusterIP, corev1.ServicePort{Name: "http", Port: 8080})
	}
	if err != nil {
		t.Fatal(err)
	}

	docs := renderSyncStubs(t)
	a := newApplier(t)
	for _, d := range a.applyForReal(t, docs) {
		switch d.obj.GetKind() {
		case "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding":
			if _, err := a.apply(ctx, d, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	identity, err := local.ServiceAccountKubeconfig(ctx, "peerdns", syncStubsName)
	if err != nil {
		t.Fatal(err)
	}
	createRemoteSecret(t, "istio-system", "east", east.Kubeconfig)

	cms := local.Client().CoreV1().ConfigMaps("kube-system")
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "coredns", Namespace: "kube-system"},
		Data:       map[string]string{"Corefile": ".:53 {\n    errors\n    forward . /etc/resolv.conf\n}\n"},
	}
	if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cms.Delete(ctx, "coredns", metav1.DeleteOptions{}) })
	if out, err := exec.Command(ctlBin, "--kubeconfig", local.Kubeconfig, "install", "--target", "coredns", "--server", "10.96.0.53").CombinedOutput(); err != nil {
		t.Fatalf("peerdnsctl install: %v\n%s", err, out)
	}

	c := one(t, "sync-stubs containers", typed(t, docs).syncStubsDeployment(t).Spec.Template.Spec.Containers)
	proc := e2e.StartProcess(t, ctlBin, append([]string{"--kubeconfig", identity}, c.Args...)...)

	const zone = " remote-only.svc.cluster.local:53"
	start := time.Now()
	for {
		got, err := cms.Get(ctx, "coredns", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(got.Data["Corefile"], zone) {
			break
		}
		if time.Since(start) > 45*time.Second {
			t.Fatalf("no stub domain %q within 45s; Corefile:\n%s", zone, got.Data["Corefile"])
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("remote-only namespace of east to stub domain, as the sync-stubs ServiceAccount: %v", time.Since(start).Round(time.Millisecond))

	proc.Stop(t)

	out, err := exec.Command(ctlBin, "--kubeconfig", identity, "install", "--target", "kube-dns", "--server", "10.96.0.53").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "forbidden") {
		t.Errorf("install into kube-dns as the sync-stubs ServiceAccount: %v\n%s\nwant forbidden", err, out)
	}
}
