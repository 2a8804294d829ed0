package multicluster

import (
	"context"
	"testing"
)

// remoteNamespacesBlock is the server block of a peerdns that also answers the cluster domain:
// a cluster's DNS forwards it the namespaces that exist only in peers (SPEC sections 1 and 6).
const remoteNamespacesBlock = "global:{port} cluster.local:{port}"

// TestRemoteNamespaces: with remote_namespaces, a namespace that exists in a peer and not in the
// local cluster is answered under the cluster domain, <svc>.<ns>.svc.cluster.local, as
// <svc>.<ns>.global is; a namespace that exists locally is never answered there (the query is
// handed on: REFUSED in this stand-alone server), even when it is created while peerdns runs.
func TestRemoteNamespaces(t *testing.T) {
	logClustersOnFailure(t)
	remote := newNamespace(t, east)
	shared := newNamespace(t, east, local)
	later := newNamespace(t, east)
	for _, ns := range []string{remote, shared, later} {
		createService(t, east, ns, "cart", nil)
	}
	s := start(t, setup{
		blocks: remoteNamespacesBlock,
		peers:  peers(east),
		local:  true,
		extra:  []string{"remote_namespaces"},
	})
	eastIPs := defaultGateways["east"].ips
	await(t, s, settle, addrs(eastIPs...), "cart."+remote+".svc.cluster.local", "A")
	await(t, s, settle, addrs(eastIPs...), "cart."+later+".svc.cluster.local", "A")
	check(t, s, txt("east", `state=live`), "cart."+remote+".svc.cluster.local", "TXT")
	check(t, s, rcode("REFUSED"), "cart."+shared+".svc.cluster.local", "A")
	check(t, s, addrs(eastIPs...), "cart."+shared+".global", "A")

	if err := local.EnsureNamespace(context.Background(), later); err != nil {
		t.Fatal(err)
	}
	await(t, s, settle, rcode("REFUSED"), "cart."+later+".svc.cluster.local", "A")
	check(t, s, addrs(eastIPs...), "cart."+later+".global", "A")
	check(t, s, addrs(eastIPs...), "cart."+remote+".svc.cluster.local", "A")
}
