package resolver

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// tierClusters: two clusters in the server's zone, one more in its region, two far away with
// different priorities. Each serves web.shop with one address.
func tierClusters() []Cluster {
	c := func(name, addr, region, zone string, prio int) Cluster {
		return Cluster{
			Name: name, Source: "static", Priority: prio,
			Gateway:  Gateway{Addresses: addrs(addr)},
			Locality: Locality{Region: region, Zone: zone},
			Services: []Service{{Name: "web", Namespace: "shop"}},
		}
	}
	return []Cluster{
		c("far-b", "198.51.100.2", "eu-west1", "", 1),
		c("far-a", "198.51.100.1", "eu-west1", "", 0),
		c("here-1", "203.0.113.1", "us-east1", "us-east1-b", 0),
		c("region", "203.0.113.3", "us-east1", "us-east1-c", 0),
		c("here-2", "203.0.113.2", "us-east1", "us-east1-b", 0),
	}
}

func answerA(t *testing.T, r *Resolver, qname string) []string {
	t.Helper()
	res := r.Lookup(qname, dns.TypeA, dns.ClassINET)
	m := new(dns.Msg)
	r.Answer(m, dns.Question{Name: qname, Qtype: dns.TypeA, Qclass: dns.ClassINET}, res, netip.Addr{})
	var out []string
	for _, rr := range m.Answer {
		out = append(out, rr.(*dns.A).A.String())
	}
	return out
}

func TestOrderAndRotation(t *testing.T) {
	r := newTestResolver(t, Config{}, tierClusters())
	firsts := map[string]int{}
	for range 10 {
		got := answerA(t, r, "web.shop.global.")
		if len(got) != 5 {
			t.Fatalf("got %v, want 5 addresses", got)
		}
		firsts[got[0]]++
		// The rest of the order never changes: zone tier, region, then far away by priority.
		if got[2] != "203.0.113.3" || got[3] != "198.51.100.1" || got[4] != "198.51.100.2" {
			t.Fatalf("tier order broken: %v", got)
		}
	}
	if firsts["203.0.113.1"] != 5 || firsts["203.0.113.2"] != 5 {
		t.Errorf("the two local clusters should alternate in first place: %v", firsts)
	}
}

func TestNoLocalityOrdersByPriority(t *testing.T) {
	r := New(Config{})
	if _, err := r.Publish(Map{Clusters: tierClusters()}); err != nil {
		t.Fatal(err)
	}
	got := answerA(t, r, "web.shop.global.")
	if got[4] != "198.51.100.2" {
		t.Errorf("priority 1 should be last without a locality: %v", got)
	}
}

func TestMaxAnswers(t *testing.T) {
	r := newTestResolver(t, Config{MaxAnswers: 2}, tierClusters())
	seen := map[string]bool{}
	for range 4 {
		got := answerA(t, r, "web.shop.global.")
		if len(got) != 2 {
			t.Fatalf("got %v, want 2 records", got)
		}
		seen[got[0]], seen[got[1]] = true, true
	}
	if len(seen) != 2 || !seen["203.0.113.1"] || !seen["203.0.113.2"] {
		t.Errorf("a cap must keep the best tier: saw %v", seen)
	}
}

func TestZones(t *testing.T) {
	r := newTestResolver(t, Config{Zones: []string{"global", "Mesh.Example.", "example."}}, tierClusters())
	for _, name := range []string{"web.shop.global.", "web.shop.mesh.example.", "WEB.shop.Mesh.Example."} {
		if k := r.Lookup(name, dns.TypeA, dns.ClassINET).Kind(); k != Success {
			t.Errorf("%s: %v", name, k)
		}
	}
	// The longest zone wins: web.shop.mesh.example. is not "web.shop.mesh" in example.
	if z := r.Lookup("web.shop.mesh.example.", dns.TypeA, dns.ClassINET).Zone(); z != "mesh.example." {
		t.Errorf("zone %q", z)
	}
	if k := r.Lookup("web.shop.example.", dns.TypeA, dns.ClassINET).Kind(); k != Success {
		t.Errorf("example. zone: %v", k)
	}
}

func TestRootZone(t *testing.T) {
	r := newTestResolver(t, Config{Zones: []string{"."}}, tierClusters())
	if k := r.Lookup("web.shop.", dns.TypeA, dns.ClassINET).Kind(); k != Success {
		t.Errorf("web.shop. in the root zone: %v", k)
	}
	if k := r.Lookup(".", dns.TypeSOA, dns.ClassINET).Kind(); k != Success {
		t.Errorf("apex of the root zone: %v", k)
	}
}

func TestNotReady(t *testing.T) {
	r := New(Config{})
	if k := r.Lookup("web.shop.global.", dns.TypeA, dns.ClassINET).Kind(); k != NotReady {
		t.Errorf("before the first map: %v, want notready", k)
	}
	if k := r.Lookup("example.com.", dns.TypeA, dns.ClassINET).Kind(); k != NotAuth {
		t.Errorf("outside the zone before the first map: %v, want notauth", k)
	}
}

func TestSerialFollowsGeneration(t *testing.T) {
	r := newTestResolver(t, Config{}, tierClusters())
	if _, err := r.Publish(Map{Clusters: tierClusters()}); err != nil {
		t.Fatal(err)
	}
	res := r.Lookup("global.", dns.TypeSOA, dns.ClassINET)
	m := new(dns.Msg)
	r.Answer(m, dns.Question{Name: "global.", Qtype: dns.TypeSOA, Qclass: dns.ClassINET}, res, netip.Addr{})
	if s := m.Answer[0].(*dns.SOA).Serial; s != 2 {
		t.Errorf("serial %d, want 2", s)
	}
}

