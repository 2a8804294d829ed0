package multicluster

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/peerdns/peerdns/test/e2e"
	"github.com/peerdns/peerdns/test/testbed"
)

// The clusters of the whole test binary. local is where peerdns runs (remote secrets, local
// namespaces); east and west are peers.
var local, east, west *testbed.Cluster

// identity is the kubeconfig of the ServiceAccount peerdns/peerdns of each cluster, by cluster
// name: the least-privilege identity of deploy/rbac.yaml, which every test's server uses.
var identity = map[string]string{}

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("multicluster: skipped in -short mode")
		os.Exit(0)
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "peerdns-multicluster-")
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
	for _, c := range clusters {
		if err := prepareCluster(ctx, c); err != nil {
			return fail(fmt.Errorf("cluster %s: %w\n%s", c.Name, err, c.LogTail(20)))
		}
	}
	return m.Run()
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "FAIL:", err)
	return 1
}

// prepareCluster makes a cluster look like one of a mesh: the gateway's namespace, the RBAC of
// deploy/rbac.yaml, the default gateway with its load-balancer address (peers only), and a token
// for peerdns's ServiceAccount.
func prepareCluster(ctx context.Context, c *testbed.Cluster) error {
	if err := c.EnsureNamespace(ctx, gatewayNamespace); err != nil {
		return err
	}
	if err := applyRBAC(ctx, c); err != nil {
		return err
	}
	if gw, ok := defaultGateways[c.Name]; ok {
		if err := createGateway(ctx, c, gw); err != nil {
			return err
		}
	}
	path, err := c.ServiceAccountKubeconfig(ctx, rbacNamespace, rbacAccount)
	if err != nil {
		return err
	}
	identity[c.Name] = path
	return nil
}
