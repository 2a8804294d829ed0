package deploy

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmezard/go-difflib/difflib"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestChartLints: Helm's linter finds nothing to warn about, with the default values and with
// every value changed.
func TestChartLints(t *testing.T) {
	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte(customValues), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"default values": nil,
		"custom values":  {"--values", values},
	} {
		t.Run(name, func(t *testing.T) {
			out := runHelm(t, append([]string{"lint", "--strict", chartDir}, args...)...)
			if !strings.Contains(out, "0 chart(s) failed") {
				t.Errorf("helm lint --strict:\n%s", out)
			}
			t.Logf("helm lint --strict %s:\n%s", strings.Join(args, " "), out)
		})
	}
}

// TestChartRefusesBadValues: a misspelled or missing value, or a server without a source of
// peers, stops the render with a message that says what is wrong (values.schema.json and the
// templates' checks).
func TestChartRefusesBadValues(t *testing.T) {
	for _, c := range []struct{ set, want string }{
		{"replica=3", "additional properties 'replica' not allowed"},
		{"zones=null", "missing property 'zones'"},
		{"zones={global zone}", "does not match pattern"},
		{"image.pullPolicy=Sometimes", "image/pullPolicy"},
		{"remoteSecretsNamespace=", "no source of peers"},
		{"syncStubs.enabled=true", "syncStubs.enabled needs remoteNamespaces.enabled"},
		{"syncStubs.enabled=true,remoteNamespaces.enabled=true,remoteSecretsNamespace=,peerdnsOptions={static /p}",
			"syncStubs.enabled needs remoteSecretsNamespace"},
		{"syncStubs.target=bind", "syncStubs/target"},
		{"syncStubs.resync=5 minutes", "syncStubs/resync"},
	} {
		_, err := tryHelm(t, "template", "peerdns", chartDir, "--set", c.set)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("helm template --set %s: %v, want an error with %q", c.set, err, c.want)
		}
	}
}

// TestManifestsAreTheDefaultRender: deploy/peerdns.yaml is exactly what `make manifests`
// writes from the chart now, so the plain manifests and the chart never drift apart.
func TestManifestsAreTheDefaultRender(t *testing.T) {
	readTree(t, filepath.Join(root, "deploy"))
	if _, err := os.ReadFile(filepath.Join(root, "scripts", "helm.sh")); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "peerdns.yaml")
	cmd := exec.Command(filepath.Join(root, "scripts", "helm.sh"), "manifests", out)
	cmd.Env = append(os.Environ(), "PEERDNS_HELM_DIR="+filepath.Dir(filepath.Dir(helmBin)))
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/helm.sh manifests: %v\n%s", err, msg)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, manifestsFile))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) == string(want) {
		return
	}
	diff, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(string(got)), B: difflib.SplitLines(string(want)),
		FromFile: manifestsFile, ToFile: "the chart's render", Context: 2,
	})
	t.Errorf("%s is not the chart's default render: run make manifests\n%s", manifestsFile, diff)
}

// TestHelmInstallAndUninstall: Helm installs the chart into a real API server (with its own
// namespace, as `helm install --create-namespace` makes it), prints notes that say how to go
// on with peerdnsctl, and uninstalls every object again; with sync-stubs on, so that its objects
// and notes are installed and removed too.
func TestHelmInstallAndUninstall(t *testing.T) {
	local.LogOnFailure(t)
	ctx := context.Background()
	if err := local.EnsureNamespace(ctx, "istio-system"); err != nil {
		t.Fatal(err)
	}
	const release, ns = "helmtest", "helm-install"
	base := []string{"--kubeconfig", local.Kubeconfig, "--namespace", ns}
	out := runHelm(t, append([]string{"install", release, chartDir, "--create-namespace",
		"--set", "remoteNamespaces.enabled=true,syncStubs.enabled=true,syncStubs.target=coredns"}, base...)...)
	t.Cleanup(func() { exec.Command(helmBin, append([]string{"uninstall", release}, base...)...).Run() })
	for _, want := range []string{
		"STATUS: deployed",
		"kubectl -n helm-install rollout status deployment/helmtest-peerdns",
		"peerdnsctl install --target kube-dns --service helm-install/helmtest-peerdns --zone global --remote-namespaces",
		"peerdnsctl status",
		"namespace istio-system",
		"kubectl -n helm-install logs deploy/helmtest-peerdns-sync-stubs",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("helm install output lacks %q:\n%s", want, out)
		}
	}
	d, err := local.Client().AppsV1().Deployments(ns).Get(ctx, "helmtest-peerdns", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("after helm install: %v", err)
	}
	if got := d.Labels["app.kubernetes.io/managed-by"]; got != "Helm" {
		t.Errorf("Deployment label app.kubernetes.io/managed-by = %q, want Helm", got)
	}
	role, err := local.Client().RbacV1().Roles("istio-system").Get(ctx, "helmtest-peerdns-remote-secrets", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("after helm install, the remote secrets' Role: %v", err)
	}
	t.Logf("installed: Deployment %s/%s, Role %s/%s", d.Namespace, d.Name, role.Namespace, role.Name)
	if _, err := local.Client().RbacV1().Roles("kube-system").Get(ctx, "helmtest-peerdns-sync-stubs", metav1.GetOptions{}); err != nil {
		t.Errorf("after helm install, the sync-stubs Role in kube-system: %v", err)
	}

	out = runHelm(t, append([]string{"uninstall", release}, base...)...)
	if !strings.Contains(out, "uninstalled") {
		t.Errorf("helm uninstall: %s", out)
	}
	_, err = local.Client().AppsV1().Deployments(ns).Get(ctx, "helmtest-peerdns", metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("Deployment after helm uninstall: %v, want not found", err)
	}
	for _, name := range []string{"helmtest-peerdns", "helmtest-peerdns-sync-stubs"} {
		_, err = local.Client().RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			t.Errorf("ClusterRole %s after helm uninstall: %v, want not found", name, err)
		}
	}
	_, err = local.Client().RbacV1().Roles("kube-system").Get(ctx, "helmtest-peerdns-sync-stubs", metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("the sync-stubs Role after helm uninstall: %v, want not found", err)
	}
}
