package forwarding

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/peerdns/peerdns/test/e2e"
)

// peerdnsCorefile is the stand-alone peerdns that the cluster DNS forwards to: the global zone,
// and the cluster domain for namespaces that exist only in peers.
const peerdnsCorefile = `global:{port} cluster.local:{port} {
    bind 127.0.0.1
    peerdns {
        kubeconfig {dir}/peers
        local_kubeconfig {dir}/local.yaml
        remote_namespaces
        negative_ttl 5
    }
}
`

// startPeerdns starts the stand-alone peerdns with the admin kubeconfigs of both clusters.
func startPeerdns(t *testing.T) *e2e.Server {
	t.Helper()
	dir := t.TempDir()
	e2e.CopyFile(t, east.Kubeconfig, filepath.Join(dir, "peers", "east.yaml"))
	e2e.CopyFile(t, local.Kubeconfig, filepath.Join(dir, "local.yaml"))
	return e2e.Start(t, peerdnsCorefile, e2e.Options{Dir: dir})
}

// ctl runs peerdnsctl against the local cluster and returns its standard output; it fails the
// test when the command fails.
func ctl(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := ctlResult(args...)
	if err != nil {
		t.Fatalf("peerdnsctl %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

func ctlResult(args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	argv := append([]string{"--kubeconfig", local.Kubeconfig}, args...)
	var o, e bytes.Buffer
	cmd := exec.CommandContext(ctx, ctlBin, argv...)
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// putConfigMap creates or replaces kube-system/name in the local cluster with data alone.
func putConfigMap(t *testing.T, name string, data map[string]string) {
	t.Helper()
	ctx := context.Background()
	cms := local.Client().CoreV1().ConfigMaps("kube-system")
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kube-system"}, Data: data}
	if err := cms.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// configMapData reads kube-system/name of the local cluster.
func configMapData(t *testing.T, name string) map[string]string {
	t.Helper()
	cm, err := local.Client().CoreV1().ConfigMaps("kube-system").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cm.Data
}

// newRemoteNamespace creates a namespace with a service cart in east only, for a test that
// watches a remote-only namespace arrive.
func newRemoteNamespace(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	gen := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "fw-"}}
	ns, err := east.Client().CoreV1().Namespaces().Create(ctx, gen, metav1.CreateOptions{})
	if err == nil {
		_, err = east.CreateService(ctx, ns.Name, "billing", corev1.ServiceTypeClusterIP, corev1.ServicePort{Name: "http", Port: 8080})
	}
	if err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// clusterIP is the ClusterIP of a Service of the local cluster.
func clusterIP(t *testing.T, ns, name string) string {
	t.Helper()
	svc, err := local.Client().CoreV1().Services(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return svc.Spec.ClusterIP
}

// expect is what a reply must hold: a status and, for NOERROR, the A/AAAA answer addresses.
type expect struct {
	status string
	addrs  []string // nil: no address records
	soa    bool     // an SOA in the authority section (negative answers, RFC 2308)
}

// check digs at the forwarder on port and compares the reply with want.
func check(t *testing.T, port int, name, qtype string, want expect) {
	t.Helper()
	r := e2e.DigAt(t, port, name, qtype)
	if !matches(r, want) {
		t.Errorf("%s %s via 127.0.0.1:%d: got %s %v, want %s %v (SOA in authority: %v)\n%s",
			name, qtype, port, r.Status(), e2e.Addrs(r.Answer()), want.status, want.addrs, want.soa, r.Raw())
	}
}

// await digs until the reply matches want, for changes that take a resync to arrive.
func await(t *testing.T, port int, name, qtype string, want expect) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := e2e.DigAt(t, port, name, qtype)
		if matches(r, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s via 127.0.0.1:%d: still %s %v after 30s, want %s %v\n%s",
				name, qtype, port, r.Status(), e2e.Addrs(r.Answer()), want.status, want.addrs, r.Raw())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func matches(r *e2e.Reply, want expect) bool {
	got := e2e.Addrs(r.Answer())
	slices.Sort(got)
	if r.Status() != want.status || !slices.Equal(got, want.addrs) {
		return false
	}
	if !want.soa {
		return true
	}
	for _, rr := range r.Authority() {
		if rr.Header().Rrtype == 6 { // SOA
			return true
		}
	}
	return false
}
