package e2e

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// TestContract walks the rows of SPEC sections 1 and 2 against one server serving contractPeers.
func TestContract(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "peers.yaml", contractPeers)
	s := startServer(t, staticCorefile(), serverOptions{dir: dir})

	ok := []check{status("NOERROR"), authoritative}
	nodata := []check{status("NOERROR"), authoritative, noAnswer, zoneSOA, negativeTTL(5)}
	nxdomain := []check{status("NXDOMAIN"), authoritative, noAnswer, zoneSOA, negativeTTL(5)}
	refused := []check{status("REFUSED"), noAnswer, hasFlag("ra", false)}
	both := []string{"203.0.113.7", "198.51.100.9"}

	tests := []struct {
		name   string
		query  string // dig arguments
		checks []check
	}{
		// Section 1: names.
		{"service A", "productcatalogservice.default.global A", with(ok, answerAddrs(both...), ttl(5))},
		{"service AAAA", "productcatalogservice.default.global AAAA", with(ok, answerAddrs("2001:db8::7"), ttl(5))},
		{"service of one cluster", "frontend.default.global A", with(ok, answerAddrs("203.0.113.7"))},
		{"cluster-targeted A", "east.productcatalogservice.default.global A", with(ok, answerAddrs("203.0.113.7"))},
		{"cluster-targeted AAAA", "east.productcatalogservice.default.global AAAA", with(ok, answerAddrs("2001:db8::7"))},
		{"cluster-targeted other cluster", "west.productcatalogservice.default.global A", with(ok, answerAddrs("198.51.100.9"))},
		{"SRV, fixed gateway port and service port", "_grpc._tcp.productcatalogservice.default.global SRV", with(ok, srv(map[string]uint16{
			"east.productcatalogservice.default.global.": 15443,
			"west.productcatalogservice.default.global.": 3550,
		}))},
		{"SRV, service port", "_grpc._tcp.cartservice.default.global SRV", with(ok, srv(map[string]uint16{
			"west.cartservice.default.global.": 7070,
		}))},
		{"SRV, port the service lacks", "_http._tcp.productcatalogservice.default.global SRV", nxdomain},
		{"empty non-terminal namespace", "default.global A", nodata},
		{"empty non-terminal namespace TXT", "default.global TXT", nodata},
		{"apex SOA", "global SOA", with(ok, answerTypes("SOA"), owner("global."), apexSOA(5))},
		{"apex NS", "global NS", with(ok, answerTypes("NS"), owner("global."))},
		{"apex A", "global A", nodata},

		// Section 2: answers.
		{"NODATA: no address of the family", "cartservice.default.global AAAA", nodata},
		{"NODATA: cluster without the family", "west.productcatalogservice.default.global AAAA", nodata},
		{"NODATA: SRV name asked for A", "_grpc._tcp.productcatalogservice.default.global A", nodata},
		{"TXT per serving cluster", "productcatalogservice.default.global TXT", with(ok, txt(map[string]string{
			"east": "203.0.113.7", "west": "198.51.100.9",
		}))},
		{"TXT cluster-targeted", "west.productcatalogservice.default.global TXT", with(ok, txt(map[string]string{
			"west": "198.51.100.9",
		}))},
		{"NXDOMAIN: unknown service", "nosuch.default.global A", nxdomain},
		{"NXDOMAIN: unknown namespace", "productcatalogservice.nosuch.global A", nxdomain},
		{"NXDOMAIN: cluster that does not serve it", "east.cartservice.default.global A", nxdomain},
		{"NXDOMAIN: unknown cluster", "north.productcatalogservice.default.global A", nxdomain},
		{"NXDOMAIN: search-path junk", "web.default.svc.cluster.local.global A", nxdomain},
		{"NXDOMAIN: search-path junk of a served name",
			"productcatalogservice.default.svc.cluster.local.global AAAA", nxdomain},
		{"NXDOMAIN: below a cluster-targeted name", "x.east.productcatalogservice.default.global A", nxdomain},
		{"case kept", "ProductCatalogService.Default.GLOBAL A",
			with(ok, answerAddrs(both...), owner("ProductCatalogService.Default.GLOBAL."))},
		{"case kept, cluster-targeted", "EAST.productcatalogservice.DEFAULT.global AAAA",
			with(ok, answerAddrs("2001:db8::7"), owner("EAST.productcatalogservice.DEFAULT.global."))},
		{"case kept, NXDOMAIN", "NoSuch.Default.GLOBAL A", nxdomain},
		{"ANY is minimal (RFC 8482)", "productcatalogservice.default.global ANY", with(ok, minimalANY)},
		{"AXFR refused", "+comments global AXFR", []check{status("REFUSED"), noAnswer}},
		{"IXFR refused", "+comments global IXFR=1", []check{status("REFUSED"), noAnswer}},
		{"CHAOS class in the zone refused", "productcatalogservice.default.global CH TXT", refused},
		{"outside the zone: refused, no recursion", "example.com A", refused},
		{"outside the zone over TCP", "+tcp example.com A", refused},
		{"root NS (forward's health check)", ". NS", refused},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, s.dig(t, strings.Fields(tc.query)...), tc.checks...)
		})
	}
}

