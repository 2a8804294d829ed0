package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
)

// The files under test.
const (
	manifestsFile = "deploy/peerdns.yaml"
	rbacFile      = "deploy/rbac.yaml"
	chartDir      = "deploy/helm/peerdns"
)

// customValues sets every value of the chart to something other than its default.
const customValues = `
replicas: 3
image:
  repository: registry.example.com/mirror/peerdns
  tag: v9.9.9
  pullPolicy: Always
imagePullSecrets:
  - name: pull
zones: [global, mesh.example.com]
remoteSecretsNamespace: mesh-secrets
remoteNamespaces:
  enabled: true
  clusterDomain: cluster.local
peerdnsOptions:
  - static /etc/peers/peers.yaml
  - gateway istio-system/istio-eastwestgateway
  - ttl 10
  - stale_grace 10m
extraPlugins:
  - log
  - cache 5
resources:
  requests: {cpu: 200m, memory: 256Mi}
  limits: {memory: 768Mi}
nodeSelector:
  example.com/dns: "true"
tolerations:
  - {key: dedicated, operator: Equal, value: dns, effect: NoSchedule}
affinity:
  podAntiAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      - topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels: {app.kubernetes.io/name: peerdns}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: DoNotSchedule
    labelSelector:
      matchLabels: {app.kubernetes.io/name: peerdns}
priorityClassName: system-cluster-critical
podAnnotations:
  example.com/team: dns
extraVolumes:
  - name: peers
    configMap: {name: peers}
extraVolumeMounts:
  - {name: peers, mountPath: /etc/peers, readOnly: true}
service:
  clusterIP: 10.96.0.53
  annotations:
    example.com/owner: dns
podDisruptionBudget:
  minAvailable: 2
namespace:
  create: true
`

// The release the custom render is made as.
const (
	customRelease   = "dns"
	customNamespace = "dns-system"
	customFullname  = "dns-peerdns"
)

// document is one object of a manifest file: its YAML text, as it would be sent to the API
// server, and the same decoded.
type document struct {
	yaml []byte
	obj  *unstructured.Unstructured
}

func (d document) String() string {
	if ns := d.obj.GetNamespace(); ns != "" {
		return fmt.Sprintf("%s %s/%s", d.obj.GetKind(), ns, d.obj.GetName())
	}
	return d.obj.GetKind() + " " + d.obj.GetName()
}

// parseDocuments splits a multi-document YAML file into its objects; documents with nothing
// but comments are left out.
func parseDocuments(data []byte) ([]document, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs []document
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		js, err := utilyaml.ToJSON(doc)
		if err != nil {
			return nil, err
		}
		if string(bytes.TrimSpace(js)) == "null" {
			continue
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(js); err != nil {
			return nil, fmt.Errorf("%w in document:\n%s", err, doc)
		}
		docs = append(docs, document{yaml: doc, obj: obj})
	}
}

// readDocuments reads a manifest file of the repository.
func readDocuments(t *testing.T, name string) []document {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	docs, err := parseDocuments(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return docs
}

// renderCustom renders the chart with customValues, as release customRelease in
// customNamespace.
func renderCustom(t *testing.T) []document {
	t.Helper()
	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte(customValues), 0o644); err != nil {
		t.Fatal(err)
	}
	out := runHelm(t, "template", customRelease, chartDir, "--namespace", customNamespace, "--values", values)
	docs, err := parseDocuments([]byte(out))
	if err != nil {
		t.Fatalf("helm template with custom values: %v\n%s", err, out)
	}
	return docs
}

// objects is a manifest decoded into typed objects, by kind.
type objects struct {
	namespaces          []*corev1.Namespace
	serviceAccounts     []*corev1.ServiceAccount
	clusterRoles        []*rbacv1.ClusterRole
	clusterRoleBindings []*rbacv1.ClusterRoleBinding
	roles               []*rbacv1.Role
	roleBindings        []*rbacv1.RoleBinding
	configMaps          []*corev1.ConfigMap
	deployments         []*appsv1.Deployment
	budgets             []*policyv1.PodDisruptionBudget
	services            []*corev1.Service
}

// typed decodes docs with client-go's scheme; a kind the manifests should not hold is an error.
func typed(t *testing.T, docs []document) *objects {
	t.Helper()
	o := &objects{}
	for _, d := range docs {
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(d.yaml, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		if err := o.add(obj); err != nil {
			t.Fatalf("%s: %v", d, err)
		}
	}
	return o
}

func (o *objects) add(obj runtime.Object) error {
	switch v := obj.(type) {
	case *corev1.Namespace:
		o.namespaces = append(o.namespaces, v)
	case *corev1.ServiceAccount:
		o.serviceAccounts = append(o.serviceAccounts, v)
	case *rbacv1.ClusterRole:
		o.clusterRoles = append(o.clusterRoles, v)
	case *rbacv1.ClusterRoleBinding:
		o.clusterRoleBindings = append(o.clusterRoleBindings, v)
	case *rbacv1.Role:
		o.roles = append(o.roles, v)
	case *rbacv1.RoleBinding:
		o.roleBindings = append(o.roleBindings, v)
	case *corev1.ConfigMap:
		o.configMaps = append(o.configMaps, v)
	case *appsv1.Deployment:
		o.deployments = append(o.deployments, v)
	case *policyv1.PodDisruptionBudget:
		o.budgets = append(o.budgets, v)
	case *corev1.Service:
		o.services = append(o.services, v)
	default:
		return fmt.Errorf("unexpected kind %T", obj)
	}
	return nil
}

// one returns the only element of list, failing the test unless there is exactly one.
func one[T any](t *testing.T, what string, list []T) T {
	t.Helper()
	if len(list) != 1 {
		t.Fatalf("%d %s, want 1", len(list), what)
	}
	return list[0]
}

// corefile is the Corefile of the manifests' one ConfigMap.
func (o *objects) corefile(t *testing.T) string {
	t.Helper()
	cm := one(t, "ConfigMaps", o.configMaps)
	text, ok := cm.Data["Corefile"]
	if !ok {
		t.Fatalf("ConfigMap %s has no Corefile key", cm.Name)
	}
	return text
}

// server is the Deployment's one container.
func (o *objects) server(t *testing.T) corev1.Container {
	t.Helper()
	d := one(t, "Deployments", o.deployments)
	return one(t, "containers in Deployment "+d.Name, d.Spec.Template.Spec.Containers)
}

// corefileLines are the Corefile's lines, trimmed, without blank ones.
func corefileLines(text string) []string {
	var lines []string
	for l := range strings.SplitSeq(text, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}
