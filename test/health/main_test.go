// Package health checks gateway health checks (`health_check`) end to end: the real peerdns
// binary probes gateways that are real TCP listeners of the test process on loopback addresses,
// and the test watches the answers with dig and the metrics over HTTP as listeners stop and
// start again.
package health

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/peerdns/peerdns/test/e2e"
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "peerdns-health-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := e2e.Prepare(dir); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	return m.Run()
}
