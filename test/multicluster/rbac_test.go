package multicluster

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/peerdns/peerdns/test/testbed"
)

// The identity deploy/rbac.yaml grants: the ServiceAccount peerdns/peerdns.
const (
	rbacFile      = "deploy/rbac.yaml"
	rbacNamespace = "peerdns"
	rbacAccount   = "peerdns"
)

// applyRBAC creates every object of deploy/rbac.yaml in c, as `kubectl apply` would the first
// time: the file is decoded into typed objects and created with the typed client.
func applyRBAC(ctx context.Context, c *testbed.Cluster) error {
	objs, err := readManifests(filepath.Join(moduleRoot(), rbacFile))
	if err != nil {
		return err
	}
	for _, obj := range objs {
		if err := create(ctx, c.Client(), obj); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("%s: %w", rbacFile, err)
		}
	}
	return nil
}

// readManifests decodes a multi-document YAML file into typed Kubernetes objects.
func readManifests(path string) ([]runtime.Object, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []runtime.Object
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(doc, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		objs = append(objs, obj)
	}
}

// create creates one object of the kinds deploy/rbac.yaml holds.
func create(ctx context.Context, k kubernetes.Interface, obj runtime.Object) error {
	opts := metav1.CreateOptions{}
	var err error
	switch o := obj.(type) {
	case *corev1.Namespace:
		_, err = k.CoreV1().Namespaces().Create(ctx, o, opts)
	case *corev1.ServiceAccount:
		_, err = k.CoreV1().ServiceAccounts(o.Namespace).Create(ctx, o, opts)
	case *rbacv1.ClusterRole:
		_, err = k.RbacV1().ClusterRoles().Create(ctx, o, opts)
	case *rbacv1.ClusterRoleBinding:
		_, err = k.RbacV1().ClusterRoleBindings().Create(ctx, o, opts)
	case *rbacv1.Role:
		_, err = k.RbacV1().Roles(o.Namespace).Create(ctx, o, opts)
	case *rbacv1.RoleBinding:
		_, err = k.RbacV1().RoleBindings(o.Namespace).Create(ctx, o, opts)
	default:
		err = fmt.Errorf("unexpected object %T", obj)
	}
	return err
}

// TestLeastPrivilege: the identity of deploy/rbac.yaml, which every other test's server runs
// with, may list and watch Services and Namespaces and the remote secrets' namespace, and
// nothing more: no get, no write, no other Secret.
func TestLeastPrivilege(t *testing.T) {
	ctx := context.Background()
	k := clientFor(t, identity[local.Name])
	allowed := map[string]error{
		"list services":             listErr(k.CoreV1().Services("").List(ctx, metav1.ListOptions{})),
		"list namespaces":           listErr(k.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})),
		"list remote secrets":       listErr(k.CoreV1().Secrets(gatewayNamespace).List(ctx, metav1.ListOptions{})),
		"watch services":            watchErr(k.CoreV1().Services("").Watch(ctx, metav1.ListOptions{})),
		"watch remote secrets":      watchErr(k.CoreV1().Secrets(gatewayNamespace).Watch(ctx, metav1.ListOptions{})),
		"read the server's version": versionErr(k),
	}
	for what, err := range allowed {
		if err != nil {
			t.Errorf("%s: %v, want allowed", what, err)
		}
	}
	_, getErr := k.CoreV1().Services(gatewayNamespace).Get(ctx, gatewayName, metav1.GetOptions{})
	denied := map[string]error{
		"get a service": getErr,
		// A name that does not exist: too broad a grant shows as NotFound, and deletes nothing.
		"delete a service":       k.CoreV1().Services("default").Delete(ctx, "not-there", metav1.DeleteOptions{}),
		"list secrets elsewhere": listErr(k.CoreV1().Secrets("default").List(ctx, metav1.ListOptions{})),
		"list configmaps":        listErr(k.CoreV1().ConfigMaps("").List(ctx, metav1.ListOptions{})),
		"list pods":              listErr(k.CoreV1().Pods("").List(ctx, metav1.ListOptions{})),
	}
	for what, err := range denied {
		if !apierrors.IsForbidden(err) {
			t.Errorf("%s: err = %v, want Forbidden", what, err)
		}
	}
}

// listErr keeps the error of a List call.
func listErr[T any](_ T, err error) error { return err }

// watchErr keeps the error of a Watch call and stops the watch.
func watchErr(w watch.Interface, err error) error {
	if w != nil {
		w.Stop()
	}
	return err
}

// versionErr reads the API server's /version, which every client may.
func versionErr(k kubernetes.Interface) error {
	_, err := k.Discovery().ServerVersion()
	return err
}
