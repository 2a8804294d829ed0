package sync

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// secretToken is the bearer token of the test kubeconfigs: no error or log line may show it.
const secretToken = "s3cr3t-t0ken-never-logged"

// testCA is a PEM certificate, as a kubeconfig embeds it.
var testCA = newTestCA()

func newTestCA() string {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// istioKubeconfig is a kubeconfig as `istioctl create-remote-secret` writes it, for cluster
// name; user and cluster entries can be replaced whole.
func istioKubeconfig(name, clusterEntry, userEntry string) string {
	if clusterEntry == "" {
		clusterEntry = fmt.Sprintf("certificate-authority-data: %s\n    server: https://192.0.2.10:6443",
			base64.StdEncoding.EncodeToString([]byte(testCA)))
	}
	if userEntry == "" {
		userEntry = "token: " + secretToken
	}
	return fmt.Sprintf(`apiVersion: v1
clusters:
- cluster:
    %[2]s
  name: %[1]s
contexts:
- context:
    cluster: %[1]s
    user: %[1]s
  name: %[1]s
current-context: %[1]s
kind: Config
preferences: {}
users:
- name: %[1]s
  user:
    %[3]s
`, name, clusterEntry, userEntry)
}

func TestRemoteSecretConfig(t *testing.T) {
	good := istioKubeconfig("east", "", "")
	cfg, err := remoteSecretConfig("east", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://192.0.2.10:6443" || cfg.BearerToken != secretToken || cfg.UserAgent != "peerdns" {
		t.Errorf("config: host %q, token set %v, user agent %q", cfg.Host, cfg.BearerToken != "", cfg.UserAgent)
	}
	if string(cfg.CAData) != testCA {
		t.Error("the embedded CA was not kept")
	}

	noCurrent := strings.Replace(good, "current-context: east\n", "", 1)
	if _, err := remoteSecretConfig("East", []byte(noCurrent)); err != nil {
		t.Errorf("only context, no current-context, upper-case key: %v", err)
	}
}

func TestRemoteSecretConfigErrors(t *testing.T) {
	good := istioKubeconfig("east", "", "")
	twoContexts := strings.Replace(good, "current-context: east\n",
		"- context: {cluster: east, user: east}\n  name: other\n", 1)
	tests := []struct {
		name, key, value, want string
		refused                bool
	}{
		{"key not a label", "gke_proj_zone_east", good, `cluster name "gke_proj_zone_east" is not a DNS label`, false},
		{"not a kubeconfig", "east", "{" + secretToken, "not a kubeconfig", false},
		{"empty", "east", "", "no current-context set, and 0 contexts", false},
		{"two contexts", "east", twoContexts, "no current-context set, and 2 contexts", false},
		{"unknown current-context", "east", strings.Replace(good, "current-context: east", "current-context: nope", 1),
			`current-context "nope" is not among the contexts`, false},
		{"no server", "east", istioKubeconfig("east", "insecure-skip-tls-verify: true", ""), "no server", false},
		{"CA not PEM", "east", istioKubeconfig("east", "certificate-authority-data: "+
			base64.StdEncoding.EncodeToString([]byte(secretToken))+"\n    server: https://192.0.2.10", ""), "certificate", false},
		{"exec", "east", istioKubeconfig("east", "", "exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh, interactiveMode: Never}"),
			`user "east": exec credential plugin refused`, true},
		{"auth-provider", "east", istioKubeconfig("east", "", "auth-provider: {name: gcp}"), "auth-provider refused", true},
		{"token file", "east", istioKubeconfig("east", "", "tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token"), "tokenFile refused", true},
		{"client key file", "east", istioKubeconfig("east", "", "client-key: /etc/key.pem\n    client-certificate: /etc/cert.pem"), "client certificate or key file refused", true},
		{"CA file", "east", istioKubeconfig("east", "certificate-authority: /etc/ca.pem\n    server: https://192.0.2.10", ""),
			`cluster "east": certificate-authority file refused`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := remoteSecretConfig(tt.key, []byte(tt.value))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if errors.Is(err, errRefusedInSecret) != tt.refused {
				t.Errorf("errors.Is(err, errRefusedInSecret) = %v, want %v", !tt.refused, tt.refused)
			}
			if strings.Contains(err.Error(), secretToken) {
				t.Errorf("the error shows the secret's content: %v", err)
			}
			t.Log(err)
		})
	}
}

// remoteSecret is a remote secret as the informer caches it, created at second sec.
func remoteSecret(name string, sec int64, label string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{
		Name: name, Namespace: "istio-system", CreationTimestamp: metav1.Unix(sec, 0),
		Labels: map[string]string{RemoteSecretLabel: label},
	}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func testDiscovery() (*secretDiscovery, *observer.ObservedLogs) {
	core, logs := observer.New(zap.InfoLevel)
	return &secretDiscovery{namespace: "istio-system", log: zap.New(core)}, logs
}

func specSummary(specs []PeerSpec) string {
	var b strings.Builder
	for _, s := range specs {
		fmt.Fprintf(&b, "%s:%s ", s.Name, s.Hash[:8])
	}
	return strings.TrimSpace(b.String())
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:8]
}

