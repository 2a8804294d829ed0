package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// fieldManager owns the fields the tests apply.
const fieldManager = "peerdnsctl-test"

// warnings collects the API server's warning headers (Pod Security "warn" mode among them).
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	list := w.list
	w.list = nil
	return list
}

// applier applies documents to the local cluster with server-side apply, as
// `kubectl apply --server-side` does.
type applier struct {
	dyn      dynamic.Interface
	mapper   *restmapper.DeferredDiscoveryRESTMapper
	warnings *warnings
}

func newApplier(t *testing.T) *applier {
	t.Helper()
	w := &warnings{}
	cfg := rest.CopyConfig(local.Config())
	cfg.WarningHandler = w
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &applier{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc)), warnings: w}
}

// apply sends d's YAML as an apply patch (application/apply-patch+yaml); with dryRun, the API
// server runs every validation and admission step and stores nothing.
func (a *applier) apply(ctx context.Context, d document, dryRun bool) (*unstructured.Unstructured, error) {
	gvk := d.obj.GroupVersionKind()
	m, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d, err)
	}
	opts := metav1.PatchOptions{FieldManager: fieldManager}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	var r dynamic.ResourceInterface = a.dyn.Resource(m.Resource)
	if ns := d.obj.GetNamespace(); ns != "" {
		r = a.dyn.Resource(m.Resource).Namespace(ns)
	}
	obj, err := r.Patch(ctx, d.obj.GetName(), types.ApplyYAMLPatchType, d.yaml, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d, err)
	}
	return obj, nil
}

// applyForReal creates what the dry run needs to exist: the Namespaces of docs (a dry-run
// Namespace is not there for the namespaced objects after it) and the namespaces their objects
// go to. It returns the documents left for the dry run.
func (a *applier) applyForReal(t *testing.T, docs []document) []document {
	t.Helper()
	ctx := context.Background()
	var rest []document
	for _, d := range docs {
		if d.obj.GetKind() == "Namespace" {
			if _, err := a.apply(ctx, d, false); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if ns := d.obj.GetNamespace(); ns != "" {
			if err := local.EnsureNamespace(ctx, ns); err != nil {
				t.Fatal(err)
			}
		}
		rest = append(rest, d)
	}
	return rest
}

// TestManifestsApplyDryRun: the API server accepts every object of deploy/peerdns.yaml and of
// the chart rendered with every value changed, as server-side apply with dry run, without a
// warning: Pod Security "restricted", which the manifests' Namespace enforces, has nothing to
// say about the Deployment.
func TestManifestsApplyDryRun(t *testing.T) {
	local.LogOnFailure(t)
	for name, docs := range map[string][]document{
		manifestsFile:          readDocuments(t, manifestsFile),
		"chart, custom values": renderCustom(t),
		"chart, sync-stubs":    renderSyncStubs(t),
	} {
		t.Run(name, func(t *testing.T) {
			a := newApplier(t)
			rest := a.applyForReal(t, docs)
			if len(rest) == len(docs) {
				t.Fatal("no Namespace among the objects: Pod Security would not be checked")
			}
			for _, d := range rest {
				a.warnings.take()
				got, err := a.apply(context.Background(), d, true)
				if err != nil {
					t.Errorf("dry-run apply: %v", err)
					continue
				}
				if w := a.warnings.take(); len(w) > 0 {
					t.Errorf("%s: warnings from the API server: %q", d, w)
				}
				if got.GetName() != d.obj.GetName() || got.GetKind() != d.obj.GetKind() {
					t.Errorf("%s: dry run returned %s %s", d, got.GetKind(), got.GetName())
				}
			}
			t.Logf("%d objects accepted in dry run, %d applied for real", len(rest), len(docs)-len(rest))
		})
	}
}

// TestPodSecurityRestricted: a Pod made from the Deployment's template is admitted by a
// namespace that enforces Pod Security "restricted" (dry run) — and, so that the check is known
// to bite, the same Pod with privilege escalation allowed is refused, and the Deployment with
// it draws a warning.
func TestPodSecurityRestricted(t *testing.T) {
	local.LogOnFailure(t)
	docs := readDocuments(t, manifestsFile)
	a := newApplier(t)
	a.applyForReal(t, docs)
	o := typed(t, docs)
	d := one(t, "Deployments", o.deployments)
	ns := one(t, "Namespaces", o.namespaces)
	if got := ns.Labels["pod-security.kubernetes.io/enforce"]; got != "restricted" {
		t.Fatalf("Namespace %s: pod-security.kubernetes.io/enforce = %q, want restricted", ns.Name, got)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "peerdns-template", Namespace: d.Namespace, Labels: d.Spec.Template.Labels},
		Spec:       d.Spec.Template.Spec,
	}
	if err := createPodDryRun(local.Client(), pod); err != nil {
		t.Errorf("the Deployment's pod under Pod Security restricted: %v", err)
	}

	bad := pod.DeepCopy()
	escalate := true
	bad.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = &escalate
	err := createPodDryRun(local.Client(), bad)
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "allowPrivilegeEscalation") {
		t.Errorf("a pod allowing privilege escalation: %v, want forbidden by Pod Security", err)
	}
	badDeploy := d.DeepCopy()
	badDeploy.APIVersion, badDeploy.Kind = "apps/v1", "Deployment"
	badDeploy.Spec.Template.Spec = bad.Spec
	a.warnings.take()
	if _, err := a.apply(context.Background(), toDocument(t, badDeploy), true); err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(a.warnings.take(), "\n"); !strings.Contains(w, "PodSecurity") {
		t.Errorf("a Deployment allowing privilege escalation drew warnings %q, want a PodSecurity one", w)
	}
}

func createPodDryRun(k kubernetes.Interface, pod *corev1.Pod) error {
	_, err := k.CoreV1().Pods(pod.Namespace).Create(context.Background(), pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	return err
}

// toDocument turns a typed object (with its TypeMeta set) into a document to apply.
func toDocument(t *testing.T, obj any) document {
	t.Helper()
	data, err := json.Marshal(obj) // JSON is YAML: an apply patch takes either
	if err != nil {
		t.Fatal(err)
	}
	docs, err := parseDocuments(data)
	if err != nil || len(docs) != 1 {
		t.Fatalf("%d documents, %v", len(docs), err)
	}
	return docs[0]
}
