package multicluster

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/peerdns/peerdns/test/e2e"
)

// TestKubeconfigFolder: a kubeconfig dropped into the folder of `kubeconfig PATH` adds its peer,
// without a restart; removed, the peer leaves the map (SPEC section 4).
func TestKubeconfigFolder(t *testing.T) {
	logClustersOnFailure(t)
	ns := newNamespace(t, east, west)
	createService(t, east, ns, "api", nil)
	createService(t, west, ns, "db", nil)
	s := start(t, setup{peers: peers(east)})
	api, db := "api."+ns+".global", "db."+ns+".global"
	await(t, s, settle, addrs(defaultGateways["east"].ips...), api, "A")
	check(t, s, rcode("NXDOMAIN"), db, "A")

	file := filepath.Join(s.Dir(), "peers", west.Name+".yaml")
	e2e.CopyFile(t, identity[west.Name], file)
	await(t, s, settle, addrs(defaultGateways["west"].ips...), db, "A")
	check(t, s, txt("west", `state=live .*source=kubeconfig`), db, "TXT")

	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	await(t, s, settle, rcode("NXDOMAIN"), db, "A")
	check(t, s, addrs(defaultGateways["east"].ips...), api, "A")
}
