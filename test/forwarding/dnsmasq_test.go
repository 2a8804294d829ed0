package forwarding

import (
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/peerdns/peerdns/internal/testnet"
	"github.com/peerdns/peerdns/test/e2e"
)

// kubeDNSConfig is a kube-dns ConfigMap as a cluster admin left it: a stub domain of their own
// and upstream servers, which install must leave as they are.
var kubeDNSConfig = map[string]string{
	"stubDomains":         `{"acme.local": ["10.150.0.1"]}`,
	"upstreamNameservers": `["198.51.100.53"]`,
}

// TestKubeDNSStubDomains: peerdnsctl writes the stub domains into kube-dns's ConfigMap, and
// dnsmasq, started with the --server lines kube-dns derives from them, sends .global and the
// remote-only namespaces to peerdns while cluster.local stays with the cluster's own DNS.
func TestKubeDNSStubDomains(t *testing.T) {
	putConfigMap(t, "kube-dns", kubeDNSConfig)
	pd := startPeerdns(t)
	kubedns := startKubeDNS(t)
	server := pd.Addr()

	ctl(t, "install", "--target", "kube-dns", "--server", server,
		"--remote-namespaces", "--peers", pd.Dir()+"/peers")
	stubs := stubDomains(t)
	if got := stubs["acme.local"]; !slices.Equal(got, []string{"10.150.0.1"}) {
		t.Errorf("the admin's stub domain acme.local is now %v", got)
	}
	for _, zone := range []string{"global", remoteNS + ".svc.cluster.local"} {
		if got := stubs[zone]; !slices.Equal(got, []string{server}) {
			t.Errorf("stub domain %s: got %v, want [%s]", zone, got, server)
		}
	}

	dm := startDnsmasq(t, stubs, kubedns)
	checkForwarded(t, dm.port)

	// A namespace that appears in the peer reaches the cluster DNS once sync-stubs has added it
	// (and kube-dns has restarted dnsmasq with the new line, as it does on a ConfigMap change).
	later := newRemoteNamespace(t)
	check(t, dm.port, "billing."+later+".svc.cluster.local.", "A", expect{status: "NXDOMAIN", soa: true})
	ctl(t, "sync-stubs", "--target", "kube-dns", "--peers", pd.Dir()+"/peers")
	dm.stop()
	dm = startDnsmasq(t, stubDomains(t), kubedns)
	check(t, dm.port, "billing."+later+".svc.cluster.local.", "A", expect{status: "NOERROR", addrs: []string{eastGateway}})

	ctl(t, "uninstall", "--target", "kube-dns")
	if got := configMapData(t, "kube-dns"); !maps.Equal(got, kubeDNSConfig) {
		t.Errorf("after uninstall the ConfigMap holds %q, want what the admin wrote: %q", got, kubeDNSConfig)
	}
}

// checkForwarded asks the forwarder on port for what a pod asks the cluster DNS for.
func checkForwarded(t *testing.T, port int) {
	t.Helper()
	gw := []string{eastGateway}
	check(t, port, "productcatalogservice.default.global.", "A", expect{status: "NOERROR", addrs: gw})
	check(t, port, "PRODUCTCATALOGSERVICE.Default.Global.", "A", expect{status: "NOERROR", addrs: gw})
	check(t, port, "productcatalogservice.default.global.", "AAAA", expect{status: "NOERROR", soa: true})
	check(t, port, "nothere.default.global.", "A", expect{status: "NXDOMAIN", soa: true})
	check(t, port, "nothere.default.global.", "AAAA", expect{status: "NXDOMAIN", soa: true})
	check(t, port, "cart."+remoteNS+".svc.cluster.local.", "A", expect{status: "NOERROR", addrs: gw})
	check(t, port, "cart."+remoteNS+".global.", "A", expect{status: "NOERROR", addrs: gw})
	// The local cluster's own names are the local cluster's.
	check(t, port, "frontend.default.svc.cluster.local.", "A", expect{status: "NOERROR", addrs: []string{clusterIP(t, "default", "frontend")}})
	check(t, port, "kubernetes.default.svc.cluster.local.", "A", expect{status: "NOERROR", addrs: []string{clusterIP(t, "default", "kubernetes")}})
	check(t, port, "productcatalogservice.default.svc.cluster.local.", "A", expect{status: "NXDOMAIN", soa: true})
}

