package sync

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"maps"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// kubeContext is one context of a test kubeconfig.
type kubeContext struct {
	name, server, token string
	caFile              string // a path, relative to the file; empty: TLS verification off
}

// writeKubeconfig writes a kubeconfig with the given contexts into dir/file.
func writeKubeconfig(t *testing.T, dir, file string, contexts ...kubeContext) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	for _, c := range contexts {
		cfg.Clusters[c.name] = &clientcmdapi.Cluster{
			Server: c.server, CertificateAuthority: c.caFile, InsecureSkipTLSVerify: c.caFile == "",
		}
		cfg.AuthInfos[c.name] = &clientcmdapi.AuthInfo{Token: c.token}
		cfg.Contexts[c.name] = &clientcmdapi.Context{Cluster: c.name, AuthInfo: c.name}
	}
	path := filepath.Join(dir, file)
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// selfSignedPEM returns a CA certificate in PEM.
func selfSignedPEM(t *testing.T, cn string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestKubeconfigPeers(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), selfSignedPEM(t, "one"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := writeKubeconfig(t, dir, "peers.yaml",
		kubeContext{name: "West", server: "https://198.51.100.2:6443", token: "w"},
		kubeContext{name: "east", server: "https://198.51.100.1:6443", token: "e", caFile: "ca.crt"})
	specs, err := kubeconfigPeers(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := specNames(specs); !slices.Equal(got, []string{"east", "west"}) {
		t.Fatalf("peers %v, want east and west", got)
	}
	east := specs[0]
	if east.Source != "kubeconfig" || east.Config.Host != "https://198.51.100.1:6443" ||
		east.Config.BearerToken != "e" || len(east.Config.CAData) == 0 || east.Hash == specs[1].Hash {
		t.Errorf("east: %+v", east)
	}

	// The hash covers a referenced CA file's content, and nothing of the other contexts.
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), selfSignedPEM(t, "two"), 0o600); err != nil {
		t.Fatal(err)
	}
	writeKubeconfig(t, dir, "peers.yaml",
		kubeContext{name: "West", server: "https://198.51.100.2:6443", token: "rotated"},
		kubeContext{name: "east", server: "https://198.51.100.1:6443", token: "e", caFile: "ca.crt"})
	again, err := kubeconfigPeers(path)
	if err != nil {
		t.Fatal(err)
	}
	if again[0].Hash == east.Hash || again[1].Hash == specs[1].Hash {
		t.Error("a new CA or token kept the hash")
	}
}

func TestKubeconfigPeersErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	noServer := "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {}}]\n" +
		"users: [{name: u, user: {token: secret-token}}]\ncontexts: [{name: east, context: {cluster: c, user: u}}]\n"
	missingCA := "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://x', certificate-authority: nope.crt}}]\n" +
		"users: [{name: u, user: {token: secret-token}}]\ncontexts: [{name: east, context: {cluster: c, user: u}}]\n"
	for _, tc := range []struct {
		path string
		want string
	}{
		{write("yaml.yaml", "clusters: ["), "yaml.yaml"},
		{write("empty.yaml", ""), "empty.yaml: " + errNoContexts.Error()},
		{write("noserver.yaml", noServer), `noserver.yaml: context "east": `},
		{write("missingca.yaml", missingCA), "nope.crt"},
		{filepath.Join(dir, "absent.yaml"), "absent.yaml"},
	} {
		_, err := kubeconfigPeers(tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "secret-token") {
			t.Errorf("%s: error %v, want one naming %q and no token", filepath.Base(tc.path), err, tc.want)
		}
	}
}

// The folder's files are read as they come and go; a broken file keeps its peers.
func TestKubeconfigScan(t *testing.T) {
	dir := t.TempDir()
	writeKubeconfig(t, dir, "a.yaml", kubeContext{name: "east", server: "https://198.51.100.1"})
	writeKubeconfig(t, dir, "b.yaml", kubeContext{name: "west", server: "https://198.51.100.2"},
		kubeContext{name: "east", server: "https://198.51.100.9"})
	writeKubeconfig(t, dir, ".hidden", kubeContext{name: "ghost", server: "https://198.51.100.3"})
	if err := os.Mkdir(filepath.Join(dir, "..data"), 0o700); err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.InfoLevel)
	var reported []error
	k, err := NewKubeconfig(dir, PeerOptions{Log: zap.New(core), OnError: func(err error) { reported = append(reported, err) }})
	if err != nil {
		t.Fatal(err)
	}
	wantPeers := func(what string, want ...string) {
		t.Helper()
		k.set.mu.Lock()
		defer k.set.mu.Unlock()
		got := slices.Sorted(maps.Keys(k.set.specs))
		if !slices.Equal(got, want) {
			t.Errorf("%s: peers %v, want %v", what, got, want)
		}
	}
	k.scan()
	wantPeers("first scan", "east", "west")
	if k.set.specs["east"].Config.Host != "https://198.51.100.1" {
		t.Errorf("east taken from %s, want a.yaml's", k.set.specs["east"].Config.Host)
	}
	if logs.FilterMessage("context named in more than one kubeconfig file, the first kept").Len() != 1 {
		t.Error("the duplicate context was not logged")
	}

	writeKubeconfig(t, dir, "c.yaml", kubeContext{name: "north", server: "https://198.51.100.4"})
	k.scan()
	wantPeers("file added", "east", "north", "west")
	if err := os.Remove(filepath.Join(dir, "c.yaml")); err != nil {
		t.Fatal(err)
	}
	k.scan()
	wantPeers("file removed", "east", "west")

	if err := os.WriteFile(filepath.Join(dir, "b.yaml"), []byte("clusters: ["), 0o600); err != nil {
		t.Fatal(err)
	}
	k.scan() // maybe mid-write: not reported yet
	if len(reported) != 0 {
		t.Errorf("reported at once: %v", reported)
	}
	k.scan()
	k.scan()
	wantPeers("file broken", "east", "west")
	if len(reported) != 1 || !strings.Contains(reported[0].Error(), filepath.Join(dir, "b.yaml")) {
		t.Errorf("reported %v, want one error naming b.yaml", reported)
	}
	if logs.FilterMessage("kubeconfig file rejected, keeping its previous peers").Len() != 1 {
		t.Error("the broken file was not logged once")
	}
}
