package peerdnsctl

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peerdns/peerdns/internal/stubdomain"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// installCase is one target's fixture and what install (with the Service's ClusterIP) makes
// of it.
type installCase struct {
	target stubdomain.Target
	before map[string]string
	key    string
	after  string
}

var installCases = []installCase{
	{stubdomain.KubeDNS, kubeDNSData, "stubDomains", `{"acme.local": ["10.150.0.1"],"global": ["10.96.0.20"]}`},
	{stubdomain.CoreDNS, coreDNSData, "Corefile", kubeadmCorefile +
		"# peerdns begin\nglobal:53 {\n    errors\n    cache 30\n    forward . 10.96.0.20\n}\n# peerdns end\n"},
}

func TestInstallStatusUninstall(t *testing.T) {
	local.LogOnFailure(t)
	for _, tc := range installCases {
		t.Run(string(tc.target), func(t *testing.T) {
			target := string(tc.target)
			reset(t, tc.target, tc.before)
			before := get(t, tc.target)

			res := mustCtl(t, "install", "--target", target) // the server's address from peerdns/peerdns
			if strings.Contains(res.stderr, "addonmanager") {
				t.Errorf("install warns of an addon manager the ConfigMap is not labelled for: %s", res.stderr)
			}
			installed := get(t, tc.target)
			if got := installed.Data[tc.key]; got != tc.after {
				t.Fatalf("%s after install:\n%s\nwant:\n%s", tc.key, got, tc.after)
			}
			for k, v := range before.Data {
				if k != tc.key && installed.Data[k] != v {
					t.Errorf("install changed %s: %q", k, installed.Data[k])
				}
			}

			res = mustCtl(t, "install", "--target", target)
			if rv := get(t, tc.target).ResourceVersion; rv != installed.ResourceVersion {
				t.Errorf("second install wrote: resourceVersion %s, was %s", rv, installed.ResourceVersion)
			}
			if !strings.Contains(res.stdout, "no change") {
				t.Errorf("second install says %q, want no change", res.stdout)
			}

			res = mustCtl(t, "status", "--target", target)
			for _, want := range []string{target + " (", "installed", "zones:             global",
				"forwards to:       10.96.0.20", "10.96.0.20, matches"} {
				if !strings.Contains(res.stdout, want) {
					t.Errorf("status lacks %q:\n%s", want, res.stdout)
				}
			}

			mustCtl(t, "uninstall", "--target", target)
			after := get(t, tc.target)
			if !maps.Equal(after.Data, before.Data) {
				t.Errorf("after uninstall:\n%q\nwant byte for byte:\n%q", after.Data, before.Data)
			}
			if len(after.Annotations) != 0 {
				t.Errorf("annotations left: %v", after.Annotations)
			}
			mustCtl(t, "uninstall", "--target", target)
			if rv := get(t, tc.target).ResourceVersion; rv != after.ResourceVersion {
				t.Errorf("second uninstall wrote")
			}
			if res := mustCtl(t, "status", "--target", target); !strings.Contains(res.stdout, "not installed") {
				t.Errorf("status after uninstall: %s", res.stdout)
			}
		})
	}
}

// TestAddonManagerReconcile: a ConfigMap the addon manager reconciles is still edited, with a
// warning from install and from status that the edit will be undone.
func TestAddonManagerReconcile(t *testing.T) {
	reset(t, stubdomain.CoreDNS, coreDNSData)
	cm := get(t, stubdomain.CoreDNS)
	cm.Labels["addonmanager.kubernetes.io/mode"] = "Reconcile"
	if _, err := local.Client().CoreV1().ConfigMaps("kube-system").Update(context.Background(), cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	const warning = "kube-system/coredns Corefile is labelled addonmanager.kubernetes.io/mode=Reconcile: the addon manager puts it back"
	if res := mustCtl(t, "install", "--target", "coredns"); !strings.Contains(res.stderr, warning) {
		t.Errorf("install's stderr lacks %q:\n%s", warning, res.stderr)
	}
	if res := mustCtl(t, "status", "--target", "coredns"); !strings.Contains(res.stdout, "WARNING: "+warning) {
		t.Errorf("status lacks the warning:\n%s", res.stdout)
	}
	if res := mustCtl(t, "uninstall", "--target", "coredns"); strings.Contains(res.stderr, "addonmanager") {
		t.Errorf("uninstall warns: %s", res.stderr)
	}
}

func TestStatusBothTargets(t *testing.T) {
	reset(t, stubdomain.KubeDNS, kubeDNSData)
	reset(t, stubdomain.CoreDNS, nil)
	mustCtl(t, "install", "--target", "kube-dns", "--server", "10.96.0.99:5353", "--zone", "global", "--zone", "mesh.example")
	res := mustCtl(t, "status")
	for _, want := range []string{"kube-dns (kube-system/kube-dns stubDomains): installed",
		"zones:             global, mesh.example", "forwards to:       10.96.0.99:5353",
		"DOES NOT MATCH", "coredns (kube-system/coredns Corefile): not installed (ConfigMap kube-system/coredns does not exist)"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, res.stdout)
		}
	}
}

