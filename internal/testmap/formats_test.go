package testmap_test

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/peerdns/peerdns/internal/testmap"
	peersync "github.com/peerdns/peerdns/sync"
)

// The static file must load with the server's own parser and give back the same map.
func TestWriteStaticLoads(t *testing.T) {
	clusters := testmap.Clusters(5, 1000, 2)
	path := filepath.Join(t.TempDir(), "peers.yaml")
	var buf bytes.Buffer
	if err := testmap.WriteStatic(&buf, clusters); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := peersync.LoadStatic(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(clusters) {
		t.Fatalf("loaded %d clusters, want %d", len(got), len(clusters))
	}
	for i, c := range got {
		want := clusters[i]
		if c.Name != want.Name || len(c.Services) != len(want.Services) || c.Gateway.Port != want.Gateway.Port ||
			len(c.Gateway.Addresses) != 1 || c.Gateway.Addresses[0] != want.Gateway.Addresses[0] {
			t.Errorf("cluster %d: got %s with %d services, want %s with %d", i, c.Name, len(c.Services), want.Name, len(want.Services))
		}
		if s := c.Services[0]; s.Name != want.Services[0].Name || len(s.Ports) != 1 || s.Ports[0].Port != 8080 {
			t.Errorf("cluster %d: first service %+v, want %+v", i, s, want.Services[0])
		}
	}
}

// The zone file must parse, and hold one address per service and cluster, the cluster-qualified
// names, and one SRV record per service and cluster.
func TestWriteZoneParses(t *testing.T) {
	clusters := testmap.Clusters(5, 100, 2)
	var buf bytes.Buffer
	if err := testmap.WriteZone(&buf, clusters, "global.", 5); err != nil {
		t.Fatal(err)
	}
	zp := dns.NewZoneParser(&buf, "global.", "global.zone")
	count := map[uint16]int{}
	owners := map[string]bool{}
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		count[rr.Header().Rrtype]++
		owners[rr.Header().Name] = true
		if rr.Header().Ttl != 5 {
			t.Errorf("%s: TTL %d, want 5", rr, rr.Header().Ttl)
		}
	}
	if err := zp.Err(); err != nil {
		t.Fatal(err)
	}
	members := 120 // 100 services, 20 of them in a second cluster
	if count[dns.TypeSOA] != 1 || count[dns.TypeSRV] != members || count[dns.TypeA] != 2*members+1 {
		t.Errorf("records by type: %v, want 1 SOA, %d SRV, %d A", count, members, 2*members+1)
	}
	for _, name := range []string{testmap.Name(42), "_grpc._tcp." + testmap.Name(42), "cluster-2." + testmap.Name(42)} {
		if !owners[name] {
			t.Errorf("no records for %s", name)
		}
	}
}

// The hosts file gives each service name every address of the clusters that serve it.
func TestWriteHosts(t *testing.T) {
	clusters := testmap.Clusters(5, 100, 2)
	var buf bytes.Buffer
	if err := testmap.WriteHosts(&buf, clusters, "global."); err != nil {
		t.Fatal(err)
	}
	addrs := map[string][]string{}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 {
			t.Fatalf("line %q: want an address and two names", sc.Text())
		}
		addrs[f[1]] = append(addrs[f[1]], f[0])
	}
	if len(addrs) != 100 {
		t.Errorf("%d service names, want 100", len(addrs))
	}
	if got := addrs[testmap.Name(1)]; len(got) != 2 {
		t.Errorf("%s has %v, want the addresses of two clusters", testmap.Name(1), got)
	}
	if got := addrs[testmap.Name(5)]; len(got) != 1 {
		t.Errorf("%s has %v, want one address", testmap.Name(5), got)
	}
}
