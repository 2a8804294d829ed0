package multicluster

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peerdns/peerdns/test/testbed"
)

// TestPeerGoesAwayAndComesBack: west's API server is killed. Its services keep being answered,
// with state=stale in TXT, until stale_grace has passed; then they are dropped (NXDOMAIN).
// east's services are answered throughout. West's API server comes back: its services are
// answered again, live (SPEC section 3).
func TestPeerGoesAwayAndComesBack(t *testing.T) {
	logClustersOnFailure(t)
	ns := newNamespace(t, east, west)
	createService(t, east, ns, "api", nil)
	createService(t, west, ns, "web", nil)
	s := start(t, setup{peers: peers(east, west)})
	web, api := "web."+ns+".global", "api."+ns+".global"
	westIPs, eastIPs := defaultGateways["west"].ips, defaultGateways["east"].ips
	await(t, s, settle, addrs(westIPs...), web, "A")
	await(t, s, settle, txt("west", `state=live`), web, "TXT")

	killed := kill(t, west)
	await(t, s, revive, txt("west", `state=stale age=\d+`), web, "TXT")
	t.Logf("west stale %v after its API server was killed", since(killed))
	check(t, s, addrs(westIPs...), web, "A")
	check(t, s, addrs(eastIPs...), api, "A")

	await(t, s, revive, rcode("NXDOMAIN"), web, "A")
	gone := time.Since(killed)
	t.Logf("west's service dropped %v after the kill (stale_grace %v)", gone.Round(time.Millisecond), staleGrace)
	if gone < staleGrace {
		t.Errorf("west's service dropped %v after its API server died, before stale_grace (%v)", gone, staleGrace)
	}
	check(t, s, addrs(eastIPs...), api, "A")

	back := time.Now()
	restart(t, west)
	await(t, s, revive, addrs(westIPs...), web, "A")
	await(t, s, settle, txt("west", `state=live`), web, "TXT")
	t.Logf("west live again %v after its restart began", since(back))
	check(t, s, addrs(eastIPs...), api, "A")
}

// since is the time since t, rounded for logs.
func since(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }

// TestSnapshotWhilePeersDown: a server with snapshot_file is stopped, every peer's API server
// dies, and a new server starts from the snapshot: it answers at once, long before
// startup_timeout, with the peers' services marked stale and their age (SPEC section 4). When
// the peers come back, their services are live again.
func TestSnapshotWhilePeersDown(t *testing.T) {
	logClustersOnFailure(t)
	ns := newNamespace(t, east, west)
	createService(t, east, ns, "cart", nil)
	createService(t, west, ns, "cart", nil)
	cfg := setup{peers: peers(east, west), extra: []string{"snapshot_file {dir}/snapshot", "startup_timeout 2m"}}
	first := start(t, cfg)
	name := "cart." + ns + ".global"
	both := append(append([]string{}, defaultGateways["east"].ips...), defaultGateways["west"].ips...)
	await(t, first, settle, addrs(both...), name, "A")
	awaitFileHolds(t, filepath.Join(first.Dir(), "snapshot"), "cart", ns)
	first.Stop()

	kill(t, east, west)
	cfg.dir = first.Dir()
	began := time.Now()
	second := start(t, cfg)
	check(t, second, addrs(both...), name, "A")
	t.Logf("answered from the snapshot %v after start", time.Since(began).Round(time.Millisecond))
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("the snapshot's answers came %v after start, want at once", took)
	}
	check(t, second, txt("east", `state=stale age=\d+`), name, "TXT")
	check(t, second, txt("west", `state=stale age=\d+`), name, "TXT")

	restart(t, east, west)
	await(t, second, revive, txt("east", `state=live`), name, "TXT")
	await(t, second, revive, txt("west", `state=live`), name, "TXT")
}

// awaitFileHolds polls until the file exists and holds every string of want: the snapshot of a
// map that has the test's service.
func awaitFileHolds(t *testing.T, path string, want ...string) {
	t.Helper()
	deadline := time.Now().Add(settle)
	for {
		data, err := os.ReadFile(path)
		holds := err == nil
		for _, w := range want {
			holds = holds && strings.Contains(string(data), w)
		}
		if holds {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not hold %q within %v (read error: %v)", path, want, settle, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kill kills the clusters' API servers and returns when it began (peerdns may notice before the
// last of them is reaped); they are restarted when the test ends if the test has not restarted
// them itself, so the next test finds every peer up.
func kill(t *testing.T, clusters ...*testbed.Cluster) time.Time {
	began := time.Now()
	for _, c := range clusters {
		c.Kill()
		down[c] = true
	}
	t.Cleanup(func() { restart(t, clusters...) })
	return began
}

// down says which clusters kill has killed and restart has not restarted.
var down = map[*testbed.Cluster]bool{}

// restart restarts the killed clusters among those given, side by side.
func restart(t *testing.T, clusters ...*testbed.Cluster) {
	var wg sync.WaitGroup
	for _, c := range clusters {
		if !down[c] {
			continue
		}
		delete(down, c)
		wg.Go(func() {
			if err := c.Restart(context.Background()); err != nil {
				t.Errorf("restart %s: %v", c.Name, err)
			}
		})
	}
	wg.Wait()
}