func TestDryRun(t *testing.T) {
	for _, tc := range installCases {
		t.Run(string(tc.target), func(t *testing.T) {
			reset(t, tc.target, tc.before)
			before := get(t, tc.target)
			res := mustCtl(t, "install", "--target", string(tc.target), "--dry-run")
			header := "--- kube-system/" + configMapName(tc.target) + " " + tc.key
			if !strings.Contains(res.stdout, header) || !strings.Contains(res.stdout, "+++ kube-system/") ||
				!strings.Contains(res.stdout, "10.96.0.20") {
				t.Errorf("dry run printed no diff headed %q:\n%s", header, res.stdout)
			}
			if got := get(t, tc.target); got.ResourceVersion != before.ResourceVersion {
				t.Errorf("dry run wrote")
			}
			mustCtl(t, "install", "--target", string(tc.target))
			installed := get(t, tc.target)
			res = mustCtl(t, "uninstall", "--target", string(tc.target), "--dry-run")
			if !strings.Contains(res.stdout, header) || !strings.Contains(res.stdout, "-") {
				t.Errorf("dry-run uninstall printed no diff:\n%s", res.stdout)
			}
			if got := get(t, tc.target); got.ResourceVersion != installed.ResourceVersion {
				t.Errorf("dry-run uninstall wrote")
			}
		})
	}
}

func TestKubeDNSConfigMapCreated(t *testing.T) {
	reset(t, stubdomain.KubeDNS, nil)
	if res := mustCtl(t, "install", "--target", "kube-dns"); !strings.Contains(res.stdout, "created") {
		t.Errorf("install does not say it created the ConfigMap: %s", res.stdout)
	}
	cm := get(t, stubdomain.KubeDNS)
	if cm == nil || cm.Data["stubDomains"] != `{"global":["10.96.0.20"]}` {
		t.Fatalf("created ConfigMap: %+v", cm)
	}
	if cm.Annotations[stubdomain.ZonesAnnotation] != "global" || cm.Annotations[stubdomain.CreatedAnnotation] != "stubDomains" {
		t.Errorf("annotations: %v", cm.Annotations)
	}
	mustCtl(t, "uninstall", "--target", "kube-dns")
	cm = get(t, stubdomain.KubeDNS)
	if cm == nil || len(cm.Data) != 0 || len(cm.Annotations) != 0 {
		t.Errorf("after uninstall, want the ConfigMap left empty: %+v", cm)
	}
}

func TestCoreDNSMissing(t *testing.T) {
	reset(t, stubdomain.CoreDNS, nil)
	res := ctl(t, "install", "--target", "coredns")
	if res.code != 1 || !strings.Contains(res.stderr, "kube-system/coredns") || !strings.Contains(res.stderr, local.URL) {
		t.Errorf("want exit 1 naming the ConfigMap and %s", local.URL)
	}
	if get(t, stubdomain.CoreDNS) != nil {
		t.Errorf("the coredns ConfigMap was created")
	}
}

