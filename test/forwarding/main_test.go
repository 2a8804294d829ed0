package forwarding

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/peerdns/peerdns/test/e2e"
	"github.com/peerdns/peerdns/test/testbed"
)

// local is the cluster whose DNS sends names to peerdns; east is the peer that runs the
// services. Both live for the whole test binary.
var local, east *testbed.Cluster

// Binaries: peerdnsctl built by TestMain, dnsmasq from Debian.
var ctlBin, dnsmasqBin string

// The peer's gateway: every answer for a service of east is this address (documentation range:
// it is only ever answered, never dialled).
const eastGateway = "203.0.113.20"

// remoteNS is a namespace with services in east and none in local: reachable under
// cluster.local only through a stub domain for it.
const remoteNS = "shop"

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "peerdns-forwarding-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)
	if dnsmasqBin, err = findDnsmasq(); err != nil {
		return fail(err)
	}
	if err := e2e.Prepare(dir); err != nil {
		return fail(err)
	}
	if ctlBin, err = e2e.BuildCtl(dir); err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	clusters, err := testbed.StartAll(ctx, testbed.Options{}, "local", "east")
	if err != nil {
		return fail(err) // testbed.ErrNotBuilt says how to build the binaries
	}
	defer testbed.StopAll(clusters...)
	local, east = clusters[0], clusters[1]
	if err := prepareEast(ctx); err != nil {
		return fail(fmt.Errorf("cluster east: %w\n%s", err, east.LogTail(20)))
	}
	if err := prepareLocal(ctx); err != nil {
		return fail(fmt.Errorf("cluster local: %w\n%s", err, local.LogTail(20)))
	}
	return m.Run()
}

// prepareEast gives the peer its gateway, a service in a namespace that local has too
// (default) and one in a namespace that only east has.
func prepareEast(ctx context.Context) error {
	if err := east.CreateGateway(ctx, "istio-system", "istio-ingressgateway", corev1.ServicePort{Name: "tls", Port: 15443}, eastGateway); err != nil {
		return err
	}
	grpc := corev1.ServicePort{Name: "grpc", Port: 3550}
	if _, err := east.CreateService(ctx, "default", "productcatalogservice", corev1.ServiceTypeClusterIP, grpc); err != nil {
		return err
	}
	if err := east.EnsureNamespace(ctx, remoteNS); err != nil {
		return err
	}
	_, err := east.CreateService(ctx, remoteNS, "cart", corev1.ServiceTypeClusterIP, corev1.ServicePort{Name: "http", Port: 8080})
	return err
}

// prepareLocal gives the local cluster a service of its own, which its cluster DNS must keep
// answering itself.
func prepareLocal(ctx context.Context) error {
	_, err := local.CreateService(ctx, "default", "frontend", corev1.ServiceTypeClusterIP, corev1.ServicePort{Name: "http", Port: 80})
	return err
}

// findDnsmasq finds the dnsmasq binary: kube-dns's forwarder, from Debian's dnsmasq-base.
func findDnsmasq() (string, error) {
	if path, err := exec.LookPath("dnsmasq"); err == nil {
		return path, nil
	}
	if _, err := os.Stat("/usr/sbin/dnsmasq"); err == nil {
		return "/usr/sbin/dnsmasq", nil // not on a non-root PATH
	}
	return "", errors.New("dnsmasq not found: run make deps (it installs Debian's dnsmasq-base), " +
		"or apt-get install dnsmasq-base")
}

// moduleRoot is the repository's root, two folders above this package.
func moduleRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return filepath.Join(wd, "..", "..")
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "FAIL:", err)
	return 1
}
