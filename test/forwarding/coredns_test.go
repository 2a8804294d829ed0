package forwarding

import (
	"strconv"
	"strings"
	"testing"

	"github.com/peerdns/peerdns/internal/testnet"
	"github.com/peerdns/peerdns/test/e2e"
)

// clusterCorefile is the Corefile of a cluster whose DNS is CoreDNS, as kubeadm writes it, with
// what a loopback test needs instead of a pod: the port, and the API server's kubeconfig.
// health, ready and prometheus are left out (their fixed ports would clash between tests), and
// so is loop, which needs an upstream. An admin's own stub domain sits beside it.
const clusterCorefile = `.:PORT {
    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       kubeconfig KUBECONFIG
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
       disable success cluster.local
       disable denial cluster.local
    }
    reload
    loadbalance
}

acme.local:PORT {
    errors
    forward . 10.150.0.1
}
`

// TestCoreDNSClusterDNS: peerdnsctl writes its server block into the cluster's CoreDNS Corefile,
// and CoreDNS, run with exactly the Corefile in the ConfigMap, sends .global and the remote-only
// namespaces to peerdns while its kubernetes plugin keeps answering the local cluster.
func TestCoreDNSClusterDNS(t *testing.T) {
	pd := startPeerdns(t)
	port, err := testnet.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	e2e.CopyFile(t, local.Kubeconfig, dir+"/local.yaml")
	original := strings.NewReplacer("PORT", strconv.Itoa(port), "KUBECONFIG", dir+"/local.yaml").Replace(clusterCorefile)
	putConfigMap(t, "coredns", map[string]string{"Corefile": original})
	server := pd.Addr()

	ctl(t, "install", "--target", "coredns", "--server", server, "--remote-namespaces", "--peers", pd.Dir()+"/peers")
	corefile := configMapData(t, "coredns")["Corefile"]
	if !strings.HasPrefix(corefile, original) {
		t.Errorf("install changed the admin's part of the Corefile:\n%s", corefile)
	}
	for _, want := range []string{"# peerdns begin\n", "global:" + strconv.Itoa(port), remoteNS + ".svc.cluster.local:" + strconv.Itoa(port), "forward . " + server, "# peerdns end\n"} {
		if !strings.Contains(corefile, want) {
			t.Errorf("the Corefile does not hold %q:\n%s", want, corefile)
		}
	}
	dns := startClusterDNS(t, dir, corefile, port)
	checkForwarded(t, port)

	later := newRemoteNamespace(t)
	check(t, port, "billing."+later+".svc.cluster.local.", "A", expect{status: "NXDOMAIN", soa: true})
	ctl(t, "sync-stubs", "--target", "coredns", "--peers", pd.Dir()+"/peers")
	corefile = configMapData(t, "coredns")["Corefile"]
	if !strings.Contains(corefile, later+".svc.cluster.local:") {
		t.Fatalf("sync-stubs did not add %s:\n%s", later, corefile)
	}
	dns.Stop() // the reload plugin would take a minute to see the new ConfigMap; a restart is at once
	startClusterDNS(t, dir, corefile, port)
	check(t, port, "billing."+later+".svc.cluster.local.", "A", expect{status: "NOERROR", addrs: []string{eastGateway}})
	checkForwarded(t, port)

	ctl(t, "uninstall", "--target", "coredns")
	if got := configMapData(t, "coredns")["Corefile"]; got != original {
		t.Errorf("after uninstall the Corefile is\n%s\nwant the admin's, byte for byte:\n%s", got, original)
	}
}

// startClusterDNS runs our CoreDNS build as the cluster's DNS with corefile, on port.
func startClusterDNS(t *testing.T, dir, corefile string, port int) *e2e.Server {
	t.Helper()
	return e2e.Start(t, corefile, e2e.Options{Dir: dir, Zone: "cluster.local.", Port: port})
}
