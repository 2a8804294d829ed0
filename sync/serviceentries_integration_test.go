package sync_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"

	"github.com/peerdns/peerdns/resolver"
	"github.com/peerdns/peerdns/sync"
	"github.com/peerdns/peerdns/test/testbed"
)

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// installEntryCRD creates the ServiceEntry CRD of deploy/crds in c and waits until it is
// established. With only, the CRD serves (and stores) that one version alone, as Istio's CRDs
// of 2019 did.
func installEntryCRD(t *testing.T, c *testbed.Cluster, only string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "deploy", "crds", "serviceentry.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	obj := map[string]any{}
	if err := yaml.Unmarshal(data, &obj); err != nil {
		t.Fatalf("deploy/crds/serviceentry.yaml: %v", err)
	}
	if only != "" {
		versions, _, _ := unstructured.NestedSlice(obj, "spec", "versions")
		var keep []any
		for _, v := range versions {
			if m := v.(map[string]any); m["name"] == only {
				m["served"], m["storage"] = true, true
				keep = append(keep, m)
			}
		}
		if len(keep) != 1 {
			t.Fatalf("deploy/crds/serviceentry.yaml has no version %s", only)
		}
		if err := unstructured.SetNestedSlice(obj, keep, "spec", "versions"); err != nil {
			t.Fatal(err)
		}
	}
	client := dynamic.NewForConfigOrDie(c.Config())
	crds := client.Resource(crdGVR)
	ctx := context.Background()
	if _, err := crds.Create(ctx, &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create the ServiceEntry CRD: %v", err)
	}
	t.Cleanup(func() { deleteEntryCRD(t, c) }) // the next test (or -count run) starts without it
	if err := c.WaitEstablished(ctx, "serviceentries.networking.istio.io"); err != nil {
		t.Fatal(err)
	}
}

// deleteEntryCRD deletes the ServiceEntry CRD of c, with its entries, and waits until it is gone.
func deleteEntryCRD(t *testing.T, c *testbed.Cluster) {
	t.Helper()
	crds := dynamic.NewForConfigOrDie(c.Config()).Resource(crdGVR)
	const name = "serviceentries.networking.istio.io"
	if err := crds.Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	eventually(t, "the CRD deleted", func() error {
		_, err := crds.Get(context.Background(), name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there (%v)", err)
	})
}

// The CRD is installed after the source started: it is ready with nothing at once, then picks
// up the resource and follows the entries, in any served version.
func TestServiceEntriesAgainstTheAPIServer(t *testing.T) {
	local, _ := clusters(t)
	cfg := local.Config()
	client := dynamic.NewForConfigOrDie(cfg)
	src := sync.NewServiceEntries(client, discovery.NewDiscoveryClientForConfigOrDie(cfg),
		sync.ServiceEntriesOptions{Discover: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); src.Run(ctx, func() {}) }()
	t.Cleanup(func() { cancel(); <-done })
	waitEntries(t, src, "ready with no clusters", func(cs []resolver.Cluster) error {
		if len(cs) != 0 {
			return fmt.Errorf("clusters %v", cs)
		}
		return nil
	})

	installEntryCRD(t, local, "")
	v1alpha3 := schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1alpha3", Resource: "serviceentries"}
	entry := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.istio.io/v1alpha3", "kind": "ServiceEntry",
		"metadata": map[string]any{"name": "httpbin-bar", "namespace": "default"},
		"spec": map[string]any{
			"hosts": []any{"httpbin.bar.global"}, "location": "MESH_INTERNAL", "resolution": "DNS",
			"addresses": []any{"240.0.0.2"},
			"ports":     []any{map[string]any{"name": "http1", "number": int64(8000), "protocol": "http"}},
			"endpoints": []any{map[string]any{"address": "203.0.113.7", "ports": map[string]any{"http1": int64(15443)}}},
		},
	}}
	entries := client.Resource(v1alpha3).Namespace("default")
	if _, err := entries.Create(context.Background(), entry, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitEntries(t, src, "httpbin at 240.0.0.2", entryAt("default-httpbin-bar", "240.0.0.2"))

	if err := unstructured.SetNestedStringSlice(entry.Object, []string{"240.0.0.3"}, "spec", "addresses"); err != nil {
		t.Fatal(err)
	}
	cur, err := entries.Get(context.Background(), "httpbin-bar", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	entry.SetResourceVersion(cur.GetResourceVersion())
	if _, err := entries.Update(context.Background(), entry, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitEntries(t, src, "httpbin at 240.0.0.3", entryAt("default-httpbin-bar", "240.0.0.3"))
	if err := entries.Delete(context.Background(), "httpbin-bar", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitEntries(t, src, "httpbin gone", noClusters)

	// The CRD is deleted with its entries, and made again serving v1alpha3 alone: the source,
	// which watched v1, finds the resource again in the version now served.
	entry.SetResourceVersion("")
	if _, err := entries.Create(context.Background(), entry.DeepCopy(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitEntries(t, src, "httpbin back", entryAt("default-httpbin-bar", "240.0.0.3"))
	deleteEntryCRD(t, local)
	waitEntries(t, src, "no entries without the CRD", noClusters)
	installEntryCRD(t, local, "v1alpha3")
	eventually(t, "an entry created in v1alpha3", func() error {
		_, err := entries.Create(context.Background(), entry.DeepCopy(), metav1.CreateOptions{})
		return err
	})
	waitEntries(t, src, "httpbin read in v1alpha3", entryAt("default-httpbin-bar", "240.0.0.3"))
}

func noClusters(cs []resolver.Cluster) error {
	if len(cs) != 0 {
		return fmt.Errorf("clusters %v", cs)
	}
	return nil
}

func waitEntries(t *testing.T, src *sync.ServiceEntries, what string, check func([]resolver.Cluster) error) {
	t.Helper()
	eventually(t, what, func() error {
		cs, ready := src.Clusters()
		if !ready {
			return errors.New("not ready")
		}
		return check(cs)
	})
}

func entryAt(name, addr string) func([]resolver.Cluster) error {
	return func(cs []resolver.Cluster) error {
		i := slices.IndexFunc(cs, func(c resolver.Cluster) bool { return c.Name == name })
		if i < 0 {
			return fmt.Errorf("no cluster %s among %d", name, len(cs))
		}
		if want := []netip.Addr{netip.MustParseAddr(addr)}; !slices.Equal(cs[i].Gateway.Addresses, want) {
			return fmt.Errorf("%s at %v", name, cs[i].Gateway.Addresses)
		}
		return nil
	}
}