func TestSecretSpecs(t *testing.T) {
	east, west := istioKubeconfig("east", "", ""), istioKubeconfig("west", "", "")
	d, logs := testDiscovery()
	specs := d.specs([]*corev1.Secret{
		remoteSecret("b-older", 100, "true", map[string]string{"east": east, "West": west}),
		remoteSecret("a-newer", 200, "true", map[string]string{"east": west, "north": "{garbage"}),
		remoteSecret("unlabelled", 50, "false", map[string]string{"south": east}),
	})
	want := fmt.Sprintf("east:%s west:%s", shortHash(east), shortHash(west))
	if got := specSummary(specs); got != want {
		t.Errorf("specs = %s, want %s (older secret wins east, names lower-cased)", got, want)
	}
	for _, s := range specs {
		if s.Source != "remote_secret" || s.Config == nil || len(s.Hash) != 64 {
			t.Errorf("spec %s: source %q, config %v, hash %q", s.Name, s.Source, s.Config != nil, s.Hash)
		}
	}
	if n := logs.FilterMessage("remote secret entry skipped").FilterField(zap.String("key", "north")).
		FilterField(zap.String("secret", "istio-system/a-newer")).Len(); n != 1 {
		t.Errorf("broken entry logged %d times, want once naming the secret and key", n)
	}
	if n := logs.FilterMessageSnippet("more than one remote secret").Len(); n != 1 {
		t.Errorf("conflict logged %d times, want 1", n)
	}
	for _, e := range logs.All() {
		if strings.Contains(fmt.Sprint(e.ContextMap()), secretToken) || strings.Contains(fmt.Sprint(e.ContextMap()), "garbage") {
			t.Errorf("log line shows secret content: %s %v", e.Message, e.ContextMap())
		}
	}
}

func TestSecretSpecsLogOncePerChange(t *testing.T) {
	east := istioKubeconfig("east", "", "")
	d, logs := testDiscovery()
	secrets := func(broken string, conflictSec int64) []*corev1.Secret {
		return []*corev1.Secret{
			remoteSecret("one", 100, "true", map[string]string{"east": east, "bad": broken}),
			remoteSecret("two", conflictSec, "true", map[string]string{"east": east}),
		}
	}
	d.specs(secrets("{", 200))
	specs := d.specs(secrets("{", 200))
	specs[0].Config.Host = "https://modified.example"
	d.specs(secrets("{", 200))
	if n := logs.Len(); n != 2 {
		t.Fatalf("%d log lines after three identical lists, want 2 (one entry, one conflict)", n)
	}
	again := d.specs(secrets("[", 200))
	if n := logs.FilterMessage("remote secret entry skipped").Len(); n != 2 {
		t.Errorf("changed broken entry: %d lines, want 2", n)
	}
	if again[0].Config.Host != "https://192.0.2.10:6443" {
		t.Error("a spec's Config is shared between calls")
	}
	d.specs(secrets("[", 50)) // now "two" is older and wins
	if n := logs.FilterMessageSnippet("more than one remote secret").Len(); n != 2 {
		t.Errorf("changed conflict: %d lines, want 2", n)
	}
	d.specs(secrets("[", 50)[:1])
	d.specs(secrets("[", 50)[:1])
	if n := logs.FilterMessageSnippet("more than one remote secret").Len(); n != 2 {
		t.Errorf("conflict gone: %d lines, want still 2", n)
	}
}

func TestTrimRemoteSecret(t *testing.T) {
	s := remoteSecret("r", 1, "true", map[string]string{"east": "x"})
	s.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}
	s.Annotations = map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{...}"}
	s.Labels["other"] = "label"
	obj, _ := trimRemoteSecret(s)
	got := obj.(*corev1.Secret)
	if got.ManagedFields != nil || got.Annotations != nil || len(got.Labels) != 1 || string(got.Data["east"]) != "x" {
		t.Errorf("trimmed = %+v", got)
	}
	if got.Name != "r" || got.Namespace != "istio-system" || !got.CreationTimestamp.Equal(&s.CreationTimestamp) {
		t.Errorf("identity lost: %+v", got.ObjectMeta)
	}
	other := remoteSecret("r", 1, "false", map[string]string{"east": "x"})
	if obj, _ := trimRemoteSecret(other); obj.(*corev1.Secret).Data != nil {
		t.Error("data kept for a Secret without the label")
	}
	tomb := "not a secret"
	if obj, _ := trimRemoteSecret(tomb); obj != tomb {
		t.Error("a non-Secret was changed")
	}
}

func TestTrimNamespace(t *testing.T) {
	ns := &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: "web", ResourceVersion: "7", Labels: map[string]string{"a": "b"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}},
		Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating},
	}
	obj, _ := trimNamespace(ns)
	got := obj.(*corev1.Namespace)
	if got.Name != "web" || got.ResourceVersion != "7" || got.Labels != nil || got.ManagedFields != nil || got.Status.Phase != "" {
		t.Errorf("trimmed = %+v", got)
	}
}