// stubDomains reads kube-dns's stubDomains as kube-dns does.
func stubDomains(t *testing.T) map[string][]string {
	t.Helper()
	var stubs map[string][]string
	if err := json.Unmarshal([]byte(configMapData(t, "kube-dns")["stubDomains"]), &stubs); err != nil {
		t.Fatalf("kube-dns stubDomains is not what kube-dns reads: %v", err)
	}
	return stubs
}

// kubeDNSCorefile stands in for kube-dns's own server (kubedns, port 10053 in its pod): the
// cluster domain answered from the local API server.
const kubeDNSCorefile = `cluster.local:{port} in-addr.arpa:{port} ip6.arpa:{port} {
    bind 127.0.0.1
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig {dir}/local.yaml
    }
}
`

func startKubeDNS(t *testing.T) *e2e.Server {
	t.Helper()
	dir := t.TempDir()
	e2e.CopyFile(t, local.Kubeconfig, dir+"/local.yaml")
	return e2e.Start(t, kubeDNSCorefile, e2e.Options{Dir: dir, Zone: "cluster.local."})
}

// dnsmasq is a running dnsmasq.
type dnsmasq struct {
	port int
	cmd  *exec.Cmd
	out  *testnet.Buffer
}

// startDnsmasq runs dnsmasq the way kube-dns's dnsmasq container runs it: the cluster domain and
// reverse zones to kubedns, one --server=/domain/ip#port per stub-domain server (dnsmasq-nanny's
// translation of stubDomains), no negative cache; and, to keep the test hermetic, no
// resolv.conf, hosts file or configuration file of this machine.
func startDnsmasq(t *testing.T, stubs map[string][]string, kubedns *e2e.Server) *dnsmasq {
	t.Helper()
	_, kport, _ := net.SplitHostPort(kubedns.Addr())
	port, err := testnet.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--keep-in-foreground", "--log-facility=-", "--conf-file=/dev/null", "--pid-file=",
		"--no-resolv", "--no-hosts", "--listen-address=127.0.0.1", "--bind-interfaces",
		"--port=" + strconv.Itoa(port), "--cache-size=1000", "--no-negcache",
		"--server=/cluster.local/127.0.0.1#" + kport,
		"--server=/in-addr.arpa/127.0.0.1#" + kport,
		"--server=/ip6.arpa/127.0.0.1#" + kport,
	}
	for _, domain := range slices.Sorted(maps.Keys(stubs)) {
		for _, server := range stubs[domain] {
			args = append(args, fmt.Sprintf("--server=/%s/%s", domain, dnsmasqServer(server)))
		}
	}
	d := &dnsmasq{port: port, out: &testnet.Buffer{}}
	d.cmd = exec.Command(dnsmasqBin, args...)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start dnsmasq: %v", err)
	}
	t.Cleanup(func() {
		d.stop()
		if t.Failed() {
			t.Logf("dnsmasq %v:\n%s", args, d.out)
		}
	})
	d.waitReady(t)
	return d
}

// dnsmasqServer turns a stubDomains server, IP or IP:PORT, into dnsmasq's IP#PORT.
func dnsmasqServer(s string) string {
	if host, port, err := net.SplitHostPort(s); err == nil {
		return host + "#" + port
	}
	return s
}

func (d *dnsmasq) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(d.port)), time.Second)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("dnsmasq did not listen on port %d:\n%s", d.port, d.out)
}

func (d *dnsmasq) stop() {
	if d.cmd.ProcessState != nil {
		return
	}
	_ = d.cmd.Process.Kill()
	_ = d.cmd.Wait()
}
