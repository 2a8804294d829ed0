package sync

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLocalConfigInCluster(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	_, err := LocalConfig("", "")
	want := "no local cluster: not running in a pod (KUBERNETES_SERVICE_HOST unset) and no local_kubeconfig given"
	if err == nil || err.Error() != want {
		t.Errorf("outside a pod: err = %v, want %q", err, want)
	}
	if _, err := LocalConfig("", "east"); err == nil || !strings.Contains(err.Error(), "without a local_kubeconfig path") {
		t.Errorf("context without a file: err = %v", err)
	}

	if _, err := os.Stat("/var/run/secrets/kubernetes.io/serviceaccount/token"); err == nil {
		return // in a pod after all: the next case would succeed
	}
	t.Setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
	t.Setenv("KUBERNETES_SERVICE_PORT", "443")
	_, err = LocalConfig("", "")
	if err == nil || !strings.Contains(err.Error(), "no local cluster: in-cluster configuration:") ||
		!strings.Contains(err.Error(), "serviceaccount/token") {
		t.Errorf("in a pod without a token: err = %v", err)
	}
}

const twoContextKubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: a
  cluster: {server: "https://192.0.2.1:6443", certificate-authority: ca.pem}
- name: b
  cluster: {server: "https://192.0.2.2:6443", insecure-skip-tls-verify: true}
contexts:
- name: a
  context: {cluster: a, user: u}
- name: b
  context: {cluster: b, user: u}
users:
- name: u
  user: {token: t}
`

func TestLocalConfigKubeconfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	write := func(content string) {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), []byte(testCA), 0o600); err != nil {
		t.Fatal(err)
	}
	write(twoContextKubeconfig + "current-context: a\n")
	cfg, err := LocalConfig(path, "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://192.0.2.1:6443" || cfg.UserAgent != "peerdns" || cfg.CAFile != filepath.Join(dir, "ca.pem") {
		t.Errorf("current context: host %q, user agent %q, CA file %q (relative to the kubeconfig)", cfg.Host, cfg.UserAgent, cfg.CAFile)
	}
	if cfg, err := LocalConfig(path, "b"); err != nil || cfg.Host != "https://192.0.2.2:6443" {
		t.Errorf("context b: %v", err)
	}
	if _, err := LocalClient(path, "b"); err != nil {
		t.Errorf("LocalClient: %v", err)
	}

	write(twoContextKubeconfig) // without a current-context
	missing := filepath.Join(dir, "missing")
	for _, tt := range []struct{ path, context, want string }{
		{path, "c", `local kubeconfig ` + path + `: no context "c"`},
		{path, "", "local kubeconfig " + path + ": no current-context set and no context given"},
		{missing, "", "local kubeconfig: open " + missing + ": no such file or directory"},
	} {
		if _, err := LocalConfig(tt.path, tt.context); err == nil || err.Error() != tt.want {
			t.Errorf("LocalConfig(%s, %q): err = %v, want %q", tt.path, tt.context, err, tt.want)
		}
	}
}
