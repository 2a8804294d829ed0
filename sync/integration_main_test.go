package sync_test

import (
	"context"
	"flag"
	"os"
	gosync "sync"
	"testing"
	"time"

	"github.com/peerdns/peerdns/test/testbed"
)

// The real API servers of this test binary: "local" plays the cluster peerdns runs in (remote
// secrets, namespaces), "peer" a peer cluster. They start at the first test that asks for them
// and stop when the binary ends, so that the unit tests alone start nothing.
var (
	testbedOnce  gosync.Once
	testbedErr   error
	testClusters []*testbed.Cluster
)

// testbedUsers are token identities of both clusters, with no permissions until a test grants
// them some.
var testbedUsers = []string{"peerdns", "rotated"}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	testbed.StopAll(testClusters...)
	os.Exit(code)
}

// clusters returns the local and peer clusters, starting them at the first call. Missing test bed
// binaries fail the test, with the test bed's message; -short skips it.
func clusters(t *testing.T) (local, peer *testbed.Cluster) {
	t.Helper()
	if testing.Short() {
		t.Skip("real API servers are not started in -short mode")
	}
	testbedOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		testClusters, testbedErr = testbed.StartAll(ctx, testbed.Options{Users: testbedUsers}, "local", "peer")
	})
	if testbedErr != nil {
		t.Fatalf("testbed: %v", testbedErr)
	}
	for _, c := range testClusters {
		c.LogOnFailure(t)
	}
	return testClusters[0], testClusters[1]
}

// eventually retries check until it returns nil, failing the test after 30 seconds with the last
// error. Tests wait for a condition with a deadline, never for a time.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	const patience = 30 * time.Second
	deadline := time.Now().Add(patience)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not so after %v: %v", what, patience, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