func TestUsageErrors(t *testing.T) {
	reset(t, stubdomain.KubeDNS, kubeDNSData)
	before := get(t, stubdomain.KubeDNS)
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"install", "--target", "kube-dns", "--server", "peerdns.peerdns.svc"}, "stub domains need an IP address"},
		{[]string{"install", "--target", "kube-dns", "--server", "10.96.0.20:99999"}, "--server"},
		{[]string{"install"}, "--target kube-dns|coredns is required"},
		{[]string{"install", "--target", "bind"}, `unknown target "bind"`},
		{[]string{"install", "--target", "kube-dns", "--zone", "."}, "root zone"},
		{[]string{"install", "--target", "kube-dns", "--remote-namespaces"}, "--peers or --remote-secrets"},
		{[]string{"install", "--target", "kube-dns", "--service", "peerdns"}, "NAMESPACE/NAME"},
		{[]string{"install", "--target", "kube-dns", "--no-such-flag"}, "flag provided but not defined"},
		{[]string{"uninstall", "--target", "kube-dns", "extra"}, `unexpected argument "extra"`},
		{[]string{"sync-stubs", "--target", "kube-dns"}, "--peers or --remote-secrets"},
		{[]string{"sync-stubs", "--target", "kube-dns", "--remote-secrets", "istio-system", "--watch", "--resync", "-1s"}, "--resync -1s: must not be negative"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{nil, "no command given"},
	}
	for _, tc := range tests {
		res := ctl(t, tc.args...)
		if res.code != 2 || !strings.Contains(res.stderr, tc.msg) || !strings.Contains(res.stderr, "usage") {
			t.Errorf("%v: exit %d, stderr %q; want 2 with %q and a usage line", tc.args, res.code, res.stderr, tc.msg)
		}
	}
	if get(t, stubdomain.KubeDNS).ResourceVersion != before.ResourceVersion {
		t.Errorf("a wrong command line wrote")
	}
	if res := ctl(t, "-version"); res.code != 0 || !strings.HasPrefix(res.stdout, "peerdnsctl v") {
		t.Errorf("-version: %+v", res)
	}
	if res := ctl(t, "install", "-h"); res.code != 0 || !strings.Contains(res.stderr, "--remote-namespaces") {
		t.Errorf("install -h: %+v", res)
	}
}

func TestZoneTaken(t *testing.T) {
	reset(t, stubdomain.KubeDNS, map[string]string{"stubDomains": `{"global": ["10.1.2.3"]}`})
	res := ctl(t, "install", "--target", "kube-dns")
	if res.code != 1 || !strings.Contains(res.stderr, `stub domain "global" forwards to ["10.1.2.3"] and was not added by peerdns`) {
		t.Errorf("kube-dns: want exit 1 naming the zone")
	}
	reset(t, stubdomain.CoreDNS, map[string]string{"Corefile": kubeadmCorefile + "global {\n    forward . 10.1.2.3\n}\n"})
	res = ctl(t, "install", "--target", "coredns")
	if res.code != 1 || !strings.Contains(res.stderr, `zone "global" on port 53 is already served by the server block "global"`) {
		t.Errorf("coredns: want exit 1 naming the zone and block")
	}
	reset(t, stubdomain.CoreDNS, map[string]string{"Corefile": kubeadmCorefile + "mesh.example {\n    forwrd . 10.1.2.3\n}\n"})
	res = ctl(t, "install", "--target", "coredns")
	if res.code != 1 || !strings.Contains(res.stderr, "Unknown directive 'forwrd'") {
		t.Errorf("coredns: want exit 1 naming the unknown directive")
	}
}

func TestAPIErrors(t *testing.T) {
	reset(t, stubdomain.KubeDNS, kubeDNSData)
	forbidden, err := local.KubeconfigFor(nobody, local.Token(nobody))
	if err != nil {
		t.Fatal(err)
	}
	res := ctlAs(t, forbidden, "install", "--target", "kube-dns", "--server", serverIP)
	if res.code != 1 || !strings.Contains(res.stderr, "kube-system/kube-dns") ||
		!strings.Contains(res.stderr, local.URL) || !strings.Contains(res.stderr, "forbidden") {
		t.Errorf("forbidden: want exit 1 naming the ConfigMap, %s and forbidden", local.URL)
	}
	res = ctlAs(t, forbidden, "status")
	if res.code != 1 || !strings.Contains(res.stderr, "forbidden") {
		t.Errorf("status without rights: want exit 1")
	}

	// An API server that does not answer: the same kubeconfig, pointed at a closed port.
	text, err := os.ReadFile(local.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	dead := filepath.Join(t.TempDir(), "kubeconfig")
	gone := "https://127.0.0.1:1"
	if err := os.WriteFile(dead, []byte(strings.ReplaceAll(string(text), local.URL, gone)), 0o600); err != nil {
		t.Fatal(err)
	}
	res = ctlAs(t, dead, "uninstall", "--target", "coredns")
	if res.code != 1 || !strings.Contains(res.stderr, "kube-system/coredns") || !strings.Contains(res.stderr, gone) ||
		!strings.Contains(res.stderr, "connection refused") {
		t.Errorf("unreachable: want exit 1 naming the ConfigMap, %s and the cause", gone)
	}
}