// TestOptions checks that ttl, negative_ttl and max_answers change the answers.
func TestOptions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "peers.yaml", contractPeers)
	s := startServer(t, staticCorefile("ttl 30", "negative_ttl 17", "max_answers 1"), serverOptions{dir: dir})

	// Without a locality of its own the server orders by priority: east (0) before west (1).
	expect(t, s.dig(t, "productcatalogservice.default.global", "A"),
		status("NOERROR"), answerAddrs("203.0.113.7"), ttl(30))
	expect(t, s.dig(t, "nosuch.default.global", "A"), status("NXDOMAIN"), negativeTTL(17))
	expect(t, s.dig(t, "cartservice.default.global", "AAAA"), status("NOERROR"), noAnswer, negativeTTL(17))
	expect(t, s.dig(t, "global", "SOA"), status("NOERROR"), apexSOA(17))
}

// srv: the answer holds one SRV record per target, with these ports, and the additional
// section holds each target's addresses.
func srv(want map[string]uint16) check {
	return func(t *testing.T, r *reply) {
		t.Helper()
		got := map[string]uint16{}
		for _, rr := range r.answer {
			if s, ok := rr.(*dns.SRV); ok {
				got[strings.ToLower(s.Target)] = s.Port
			}
		}
		if len(got) != len(r.answer) || len(got) != len(want) {
			t.Errorf("answer %v, want one SRV per target: %v", r.answer, want)
		}
		for target, port := range want {
			if p, ok := got[target]; !ok || p != port {
				t.Errorf("SRV target %s port %d (present %v), want port %d", target, p, ok, port)
			}
			if len(addrsOf(r.additional, target)) == 0 {
				t.Errorf("no address of SRV target %s in the additional section", target)
			}
		}
	}
}

// txt: one TXT string per serving cluster, each naming the cluster, its gateway address, that it
// is live and that it comes from the static file.
func txt(want map[string]string) check {
	return func(t *testing.T, r *reply) {
		t.Helper()
		strs := txts(r.answer)
		if len(strs) != len(want) {
			t.Errorf("%d TXT strings, want one per serving cluster (%d)", len(strs), len(want))
		}
		for _, s := range strs {
			kv := fields(s)
			gw, ok := want[kv["cluster"]]
			if !ok {
				t.Errorf("TXT %q: no cluster= of %v", s, want)
				continue
			}
			if !strings.Contains(kv["gateway"], gw) || kv["state"] != "live" || kv["source"] != "static" {
				t.Errorf("TXT %q: want gateway=…%s… state=live source=static", s, gw)
			}
		}
	}
}

// fields splits "k1=v1 k2=v2" into a map.
func fields(s string) map[string]string {
	m := map[string]string{}
	for f := range strings.FieldsSeq(s) {
		k, v, _ := strings.Cut(f, "=")
		m[k] = v
	}
	return m
}

// apexSOA: the answer's SOA has the negative TTL as its minimum.
func apexSOA(minimum uint32) check {
	return func(t *testing.T, r *reply) {
		t.Helper()
		s := soa(r.answer)
		if s == nil {
			t.Errorf("no SOA in the answer")
			return
		}
		if s.Minttl != minimum {
			t.Errorf("SOA minimum %d, want the negative TTL %d", s.Minttl, minimum)
		}
	}
}

// minimalANY: an ANY query gets one RRset (or RFC 8482's HINFO), never every RRset of the name.
func minimalANY(t *testing.T, r *reply) {
	t.Helper()
	if got := types(r.answer); len(got) != 1 {
		t.Errorf("ANY answered with types %v, want a single RRset", got)
	}
}
