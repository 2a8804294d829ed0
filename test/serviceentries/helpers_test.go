package serviceentries

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"

	"github.com/peerdns/peerdns/test/e2e"
	"github.com/peerdns/peerdns/test/testbed"
)

// settle bounds how long a change in a cluster takes to reach the answers.
const settle = 30 * time.Second

// entries returns the ServiceEntries of namespace ns of local, in API version v.
func entries(v, ns string) dynamic.ResourceInterface {
	gvr := schema.GroupVersionResource{Group: "networking.istio.io", Version: v, Resource: "serviceentries"}
	return dynamic.NewForConfigOrDie(local.Config()).Resource(gvr).Namespace(ns)
}

// putEntry creates the ServiceEntry ns/name in local, or replaces its spec; spec is YAML. v is
// the API version it is written in (the server reads whichever it prefers).
func putEntry(t *testing.T, v, ns, name, spec string) {
	t.Helper()
	obj := map[string]any{}
	if err := utilyaml.Unmarshal([]byte(spec), &obj); err != nil {
		t.Fatalf("spec of %s/%s: %v", ns, name, err)
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.istio.io/" + v, "kind": "ServiceEntry",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec":     obj,
	}}
	ctx := context.Background()
	res := entries(v, ns)
	cur, err := res.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = res.Create(ctx, u, metav1.CreateOptions{})
	case err == nil:
		u.SetResourceVersion(cur.GetResourceVersion())
		_, err = res.Update(ctx, u, metav1.UpdateOptions{})
	}
	if err != nil {
		t.Fatalf("ServiceEntry %s/%s: %v", ns, name, err)
	}
}

// annotateEntry sets an annotation of the v1 ServiceEntry ns/name.
func annotateEntry(t *testing.T, ns, name, key, value string) {
	t.Helper()
	ctx := context.Background()
	res := entries("v1", ns)
	cur, err := res.Get(ctx, name, metav1.GetOptions{})
	if err == nil {
		a := cur.GetAnnotations()
		if a == nil {
			a = map[string]string{}
		}
		a[key] = value
		cur.SetAnnotations(a)
		_, err = res.Update(ctx, cur, metav1.UpdateOptions{})
	}
	if err != nil {
		t.Fatalf("annotate ServiceEntry %s/%s: %v", ns, name, err)
	}
}

func deleteEntry(t *testing.T, ns, name string) {
	t.Helper()
	if err := entries("v1", ns).Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete ServiceEntry %s/%s: %v", ns, name, err)
	}
}

// newNamespace creates a fresh namespace in c (a deleted one stays Terminating in the test bed).
func newNamespace(t *testing.T, c *testbed.Cluster, prefix string) string {
	t.Helper()
	ns := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"generateName": prefix},
	}}
	got, err := dynamic.NewForConfigOrDie(c.Config()).Resource(kinds["Namespace"]).Create(context.Background(), ns, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace in %s: %v", c.Name, err)
	}
	return got.GetName()
}

// startServer starts peerdns with lines in its peerdns block for the zone global, reading local
// with peerdns's own identity, copied to {dir}/local.yaml.
func startServer(t *testing.T, dir string, lines ...string) *e2e.Server {
	t.Helper()
	data, err := os.ReadFile(localIdentity)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "local.yaml"), data, 0o600)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*testbed.Cluster{local, east, west} {
		c.LogOnFailure(t)
	}
	lines = append([]string{"local_kubeconfig {dir}/local.yaml", "serviceentries"}, lines...)
	corefile := `global:{port} {
    bind 127.0.0.1
    peerdns {
        ` + strings.Join(lines, "\n        ") + `
    }
}
`
	return e2e.Start(t, corefile, e2e.Options{Dir: dir})
}

// waitDig asks dig until check passes, failing the test after settle with the last reply.
func waitDig(t *testing.T, s *e2e.Server, what string, check func(*e2e.Reply) error, args ...string) *e2e.Reply {
	t.Helper()
	deadline := time.Now().Add(settle)
	for {
		r := s.Dig(t, args...)
		err := check(r)
		if err == nil {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not so after %v: %v\n%s\nserver output:\n%s", what, settle, err, r.Raw(), s.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// answers checks a NOERROR reply whose addresses are want, sorted.
func answers(want ...string) func(*e2e.Reply) error {
	slices.Sort(want)
	return func(r *e2e.Reply) error {
		if got := e2e.Addrs(r.Answer()); r.Status() != "NOERROR" || !slices.Equal(got, want) {
			return fmt.Errorf("%s %v, want NOERROR %v", r.Status(), got, want)
		}
		return nil
	}
}

// negative checks a reply of status with no answer and the zone's SOA in authority.
func negative(status string) func(*e2e.Reply) error {
	return func(r *e2e.Reply) error {
		if r.Status() != status || len(r.Answer()) != 0 || len(r.Authority()) != 1 || r.Authority()[0].Header().Rrtype != dns.TypeSOA {
			return fmt.Errorf("%s with %d answers and authority %v, want %s, no answer and the SOA", r.Status(), len(r.Answer()), r.Authority(), status)
		}
		return nil
	}
}
