package serviceentries

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/peerdns/peerdns/test/e2e"
)

// httpbinBar is the ServiceEntry of Istio's 2019 multicluster docs: httpbin in namespace bar of
// cluster2, reached from cluster1 through a VIP of 240.0.0.0/4 and cluster2's gateway on 15443.
const httpbinBar = `
hosts: [httpbin.bar.global]
location: MESH_INTERNAL
ports: [{name: http1, number: 8000, protocol: http}]
resolution: DNS
addresses: [%s]
endpoints: [{address: 203.0.113.7, ports: {http1: 15443}}]
`

// A ServiceEntry is answered as it is created, changed and deleted; hosts outside the zone,
// wildcards and malformed entries are left out without disturbing the rest.
func TestServiceEntryAnswers(t *testing.T) {
	ns := newNamespace(t, local, "foo-")
	putEntry(t, "v1alpha3", ns, "httpbin-bar", fmt.Sprintf(httpbinBar, "240.0.0.2"))
	s := startServer(t, t.TempDir())

	r := waitDig(t, s, "httpbin.bar.global at its VIP", answers("240.0.0.2"), "httpbin.bar.global", "A")
	if !r.Flag("aa") {
		t.Errorf("answer without AA:\n%s", r.Raw())
	}
	cluster := ns + "-httpbin-bar"
	r = s.Dig(t, "httpbin.bar.global", "TXT")
	wantTXT := "cluster=" + cluster + " gateway=240.0.0.2 port=8000 state=live age="
	if txt := e2e.TXTs(r.Answer()); len(txt) != 1 || !strings.HasPrefix(txt[0], wantTXT) || !strings.Contains(txt[0], " source=serviceentries") {
		t.Errorf("TXT %q, want one starting %q, from serviceentries", txt, wantTXT)
	}
	r = s.Dig(t, "_http1._tcp.httpbin.bar.global", "SRV")
	if a := r.Answer(); len(a) != 1 || a[0].(*dns.SRV).Port != 8000 || a[0].(*dns.SRV).Target != cluster+".httpbin.bar.global." {
		t.Errorf("SRV %v, want port 8000 of %s", a, cluster)
	}
	if add := e2e.Addrs(r.Additional()); !slices.Equal(add, []string{"240.0.0.2"}) {
		t.Errorf("SRV additional %v, want the VIP", add)
	}
	// A v4-only entry has no AAAA: NODATA, never NXDOMAIN.
	waitDig(t, s, "AAAA of httpbin.bar.global", negative("NOERROR"), "httpbin.bar.global", "AAAA")

	// Entries the server must leave out: another zone, a wildcard, a malformed address.
	putEntry(t, "v1", ns, "httpbin-local", `{hosts: [httpbin.bar.svc.cluster.local, foo.example.com], addresses: [240.0.0.9]}`)
	putEntry(t, "v1", ns, "wildcard", `{hosts: ["*.bar.global"], addresses: [240.0.0.10]}`)
	putEntry(t, "v1", ns, "broken", `{hosts: [broken.bar.global], addresses: [240.0.0.11, not-an-ip]}`)
	putEntry(t, "v1", ns, "httpbin-bar", fmt.Sprintf(httpbinBar, "240.0.0.3"))
	waitDig(t, s, "httpbin.bar.global at its new VIP", answers("240.0.0.3"), "httpbin.bar.global", "A")
	// The entries above were listed before the update: the map that answers it has them all.
	if txt := e2e.TXTs(s.Dig(t, "httpbin.bar.global", "TXT").Answer()); len(txt) != 1 {
		t.Errorf("TXT %q, want httpbin-bar's only", txt)
	}
	for _, name := range []string{"web.bar.global", "broken.bar.global"} {
		if r := s.Dig(t, name, "A"); negative("NXDOMAIN")(r) != nil {
			t.Errorf("%s: %v, want NXDOMAIN\n%s", name, negative("NXDOMAIN")(r), r.Raw())
		}
	}
	for _, name := range []string{"foo.example.com", "httpbin.bar.svc.cluster.local"} {
		if r := s.Dig(t, name, "A"); r.Status() != "REFUSED" {
			t.Errorf("%s outside the zone: %s, want REFUSED", name, r.Status())
		}
	}
	warning := regexp.MustCompile(`\[WARNING\] plugin/peerdns: service entry skipped: malformed.*` +
		regexp.QuoteMeta(ns+"/broken") + `.*spec\.addresses\[1\]`)
	if !warning.MatchString(s.Output()) {
		t.Errorf("no warning naming %s/broken and spec.addresses[1] in the server's output:\n%s", ns, s.Output())
	}

	start := time.Now()
	deleteEntry(t, ns, "httpbin-bar")
	waitDig(t, s, "httpbin.bar.global gone", negative("NXDOMAIN"), "httpbin.bar.global", "A")
	t.Logf("a deleted ServiceEntry was NXDOMAIN after %v", time.Since(start))
}