func TestBuildReportsBadInput(t *testing.T) {
	in := tierClusters()
	in = append(in,
		Cluster{Name: "here-1", Gateway: Gateway{Addresses: addrs("203.0.113.9")}},
		Cluster{Name: "Bad_Name", Gateway: Gateway{Addresses: addrs("203.0.113.9")}},
		Cluster{Name: "ok", Gateway: Gateway{Addresses: addrs("203.0.113.9")}, Services: []Service{
			{Name: "ns", Namespace: "dns"}, {Name: "x_y", Namespace: "shop"}, {Name: "fine", Namespace: "shop"},
		}},
	)
	s, err := Build(Config{}, 1, Map{Clusters: in}, epoch)
	for _, want := range []error{ErrDuplicateCluster, ErrInvalidName, ErrShadowed} {
		if !errors.Is(err, want) {
			t.Errorf("error %v does not report %v", err, want)
		}
	}
	if s.Services() != 2 || s.Clusters() != 6 {
		t.Errorf("snapshot has %d services, %d clusters; want 2, 6", s.Services(), s.Clusters())
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	r := newTestResolver(t, Config{}, testClusters())
	for _, name := range []string{
		"productcatalog.default.global.", "ProductCatalog.Default.Global.", "nope.default.global.",
		"west.productcatalog.default.global.", "_grpc._tcp.productcatalog.default.global.",
		"web.default.svc.cluster.local.global.", "example.com.",
	} {
		if n := testing.AllocsPerRun(100, func() { r.Lookup(name, dns.TypeA, dns.ClassINET) }); n != 0 {
			t.Errorf("Lookup(%s) allocates %v times", name, n)
		}
	}
}

func TestRemoteNamespaces(t *testing.T) {
	r := New(Config{RemoteDomain: "cluster.local", Locality: Locality{Region: "us-east1", Zone: "us-east1-b"}})
	r.now = func() time.Time { return epoch }
	// "default" exists locally too; "bank" only in the peer west.
	if _, err := r.Publish(Map{Clusters: testClusters(), LocalNamespaces: []string{"default", "kube-system"}}); err != nil {
		t.Fatal(err)
	}
	const remoteSOA = "svc.cluster.local. 5 IN SOA ns.dns.svc.cluster.local. hostmaster.svc.cluster.local. 1 7200 1800 86400 5"
	cases := []tcase{
		{name: "remote-only namespace answered", qname: "ledger.bank.svc.cluster.local.", qtype: dns.TypeA, kind: Success,
			answer: []string{"ledger.bank.svc.cluster.local. 5 IN A 198.51.100.20"}},
		{name: "cluster-targeted in a remote namespace", qname: "west.ledger.bank.svc.cluster.local.", qtype: dns.TypeA,
			kind: Success, answer: []string{"west.ledger.bank.svc.cluster.local. 5 IN A 198.51.100.20"}},
		{name: "unknown service in a remote namespace", qname: "nope.bank.svc.cluster.local.", qtype: dns.TypeA,
			kind: NameError, ns: []string{remoteSOA}},
		{name: "remote namespace is an empty non-terminal", qname: "bank.svc.cluster.local.", qtype: dns.TypeA,
			kind: NoData, ns: []string{remoteSOA}},
		{name: "a namespace that exists nowhere", qname: "web.nowhere.svc.cluster.local.", qtype: dns.TypeA,
			kind: NameError, ns: []string{remoteSOA}},
		{name: "local namespace left to the local DNS, even when peers serve it",
			qname: "productcatalog.default.svc.cluster.local.", qtype: dns.TypeA, kind: NotAuth},
		{name: "local namespace, case folded", qname: "X.Kube-System.svc.cluster.local.", qtype: dns.TypeA, kind: NotAuth},
		{name: "apex of svc.<domain> is the local DNS's", qname: "svc.cluster.local.", qtype: dns.TypeSOA, kind: NotAuth},
		{name: "outside svc.<domain>", qname: "pod.cluster.local.", qtype: dns.TypeA, kind: NotAuth},
		{name: "no name server name under the cluster domain", qname: "ns.dns.svc.cluster.local.", qtype: dns.TypeA,
			kind: NameError, ns: []string{remoteSOA}},
		{name: "global still answers everything", qname: "productcatalog.default.global.", qtype: dns.TypeAAAA,
			kind: Success, answer: []string{"productcatalog.default.global. 5 IN AAAA 2001:db8::7"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, r) })
	}
}

// A map that differs only in when its clusters were last confirmed keeps its generation (and
// SOA serial), and TXT shows the new age.
func TestConfirmationKeepsGeneration(t *testing.T) {
	first := testClusters()
	r := newTestResolver(t, Config{}, first)
	again := slices.Clone(first) // the same services: sources hand over new slices only for news
	again[0].Updated = epoch     // east confirmed just now
	s, err := r.Publish(Map{Clusters: again})
	if err != nil {
		t.Fatal(err)
	}
	if s.Generation() != 1 {
		t.Errorf("generation %d after a confirmation only, want 1", s.Generation())
	}
	res := r.Lookup("east.productcatalog.default.global.", dns.TypeTXT, dns.ClassINET)
	m := new(dns.Msg)
	r.Answer(m, dns.Question{Name: "east.productcatalog.default.global.", Qtype: dns.TypeTXT, Qclass: dns.ClassINET}, res, netip.Addr{})
	if txt := m.Answer[0].(*dns.TXT).Txt[0]; !strings.Contains(txt, " age=0s ") {
		t.Errorf("TXT %q does not show the new confirmation", txt)
	}
	again[1].Priority = 7
	if s, _ := r.Publish(Map{Clusters: again}); s.Generation() != 2 {
		t.Errorf("generation %d after a change, want 2", s.Generation())
	}
}
