package multicluster

import (
	"context"
	"testing"
)

// TestServiceFollowsPeers: a service created in a peer is answered with that peer's gateway; a
// second peer exporting it adds its gateway; a gateway's load-balancer address changes and the
// answer follows; a peer that stops exporting it (peerdns.io/export=false) leaves the answer;
// deleted everywhere, it is NXDOMAIN. The gateways are this test's own (gateway NAMESPACE/NAME).
func TestServiceFollowsPeers(t *testing.T) {
	logClustersOnFailure(t)
	ns := newNamespace(t, east, west)
	gw := "gw-" + ns
	createGateways(t, map[string]gateway{
		"east": {name: gw, ips: []string{"203.0.113.21"}, tls: true},
		"west": {name: gw, ips: []string{"198.51.100.21"}},
	})
	s := start(t, setup{peers: peers(east, west), extra: []string{"gateway " + gatewayNamespace + "/" + gw}})
	name := "web." + ns + ".global"
	srvName := "_http._tcp." + name
	check(t, s, rcode("NXDOMAIN"), name, "A")

	createService(t, east, ns, "web", nil)
	await(t, s, settle, addrs("203.0.113.21"), name, "A")
	check(t, s, txt("east", `gateway=203\.0\.113\.21 port=15443 state=live age=\d+`), name, "TXT")
	check(t, s, srv("15443 east."+name+"."), srvName, "SRV")

	createService(t, west, ns, "web", nil)
	await(t, s, settle, addrs("203.0.113.21", "198.51.100.21"), name, "A")
	check(t, s, srv("15443 east."+name+".", "8080 west."+name+"."), srvName, "SRV")
	check(t, s, addrs("198.51.100.21"), "west."+name, "A")

	setGatewayIPs(t, east, gw, "203.0.113.22", "203.0.113.23")
	await(t, s, settle, addrs("203.0.113.22", "203.0.113.23", "198.51.100.21"), name, "A")
	check(t, s, addrs("203.0.113.22", "203.0.113.23"), "east."+name, "A")

	labelService(t, west, ns, "web", "peerdns.io/export", "false")
	await(t, s, settle, addrs("203.0.113.22", "203.0.113.23"), name, "A")

	deleteService(t, east, ns, "web")
	await(t, s, settle, rcode("NXDOMAIN"), name, "A")
}

// TestExportRules: services of kube-system, kube-public, kube-node-lease and the gateway's own
// namespace, and those labelled peerdns.io/export=false, are never answered (SPEC section 5).
func TestExportRules(t *testing.T) {
	logClustersOnFailure(t)
	ns := newNamespace(t, east)
	for _, system := range systemNamespaces {
		// The API server makes them shortly after it starts; make sure.
		if err := east.EnsureNamespace(context.Background(), system); err != nil {
			t.Fatal(err)
		}
		createService(t, east, system, "svc-"+ns, nil)
	}
	createService(t, east, ns, "hidden", map[string]string{"peerdns.io/export": "false"})
	createService(t, east, ns, "other", map[string]string{"peerdns.io/export": "true"})
	// Created last: once it is answered, every object created before it has been seen.
	createService(t, east, ns, "sentinel", nil)

	s := start(t, setup{peers: peers(east)})
	await(t, s, settle, addrs(defaultGateways["east"].ips...), "sentinel."+ns+".global", "A")
	check(t, s, addrs(defaultGateways["east"].ips...), "other."+ns+".global", "A")
	check(t, s, rcode("NXDOMAIN"), "hidden."+ns+".global", "A")
	for _, system := range systemNamespaces {
		check(t, s, rcode("NXDOMAIN"), "svc-"+ns+"."+system+".global", "A")
	}
	check(t, s, rcode("NXDOMAIN"), gatewayName+"."+gatewayNamespace+".global", "A")
}

// systemNamespaces are never exported: Kubernetes's own and the gateway's.
var systemNamespaces = []string{"kube-system", "kube-public", "kube-node-lease", gatewayNamespace}

// createGateways creates a gateway in each peer named by the map's keys.
func createGateways(t *testing.T, gws map[string]gateway) {
	t.Helper()
	for name, gw := range gws {
		if err := createGateway(context.Background(), cluster(name), gw); err != nil {
			t.Fatalf("gateway %s in %s: %v", gw.name, name, err)
		}
	}
}
