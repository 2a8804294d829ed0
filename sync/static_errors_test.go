package sync

import (
	"strings"
	"testing"
)

// head is a valid start of a static file: one cluster, whose keys a case may continue.
const head = "clusters:\n- name: east\n  gateway: {addresses: [203.0.113.7]}\n"

func TestLoadStaticErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string // "F" stands for the file's path
	}{
		{"empty file", "", []string{"F:1: empty file: want a clusters key"}},
		{"only comments", "# nothing yet\n", []string{"F:1: empty file: want a clusters key"}},
		{"no clusters key", "peers: []\n", []string{
			`F:1: unknown key "peers" in the top level`,
			"F:1: missing clusters key (write clusters: [] for none)"}},
		{"clusters null", "clusters:\n", []string{"F:1: clusters: want a list, got nothing"}},
		{"top level a list", "- name: east\n", []string{
			"F:1: want a mapping with a clusters key at the top level, got a list"}},
		{"syntax error", "clusters: [\n", []string{"F:1: did not find expected node content"}},
		{"two documents", "clusters: []\n---\nclusters: []\n", []string{"F:2: a second YAML document: want one"}},
		{"unknown key", "clusters:\n- name: east\n  gateway:\n    adresses: [203.0.113.7]\n", []string{
			`F:4: unknown key "adresses" in gateway`,
			"F:4: gateway: want addresses or hostname"}},
		{"duplicate key", head + "  name: west\n", []string{`F:4: duplicate key "name" in cluster`}},
		{"merge key", "clusters:\n- <<: {name: east}\n  gateway: {addresses: [203.0.113.7]}\n", []string{
			"F:2: merge keys (<<) are not supported in cluster",
			"F:2: cluster: missing name"}},
		{"cluster not a mapping", "clusters: [east]\n", []string{`F:1: cluster: want a mapping, got "east"`}},
		{"missing name and gateway", "clusters:\n- priority: 1\n", []string{
			"F:2: cluster: missing name", "F:2: cluster: missing gateway"}},
		{"cluster name upper case", "clusters:\n- name: East\n  gateway: {addresses: [203.0.113.7]}\n", []string{
			`F:2: invalid cluster name "East": want ` + labelRule}},
		{"cluster name too long", "clusters:\n- name: " + strings.Repeat("a", 64) + "\n  gateway: {addresses: [203.0.113.7]}\n",
			[]string{`F:2: invalid cluster name "` + strings.Repeat("a", 64) + `": want ` + labelRule}},
		{"cluster name a list", "clusters:\n- name: [east]\n  gateway: {addresses: [203.0.113.7]}\n", []string{
			"F:2: cluster name: want a string, got a list"}},
		{"duplicate cluster", head + "- name: east\n  gateway: {addresses: [203.0.113.8]}\n", []string{
			`F:4: duplicate cluster "east" (first on line 2)`}},
		{"bad addresses", "clusters:\n- name: east\n  gateway:\n    addresses:\n" +
			"    - 300.1.2.3\n    - fe80::1%eth0\n    - 0.0.0.0\n    - 224.0.0.1\n    - fe80::1\n    - 203.0.113.7\n    - 203.0.113.7\n", []string{
			`F:5: gateway address "300.1.2.3" is not an IP address`,
			`F:6: gateway address "fe80::1%eth0" has a zone: want an address without %zone`,
			`F:7: gateway address "0.0.0.0" is not a unicast address that other hosts can reach`,
			`F:8: gateway address "224.0.0.1" is not a unicast address that other hosts can reach`,
			`F:9: gateway address "fe80::1" is not a unicast address that other hosts can reach`,
			"F:11: duplicate gateway address 203.0.113.7 (first on line 10)"}},
		{"addresses not a list", "clusters:\n- name: east\n  gateway: {addresses: 203.0.113.7}\n", []string{
			`F:3: gateway addresses: want a list, got "203.0.113.7"`}},
		{"addresses empty", "clusters:\n- name: east\n  gateway: {addresses: []}\n", []string{
			"F:3: gateway addresses: empty list: want at least one address"}},
		{"addresses and hostname", "clusters:\n- name: east\n  gateway: {addresses: [203.0.113.7], hostname: lb.example.com}\n", []string{
			"F:3: gateway: both addresses and hostname: give one"}},
		{"neither addresses nor hostname", "clusters:\n- name: east\n  gateway: {port: 15443}\n", []string{
			"F:3: gateway: want addresses or hostname"}},
		{"gateway null", "clusters:\n- name: east\n  gateway:\n", []string{
			"F:3: gateway: want a mapping, got nothing"}},
		{"bad hostname", "clusters:\n- name: east\n  gateway: {hostname: lb_east.example.com}\n", []string{
			`F:3: invalid gateway hostname "lb_east.example.com": want ` + hostnameRule}},
		{"hostname an address", "clusters:\n- name: east\n  gateway: {hostname: 203.0.113.7}\n", []string{
			`F:3: gateway hostname "203.0.113.7" is an IP address: put it under addresses`}},
		{"gateway port out of range", "clusters:\n- name: east\n  gateway: {addresses: [203.0.113.7], port: 0}\n", []string{
			"F:3: gateway port 0 out of range 1-65535"}},
		{"gateway port a string", "clusters:\n- name: east\n  gateway: {addresses: [203.0.113.7], port: '15443'}\n", []string{
			`F:3: gateway port: want an integer, got "15443"`}},
		{"priority not a number", head + "  priority: high\n", []string{`F:4: priority: want an integer, got "high"`}},
		{"locality", head + "  locality: {zone: us-east1-b, rack: r1}\n", []string{
			`F:4: unknown key "rack" in locality`,
			`F:4: locality: zone "us-east1-b" without a region`}},
		{"services not a list", head + "  services: {name: web}\n", []string{
			"F:4: services: want a list, got a mapping"}},
		{"bad service names", head + "  services:\n  - {name: 9web, namespace: Default}\n  - {name: web}\n", []string{
			`F:5: invalid service name "9web": want ` + dns1035Rule,
			`F:5: invalid namespace "Default": want ` + labelRule,
			"F:6: service: missing namespace"}},
		{"duplicate service", head + "  services:\n  - {name: web, namespace: shop}\n  - {name: web, namespace: shop}\n" +
			"  - {name: web, namespace: default}\n", []string{
			"F:6: duplicate service shop/web (first on line 5)"}},
		{"bad ports", head + "  services:\n  - name: web\n    namespace: shop\n    ports:\n" +
			"    - {name: http, port: 0}\n" +
			"    - {name: grpc_web, port: 70000}\n" +
			"    - {name: '1234', port: abc}\n" +
			"    - {name: a-very-long-port-name, port: 81, protocol: HTTP}\n" +
			"    - {name: -a, port: 82}\n" +
			"    - {name: a--b, port: 83}\n" +
			"    - {name: dns}\n", []string{
			"F:8: port 0 out of range 1-65535",
			`F:9: invalid port name "grpc_web": want ` + portNameRule,
			"F:9: port 70000 out of range 1-65535",
			`F:10: invalid port name "1234": want ` + portNameRule,
			`F:10: port: want an integer, got "abc"`,
			`F:11: invalid port name "a-very-long-port-name": want ` + portNameRule,
			`F:11: invalid protocol "HTTP": want TCP, UDP or SCTP`,
			`F:12: invalid port name "-a": want ` + portNameRule,
			`F:13: invalid port name "a--b": want ` + portNameRule,
			"F:14: port: missing port"}},
		{"duplicate ports", head + "  services:\n  - name: web\n    namespace: shop\n    ports:\n" +
			"    - {name: http, port: 80}\n" +
			"    - {name: http, port: 8080}\n" +
			"    - {name: web, port: 80, protocol: tcp}\n" +
			"    - {name: dns, port: 53, protocol: udp}\n" +
			"    - {name: dns-tcp, port: 53}\n" +
			"    - {port: 443}\n" +
			"    - {port: 443, protocol: UDP}\n", []string{
			`F:9: duplicate port name "http" (first on line 8)`,
			"F:10: duplicate port 80/TCP (first on line 8)"}},
		{"every error at once", "clusters:\n- name: East\n  gateway: {addresses: [300.1.2.3]}\n- name: west\n  gateway: {}\n  colour: blue\n", []string{
			`F:2: invalid cluster name "East": want ` + labelRule,
			`F:3: gateway address "300.1.2.3" is not an IP address`,
			"F:5: gateway: want addresses or hostname",
			`F:6: unknown key "colour" in cluster`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "peers.yaml", tt.in)
			clusters, err := LoadStatic(path)
			if err == nil {
				t.Fatalf("LoadStatic = %+v, want an error", clusters)
			}
			want := strings.ReplaceAll(strings.Join(tt.want, "\n"), "F:", path+":")
			if err.Error() != want {
				t.Errorf("LoadStatic error:\n%s\nwant:\n%s", err, want)
			}
			if clusters != nil {
				t.Errorf("LoadStatic returned clusters with an error: %+v", clusters)
			}
		})
	}
}

func TestLoadStaticMissing(t *testing.T) {
	path := t.TempDir() + "/nope.yaml"
	_, err := LoadStatic(path)
	if want := "read static file: open " + path + ": no such file or directory"; err == nil || err.Error() != want {
		t.Errorf("LoadStatic(missing) = %v, want %s", err, want)
	}
}

func TestLoadStaticManyErrors(t *testing.T) {
	in := "clusters:\n" + strings.Repeat("- name: X\n  gateway: {addresses: [203.0.113.7]}\n", 30)
	path := writeFile(t, t.TempDir(), "peers.yaml", in)
	_, err := LoadStatic(path)
	if err == nil {
		t.Fatal("LoadStatic: no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != maxErrors+1 || lines[maxErrors] != path+": 10 more errors" {
		t.Errorf("LoadStatic gave %d lines, the last %q; want %d, the last %q",
			len(lines), lines[len(lines)-1], maxErrors+1, path+": 10 more errors")
	}
}
