package peerdnsctl

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/peerdns/peerdns/test/e2e"
	"github.com/peerdns/peerdns/test/testbed"
)

// local is the cluster whose DNS peerdnsctl edits; east is a peer that exports services.
var local, east *testbed.Cluster

// ctlBin is the peerdnsctl binary TestMain builds.
var ctlBin string

// nobody is a user of the local cluster that RBAC grants nothing.
const nobody = "nobody"

// The peerdns server's Service in the local cluster: a ClusterIP in the API server's service
// range (10.96.0.0/16, test/testbed), on the DNS port.
const (
	serverIP  = "10.96.0.20"
	gatewayIP = "203.0.113.7" // east's gateway; only ever answered, never dialled
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "peerdns-peerdnsctl-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)
	if ctlBin, err = e2e.BuildCtl(dir); err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	clusters, err := testbed.StartAll(ctx, testbed.Options{Users: []string{nobody}}, "local", "east")
	if err != nil {
		return fail(err) // testbed.ErrNotBuilt says how to build the binaries
	}
	defer testbed.StopAll(clusters...)
	local, east = clusters[0], clusters[1]
	if err := prepareLocal(ctx); err != nil {
		return fail(fmt.Errorf("cluster local: %w\n%s", err, local.LogTail(20)))
	}
	if err := prepareEast(ctx); err != nil {
		return fail(fmt.Errorf("cluster east: %w\n%s", err, east.LogTail(20)))
	}
	return m.Run()
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "FAIL:", err)
	return 1
}

// prepareLocal creates the peerdns server's Service, peerdns/peerdns.
func prepareLocal(ctx context.Context) error {
	if err := local.EnsureNamespace(ctx, "peerdns"); err != nil {
		return err
	}
	if err := local.EnsureNamespace(ctx, "kube-system"); err != nil {
		return err
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "peerdns", Namespace: "peerdns"},
		Spec: corev1.ServiceSpec{ClusterIP: serverIP, Ports: []corev1.ServicePort{
			{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP},
			{Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP},
		}},
	}
	_, err := local.Client().CoreV1().Services("peerdns").Create(ctx, svc, metav1.CreateOptions{})
	return err
}

// prepareEast gives the peer its gateway, with a load-balancer address, as a cloud would.
func prepareEast(ctx context.Context) error {
	return east.CreateGateway(ctx, "istio-system", "istio-ingressgateway", corev1.ServicePort{Name: "tls", Port: 15443}, gatewayIP)
}

// result is one run of the binary.
type result struct {
	stdout, stderr string
	code           int
}

// ctl runs peerdnsctl against the local cluster as its admin and waits for it.
func ctl(t *testing.T, args ...string) result {
	t.Helper()
	return ctlAs(t, local.Kubeconfig, args...)
}

// ctlAs runs peerdnsctl with the kubeconfig given.
func ctlAs(t *testing.T, kubeconfig string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, ctlBin, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("run peerdnsctl %v: %v", args, err)
	}
	t.Logf("peerdnsctl %v: exit %d\nstdout:\n%s\nstderr:\n%s", args, res.code, res.stdout, res.stderr)
	return res
}

// mustCtl runs peerdnsctl and fails the test unless it exits 0.
func mustCtl(t *testing.T, args ...string) result {
	t.Helper()
	res := ctl(t, args...)
	if res.code != 0 {
		t.Fatalf("peerdnsctl %v: exit %d: %s", args, res.code, res.stderr)
	}
	return res
}
