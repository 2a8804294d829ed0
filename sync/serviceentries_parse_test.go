package sync

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"

	"github.com/peerdns/peerdns/resolver"
)

// entryObject parses a ServiceEntry written as YAML, as the dynamic client would hand it over.
func entryObject(t *testing.T, text string) *unstructured.Unstructured {
	t.Helper()
	obj := map[string]any{}
	if err := yaml.Unmarshal([]byte(text), &obj); err != nil {
		t.Fatalf("test object: %v\n%s", err, text)
	}
	return &unstructured.Unstructured{Object: obj}
}

var http1 = []resolver.Port{{Name: "http1", Port: 8000, Protocol: "TCP"}}

func TestReadServiceEntry(t *testing.T) {
	cases := []struct {
		name  string
		zones []string // default global.
		obj   string
		want  entrySpec // problems and notes are checked by count and by a word each
		notes []string  // a word of each note, in order
	}{{
		name: "the 2019 multicluster docs: addresses are the answer",
		obj: `spec:
  hosts: [httpbin.bar.global]
  location: MESH_INTERNAL
  ports: [{name: http1, number: 8000, protocol: http}]
  resolution: DNS
  addresses: [240.0.0.2]
  endpoints: [{address: 203.0.113.7, ports: {http1: 15443}}]`,
		want: entrySpec{
			services: []resolver.Service{{Name: "httpbin", Namespace: "bar", Ports: http1}},
			vips:     addrs("240.0.0.2"), ips: addrs("203.0.113.7"),
		},
	}, {
		name: "no addresses: the endpoints, on the port they map every port to, with their locality",
		obj: `spec:
  hosts: [httpbin.bar.global, HTTPBIN.bar.global.]
  ports: [{name: http1, number: 8000, protocol: HTTP}, {name: grpc, number: 9000, protocol: GRPC}]
  resolution: STATIC
  endpoints:
    - {address: 198.51.100.9, ports: {http1: 15443, grpc: 15443}, locality: us-west1/us-west1-a}
    - {address: "2001:db8::9", ports: {http1: 15443, grpc: 15443}, locality: us-west1/us-west1-a/rack1}`,
		want: entrySpec{
			services: []resolver.Service{{Name: "httpbin", Namespace: "bar", Ports: []resolver.Port{
				{Name: "http1", Port: 8000, Protocol: "TCP"}, {Name: "grpc", Port: 9000, Protocol: "TCP"}}}},
			ips: addrs("198.51.100.9", "2001:db8::9"), port: 15443,
			locality: resolver.Locality{Region: "us-west1", Zone: "us-west1-a"},
		},
	}, {
		name: "endpoints that map ports differently: each port its own, localities differ",
		obj: `spec:
  hosts: [web.shop.global]
  ports: [{name: http, number: 80}, {name: dns, number: 53, protocol: UDP}]
  endpoints:
    - {address: 198.51.100.9, ports: {http: 8080, dns: 5353}, locality: us-west1}
    - {address: 198.51.100.10, ports: {http: 8080}, locality: us-east1}`,
		want: entrySpec{
			services: []resolver.Service{{Name: "web", Namespace: "shop", Ports: []resolver.Port{
				{Name: "http", Port: 8080, Protocol: "TCP"}, {Name: "dns", Port: 53, Protocol: "UDP"}}}},
			ips: addrs("198.51.100.9", "198.51.100.10"),
		},
		notes: []string{"ports.dns"},
	}, {
		name: "endpoint hostnames with resolution DNS are looked up",
		obj: `spec:
  hosts: [httpbin.bar.global]
  resolution: DNS
  endpoints: [{address: LB-West.example.com.}, {address: lb-west.example.com}, {address: 198.51.100.9}]`,
		want: entrySpec{
			services:  []resolver.Service{{Name: "httpbin", Namespace: "bar"}},
			ips:       addrs("198.51.100.9"),
			hostnames: []string{"lb-west.example.com"},
		},
	}, {
		name: "hosts outside the zones, wildcards and other forms are left out",
		obj: `spec:
  hosts: [httpbin.bar.svc.cluster.local, foo.example.com, "*.bar.global", bar.global, a.httpbin.bar.global, httpbin.bar.global, global, -x.bar.global]
  addresses: [240.0.0.2]`,
		want: entrySpec{
			services: []resolver.Service{{Name: "httpbin", Namespace: "bar"}},
			vips:     addrs("240.0.0.2"),
		},
		notes: []string{"none of the zones", "none of the zones", "wildcard", "not <service>", "not <service>", "none of the zones", "not <service>"},
	}, {
		name: "a wildcard alone serves nothing",
		obj:  `spec: {hosts: ["*.global"], addresses: [240.0.0.3]}`,
		want: entrySpec{vips: addrs("240.0.0.3")}, notes: []string{"wildcard"},
	}, {
		name:  "the longest zone wins",
		zones: []string{"global.", "east.global."},
		obj:   `spec: {hosts: [web.shop.east.global, web.east.global], addresses: [240.0.0.4]}`,
		want: entrySpec{
			services: []resolver.Service{{Name: "web", Namespace: "shop"}},
			vips:     addrs("240.0.0.4"),
		},
		notes: []string{"not <service>.<namespace>.east.global"},
	}, {
		name: "CIDRs of one address count, wider ones and unanswerable addresses are skipped",
		obj:  `spec: {hosts: [web.shop.global], addresses: [240.0.0.5/32, "2001:db8::5/128", 240.0.1.0/24, 0.0.0.0, 240.0.0.5]}`,
		want: entrySpec{
			services: []resolver.Service{{Name: "web", Namespace: "shop"}},
			vips:     addrs("240.0.0.5", "2001:db8::5"),
		},
		notes: []string{"240.0.1.0/24 is a range", "0.0.0.0 cannot be answered"},
	}, {
		name:  "only a wide CIDR: the endpoints are the answer",
		obj:   `spec: {hosts: [web.shop.global], addresses: [240.0.1.0/24], endpoints: [{address: 198.51.100.9}]}`,
		want:  entrySpec{services: []resolver.Service{{Name: "web", Namespace: "shop"}}, ips: addrs("198.51.100.9")},
		notes: []string{"is a range"},
	}, {
		name: "ports for SRV: protocols, case, names that are no DNS label",
		obj: `spec:
  hosts: [web.shop.global]
  addresses: [240.0.0.6]
  ports:
    - {name: GRPC-Web, number: 8080, protocol: GRPC-Web}
    - {name: dns, number: 53, protocol: udp}
    - {name: mongo_db, number: 27017, protocol: MONGO}
    - {number: 443, protocol: TLS}`,
		want: entrySpec{
			services: []resolver.Service{{Name: "web", Namespace: "shop", Ports: []resolver.Port{
				{Name: "grpc-web", Port: 8080, Protocol: "TCP"}, {Name: "dns", Port: 53, Protocol: "UDP"},
				{Port: 27017, Protocol: "TCP"}, {Port: 443, Protocol: "TCP"}}}},
			vips: addrs("240.0.0.6"),
		},
		notes: []string{"mongo_db"},
	}, {
		name: "a priority from the annotation",
		obj: `metadata: {annotations: {peerdns.io/priority: " -2 "}}
spec: {hosts: [web.shop.global], addresses: [240.0.0.7]}`,
		want: entrySpec{services: []resolver.Service{{Name: "web", Namespace: "shop"}}, vips: addrs("240.0.0.7"), priority: -2},
	}, {
		name:  "endpoints without an address or on a Unix socket are skipped",
		obj:   `spec: {hosts: [web.shop.global], endpoints: [{network: west, ports: {http: 15443}}, {address: "unix:///var/run/a.sock"}]}`,
		want:  entrySpec{services: []resolver.Service{{Name: "web", Namespace: "shop"}}},
		notes: []string{"another network", "Unix socket"},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			zones := tc.zones
			if zones == nil {
				zones = []string{"global."}
			}
			got := readServiceEntry(entryObject(t, tc.obj), zones)
			if len(got.problems) > 0 {
				t.Fatalf("problems %q, want none", got.problems)
			}
			checkNotes(t, got.notes, tc.notes)
			got.notes = nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// checkNotes checks that each note has its word, in order.
func checkNotes(t *testing.T, got, words []string) {
	t.Helper()
	if len(got) != len(words) {
		t.Fatalf("notes %q, want %d with %q", got, len(words), words)
	}
	for i := range got {
		if !strings.Contains(got[i], words[i]) {
			t.Errorf("note %d is %q, want one with %q", i, got[i], words[i])
		}
	}
}

// A malformed field skips the whole entry, with a problem naming the field.
func TestReadServiceEntryMalformed(t *testing.T) {
	cases := []struct{ obj, field, msg string }{
		{`metadata: {name: x}`, "spec", "missing"},
		{"metadata: {annotations: {peerdns.io/priority: high}}\nspec: {hosts: [a.b.global]}", "metadata.annotations[peerdns.io/priority]", `"high" is not an integer`},
		{"metadata: {annotations: {peerdns.io/priority: \"9999999999\"}}\nspec: {hosts: [a.b.global]}", "metadata.annotations[peerdns.io/priority]", "not an integer"},
		{`spec: {hosts: httpbin.bar.global}`, "spec.hosts", "not a list"},
		{`spec: {hosts: []}`, "spec.hosts", "empty"},
		{`spec: {hosts: [1]}`, "spec.hosts[0]", "not a string"},
		{`spec: {hosts: [a.b.global], addresses: [240.0.0.2, nope]}`, "spec.addresses[1]", `"nope" is not an IP address or CIDR`},
		{`spec: {hosts: [a.b.global], resolution: SOMETIMES}`, "spec.resolution", "SOMETIMES"},
		{`spec: {hosts: [a.b.global], resolution: [DNS]}`, "spec.resolution", "not a string"},
		{`spec: {hosts: [a.b.global], ports: [{name: http, number: 70000}]}`, "spec.ports[0].number", "70000 is not a port number"},
		{`spec: {hosts: [a.b.global], ports: [{name: http, number: 80.5}]}`, "spec.ports[0].number", "not a port number"},
		{`spec: {hosts: [a.b.global], ports: [{name: http}]}`, "spec.ports[0].number", "not a port number"},
		{`spec: {hosts: [a.b.global], ports: [http]}`, "spec.ports[0]", "not an object"},
		{`spec: {hosts: [a.b.global], endpoints: {address: 1.2.3.4}}`, "spec.endpoints", "not a list"},
		{`spec: {hosts: [a.b.global], endpoints: [{address: 7}]}`, "spec.endpoints[0].address", "not a string"},
		{`spec: {hosts: [a.b.global], endpoints: [{address: lb.example.com}]}`, "spec.endpoints[0].address", "needs resolution DNS"},
		{`spec: {hosts: [a.b.global], resolution: STATIC, endpoints: [{address: lb.example.com}]}`, "spec.endpoints[0].address", "needs resolution DNS"},
		{`spec: {hosts: [a.b.global], resolution: DNS, endpoints: [{address: "lb_1.example.com"}]}`, "spec.endpoints[0].address", "neither an IP address"},
		{`spec: {hosts: [a.b.global], endpoints: [{address: 1.2.3.4, ports: {http: high}}]}`, "spec.endpoints[0].ports.http", "not a port number"},
		{`spec: {hosts: [a.b.global], endpoints: [{address: 1.2.3.4, ports: [15443]}]}`, "spec.endpoints[0].ports", "not an object"},
	}
	for _, tc := range cases {
		got := readServiceEntry(entryObject(t, tc.obj), []string{"global."})
		if len(got.problems) != 1 || !strings.HasPrefix(got.problems[0], tc.field+": ") || !strings.Contains(got.problems[0], tc.msg) {
			t.Errorf("%s: problems %q, want one about %s saying %q", tc.obj, got.problems, tc.field, tc.msg)
		}
		if len(got.services) != 0 {
			t.Errorf("%s: services %v from a malformed entry", tc.obj, got.services)
		}
	}
}

func TestEntryLabels(t *testing.T) {
	long := strings.Repeat("n", 63)
	keys := []string{"bar/httpbin-bar", "bar/httpbin.bar", "foo/web", long + "/" + long, "x-y/z", "x/y-z"}
	got := entryLabels(keys)
	for i, l := range got {
		if !isLabel(l) {
			t.Errorf("%s: label %q is not a DNS label", keys[i], l)
		}
	}
	if got[2] != "foo-web" {
		t.Errorf("foo/web: label %q, want foo-web", got[2])
	}
	for _, i := range []int{0, 1, 3, 4, 5} { // shared or too long: hashed
		if len(got[i]) > 63 || got[i][len(got[i])-entryLabelHash-1] != '-' {
			t.Errorf("%s: label %q, want a hash suffix", keys[i], got[i])
		}
	}
	if !strings.HasPrefix(got[0], "bar-httpbin-bar-") {
		t.Errorf("bar/httpbin-bar: label %q, want it to start with its name", got[0])
	}
	if n := len(slices.Compact(slices.Sorted(slices.Values(got)))); n != len(keys) {
		t.Errorf("labels %q: %d distinct, want %d", got, n, len(keys))
	}
	if again := entryLabels(keys); !slices.Equal(again, got) {
		t.Errorf("labels change from call to call: %q, then %q", got, again)
	}
}

// FuzzReadServiceEntry: whatever an object holds, reading it does not panic, and what it
// produces can be served: services named by DNS labels, answerable addresses, ports that exist.
func FuzzReadServiceEntry(f *testing.F) {
	f.Add(`{spec: {hosts: [httpbin.bar.global], addresses: [240.0.0.2], ports: [{name: http1, number: 8000}], endpoints: [{address: 203.0.113.7, ports: {http1: 15443}}]}}`)
	f.Add(`{spec: {hosts: [a.b.global, "*.global"], resolution: DNS, endpoints: [{address: lb.example.com, locality: a/b/c}]}}`)
	f.Add(`{spec: {hosts: [a.b.global], addresses: [240.0.1.0/24, "::/0", "2001:db8::1/128"], ports: [{number: 1e9}]}}`)
	f.Fuzz(func(t *testing.T, text string) {
		obj := map[string]any{}
		if yaml.Unmarshal([]byte(text), &obj) != nil {
			return
		}
		got := readServiceEntry(&unstructured.Unstructured{Object: obj}, []string{"global.", "mesh.example.com."})
		if len(got.problems) > 0 && len(got.services) > 0 {
			t.Errorf("a malformed entry serves names: %+v", got)
		}
		for _, s := range got.services {
			if !isLabel(s.Name) || !isLabel(s.Namespace) {
				t.Errorf("service %s/%s is no pair of DNS labels", s.Namespace, s.Name)
			}
			for _, p := range s.Ports {
				if p.Port == 0 || (p.Name != "" && !isLabel(p.Name)) {
					t.Errorf("port %+v cannot be served", p)
				}
			}
		}
		if len(usable(got.vips)) != len(got.vips) || len(usable(got.ips)) != len(got.ips) {
			t.Errorf("unanswerable addresses kept: %v %v", got.vips, got.ips)
		}
	})
}
