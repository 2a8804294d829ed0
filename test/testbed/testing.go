package testbed

import (
	"context"
	"testing"
)

// StartT starts one cluster per name, side by side, for the test t: it fails
// t if any cannot start, and when t ends it prints the clusters' logs if t
// failed, then stops them.
func StartT(t testing.TB, opts Options, names ...string) []*Cluster {
	t.Helper()
	clusters, err := StartAll(context.Background(), opts, names...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { StopAll(clusters...) })
	for _, c := range clusters {
		c.LogOnFailure(t)
	}
	return clusters
}

// LogOnFailure arranges for the tail of the cluster's log to be printed when
// t ends, if it failed. Call it at the start of a test that uses a cluster
// started in TestMain.
func (c *Cluster) LogOnFailure(t testing.TB) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(c.LogTail(60))
		}
	})
}
