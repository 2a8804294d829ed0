package serviceentries

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"

	"github.com/peerdns/peerdns/test/e2e"
	"github.com/peerdns/peerdns/test/testbed"
)

// The clusters of the whole test binary: local is where peerdns runs and the ServiceEntries
// live; east and west are peers.
var local, east, west *testbed.Cluster

// localIdentity is the kubeconfig of the ServiceAccount peerdns/peerdns of local: the
// least-privilege identity of deploy/rbac.yaml.
var localIdentity string

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "peerdns-serviceentries-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)
	if err := e2e.Prepare(dir); err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	clusters, err := testbed.StartAll(ctx, testbed.Options{}, "local", "east", "west")
	if err != nil {
		return fail(err) // testbed.ErrNotBuilt says how to build the binaries
	}
	defer testbed.StopAll(clusters...)
	local, east, west = clusters[0], clusters[1], clusters[2]
	if err := prepareLocal(ctx); err != nil {
		return fail(fmt.Errorf("cluster local: %w\n%s", err, local.LogTail(20)))
	}
	return m.Run()
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "FAIL:", err)
	return 1
}

// prepareLocal installs the ServiceEntry CRD and the RBAC of deploy/rbac.yaml into local, and
// writes a kubeconfig of peerdns's ServiceAccount.
func prepareLocal(ctx context.Context) error {
	if err := apply(ctx, local, "deploy/crds/serviceentry.yaml"); err != nil {
		return err
	}
	if err := local.WaitEstablished(ctx, "serviceentries.networking.istio.io"); err != nil {
		return err
	}
	if err := createNamespace(ctx, local, "istio-system"); err != nil { // for the RBAC's Role
		return err
	}
	if err := apply(ctx, local, "deploy/rbac.yaml"); err != nil {
		return err
	}
	path, err := local.ServiceAccountKubeconfig(ctx, "peerdns", "peerdns")
	localIdentity = path
	return err
}

// kinds maps the kinds of the manifests applied here to their resources.
var kinds = map[string]schema.GroupVersionResource{
	"Namespace":                {Version: "v1", Resource: "namespaces"},
	"ServiceAccount":           {Version: "v1", Resource: "serviceaccounts"},
	"ClusterRole":              {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"},
	"ClusterRoleBinding":       {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"},
	"Role":                     {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"},
	"RoleBinding":              {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
	"CustomResourceDefinition": crdResource,
}

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// apply creates every object of a YAML file of the repository in c, as `kubectl apply` would
// the first time.
func apply(ctx context.Context, c *testbed.Cluster, file string) error {
	data, err := os.ReadFile(filepath.Join("..", "..", file))
	if err != nil {
		return err
	}
	client := dynamic.NewForConfigOrDie(c.Config())
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		obj := map[string]any{}
		if err := utilyaml.Unmarshal(doc, &obj); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		if len(obj) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: obj}
		gvr, ok := kinds[u.GetKind()]
		if !ok {
			return fmt.Errorf("%s: kind %q is not one this test applies", file, u.GetKind())
		}
		var res dynamic.ResourceInterface = client.Resource(gvr)
		if ns := u.GetNamespace(); ns != "" {
			res = client.Resource(gvr).Namespace(ns)
		}
		if _, err := res.Create(ctx, u, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("%s: %s %s: %w", file, u.GetKind(), u.GetName(), err)
		}
	}
}

func createNamespace(ctx context.Context, c *testbed.Cluster, name string) error {
	ns := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name},
	}}
	_, err := dynamic.NewForConfigOrDie(c.Config()).Resource(kinds["Namespace"]).Create(ctx, ns, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}
