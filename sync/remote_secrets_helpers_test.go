package sync_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	gosync "sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/peerdns/peerdns/sync"
	"github.com/peerdns/peerdns/test/testbed"
)

// recordedPeers stands for the PeerSet: it records what the discovery sets.
type recordedPeers struct {
	mu         gosync.Mutex
	last       []sync.PeerSpec
	sets       int
	discovered bool
}

func (r *recordedPeers) SetPeers(specs []sync.PeerSpec) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last, r.sets = specs, r.sets+1
}

func (r *recordedPeers) Discovered() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.discovered = true
}

// current returns the peers last set, by name, or an error until the first list is in.
func (r *recordedPeers) current() (map[string]sync.PeerSpec, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.discovered {
		return nil, fmt.Errorf("not discovered yet")
	}
	peers := make(map[string]sync.PeerSpec, len(r.last))
	for _, s := range r.last {
		peers[s.Name] = s
	}
	return peers, nil
}

// peerNames is the sorted names of the peers last set, or an error until the first list is in.
func (r *recordedPeers) peerNames() ([]string, error) {
	peers, err := r.current()
	names := make([]string, 0, len(peers))
	for name := range peers {
		names = append(names, name)
	}
	slices.Sort(names)
	return names, err
}

// waitPeers waits until the peers set are exactly want.
func (r *recordedPeers) waitPeers(t *testing.T, want ...string) {
	t.Helper()
	eventually(t, fmt.Sprintf("peers %v", want), func() error {
		got, err := r.peerNames()
		if err == nil && !slices.Equal(got, want) {
			err = fmt.Errorf("peers are %v", got)
		}
		return err
	})
}

// startDiscovery runs the discovery of remote secrets in ns of the local cluster, through client,
// until the test ends.
func startDiscovery(t *testing.T, client kubernetes.Interface, ns string, opts sync.PeerOptions) *recordedPeers {
	rec := &recordedPeers{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		sync.RunSecretDiscovery(ctx, client, ns, rec, opts)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return rec
}

func newTestNamespace(t *testing.T, c *testbed.Cluster, prefix string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix}}
	ns, err := c.Client().CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace in %s: %v", c.Name, err)
	}
	return ns.Name
}

// kubeconfigBytes returns a kubeconfig for c, as user with that user's token.
func kubeconfigBytes(t *testing.T, c *testbed.Cluster, user string) []byte {
	t.Helper()
	path, err := c.KubeconfigFor(user, c.Token(user))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// remoteSecret is a Secret as `istioctl create-remote-secret` writes it, for the clusters in
// data; label is the value of istio/multiCluster ("" for none).
func remoteSecret(name, label string, data map[string][]byte) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: data}
	if label != "" {
		s.Labels = map[string]string{sync.RemoteSecretLabel: label}
	}
	for cluster := range data {
		s.Annotations = map[string]string{sync.RemoteSecretAnnotation: cluster}
	}
	return s
}

func createSecret(t *testing.T, c *testbed.Cluster, ns string, s *corev1.Secret) *corev1.Secret {
	t.Helper()
	s, err := c.Client().CoreV1().Secrets(ns).Create(context.Background(), s, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create secret %s/%s: %v", ns, s.Name, err)
	}
	return s
}

func hashOf(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func mustPeer(t *testing.T, rec *recordedPeers, name string) sync.PeerSpec {
	t.Helper()
	peers, err := rec.current()
	if err != nil {
		t.Fatal(err)
	}
	spec, ok := peers[name]
	if !ok {
		t.Fatalf("no peer %s", name)
	}
	return spec
}

// waitClusters waits until the source is ready with exactly the clusters named, each from a
// remote secret.
func waitClusters(t *testing.T, src sync.Source, want ...string) {
	t.Helper()
	eventually(t, fmt.Sprintf("clusters %v", want), func() error {
		clusters, ready := src.Clusters()
		var got []string
		for _, c := range clusters {
			if c.Source != "remote_secret" {
				return fmt.Errorf("cluster %s from source %q", c.Name, c.Source)
			}
			got = append(got, c.Name)
		}
		slices.Sort(got)
		if !ready || !slices.Equal(got, want) {
			return fmt.Errorf("ready %v, clusters %v", ready, got)
		}
		return nil
	})
}
