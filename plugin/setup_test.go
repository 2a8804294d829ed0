package plugin

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"

	"github.com/peerdns/peerdns/resolver"
)

const peersYAML = `clusters:
  - name: east
    gateway:
      addresses: [203.0.113.7, 2001:db8::7]
      port: 15443
    services:
      - name: productcatalog
        namespace: default
`

// writeFile writes content to name in a fresh temporary folder and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestParse(t *testing.T) {
	defaults := config{zones: []string{"global."}, static: []string{"peers.yaml"}, ttl: 5, negativeTTL: 5}
	cases := []struct {
		input string
		want  func(*config)
	}{
		{"peerdns {\n static peers.yaml\n}", func(*config) {}},
		{"peerdns global example.org {\n static peers.yaml\n}",
			func(c *config) { c.zones = []string{"global.", "example.org."} }},
		{"peerdns Global. {\n static peers.yaml\n}", func(*config) {}},
		{"peerdns {\n static peers.yaml\n static /etc/peerdns/vms.yaml\n}",
			func(c *config) { c.static = []string{"peers.yaml", "/etc/peerdns/vms.yaml"} }},
		{"peerdns {\n static peers.yaml\n ttl 30\n negative_ttl 1\n}",
			func(c *config) { c.ttl, c.negativeTTL = 30, 1 }},
		{"peerdns {\n static peers.yaml\n ttl 3600\n negative_ttl 3600\n}",
			func(c *config) { c.ttl, c.negativeTTL = 3600, 3600 }},
		{"peerdns {\n static peers.yaml\n max_answers 1\n}", func(c *config) { c.maxAnswers = 1 }},
		{"peerdns {\n static peers.yaml\n locality us-east1\n}",
			func(c *config) { c.locality = resolver.Locality{Region: "us-east1"} }},
		{"peerdns {\n static peers.yaml\n locality us-east1 us-east1-b\n}",
			func(c *config) { c.locality = resolver.Locality{Region: "us-east1", Zone: "us-east1-b"} }},
		{"peerdns {\n static peers.yaml\n fallthrough\n}", func(c *config) { c.fall.Zones = []string{"."} }},
		{"peerdns {\n static peers.yaml\n fallthrough a.global B.global.\n}",
			func(c *config) { c.fall.Zones = []string{"a.global.", "b.global."} }},
	}
	for _, tc := range cases {
		c := caddy.NewTestController("dns", tc.input)
		got, err := parse(c)
		if err != nil {
			t.Errorf("%q: unexpected error %v", tc.input, err)
			continue
		}
		want := defaults
		want.static = slices.Clone(defaults.static)
		tc.want(&want)
		if !equalConfig(*got, want) {
			t.Errorf("%q:\n got %+v\nwant %+v", tc.input, *got, want)
		}
	}
}

func equalConfig(a, b config) bool {
	return slices.Equal(a.zones, b.zones) && slices.Equal(a.static, b.static) && a.ttl == b.ttl &&
		a.negativeTTL == b.negativeTTL && a.maxAnswers == b.maxAnswers && a.locality == b.locality &&
		a.fall.Equal(b.fall)
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ input, err string }{
		{"peerdns", "Testfile:1 - Error during parsing: no source configured: add static PATH, kubeconfig PATH, remote_secrets NAMESPACE or serviceentries"},
		{"peerdns {\n ttl 5\n}", "Testfile:3 - Error during parsing: no source configured: add static PATH, kubeconfig PATH, remote_secrets NAMESPACE or serviceentries"},
		{"peerdns {\n static\n}", "Testfile:2 - Error during parsing: Wrong argument count or unexpected line ending after 'static'"},
		{"peerdns {\n static a.yaml b.yaml\n}", "Testfile:2 - Error during parsing: Wrong argument count or unexpected line ending after 'b.yaml'"},
		{"peerdns {\n static a.yaml\n static a.yaml\n}", `Testfile:3 - Error during parsing: static "a.yaml" is given twice`},
		{"peerdns {\n static a.yaml\n ttl\n}", "Testfile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'ttl'"},
		{"peerdns {\n static a.yaml\n ttl 0\n}", `Testfile:3 - Error during parsing: ttl must be an integer in [1, 3600], not "0"`},
		{"peerdns {\n static a.yaml\n ttl 3601\n}", `Testfile:3 - Error during parsing: ttl must be an integer in [1, 3600], not "3601"`},
		{"peerdns {\n static a.yaml\n ttl 5s\n}", `Testfile:3 - Error during parsing: ttl must be an integer in [1, 3600], not "5s"`},
		{"peerdns {\n static a.yaml\n ttl 5 6\n}", "Testfile:3 - Error during parsing: Wrong argument count or unexpected line ending after '6'"},
		{"peerdns {\n static a.yaml\n negative_ttl -1\n}", `Testfile:3 - Error during parsing: negative_ttl must be an integer in [1, 3600], not "-1"`},
		{"peerdns {\n static a.yaml\n negative_ttl\n}", "Testfile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'negative_ttl'"},
		{"peerdns {\n static a.yaml\n max_answers 0\n}", `Testfile:3 - Error during parsing: max_answers must be an integer of at least 1, not "0"`},
		{"peerdns {\n static a.yaml\n max_answers many\n}", `Testfile:3 - Error during parsing: max_answers must be an integer of at least 1, not "many"`},
		{"peerdns {\n static a.yaml\n max_answers\n}", "Testfile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'max_answers'"},
		{"peerdns {\n static a.yaml\n locality\n}", "Testfile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'locality'"},
		{"peerdns {\n static a.yaml\n locality a b c\n}", "Testfile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'c'"},
		{"peerdns {\n static a.yaml\n bogus 1\n}", `Testfile:3 - Error during parsing: unknown property "bogus"`},
		{"peerdns . {\n static a.yaml\n}", `Testfile:1 - Error during parsing: zone "." is not allowed: peerdns never answers for the root`},
		{"peerdns {\n static a.yaml\n}\npeerdns {\n static b.yaml\n}", "this plugin can only be used once per Server Block"},
	}
	for _, opt := range unsupported {
		cases = append(cases, struct{ input, err string }{
			"peerdns {\n static a.yaml\n\n " + opt + " x\n}",
			`Testfile:4 - Error during parsing: option "` + opt + `" is not supported by this build yet`,
		})
	}
	for _, tc := range cases {
		_, err := parse(caddy.NewTestController("dns", tc.input))
		if err == nil || err.Error() != tc.err {
			t.Errorf("%q:\n got error %v\nwant %s", tc.input, err, tc.err)
		}
	}
}

func TestParseServerBlockZones(t *testing.T) {
	cases := []struct {
		keys []string
		args string
		want []string
	}{
		{nil, "", []string{"global."}},
		{[]string{"dns://.:1053"}, "", []string{"global."}},
		{[]string{"."}, "", []string{"global."}},
		{[]string{"dns://global.:1053"}, "", []string{"global."}},
		{[]string{"global:1053", "mesh.example.com:1053"}, "", []string{"global.", "mesh.example.com."}},
		{[]string{".", "global"}, "", []string{"global."}},
		{[]string{"dns://.:1053"}, "mesh", []string{"mesh."}},
	}
	for _, tc := range cases {
		c := caddy.NewTestController("dns", "peerdns "+tc.args+" {\n static a.yaml\n}")
		c.ServerBlockKeys = tc.keys
		cfg, err := parse(c)
		if err != nil {
			t.Errorf("keys %v: %v", tc.keys, err)
			continue
		}
		if !slices.Equal(cfg.zones, tc.want) {
			t.Errorf("keys %v args %q: zones %v, want %v", tc.keys, tc.args, cfg.zones, tc.want)
		}
	}
}

func TestParseStaticRelativeToRoot(t *testing.T) {
	c := caddy.NewTestController("dns", "peerdns {\n static peers.yaml\n static /abs/vms.yaml\n}")
	dnsserver.GetConfig(c).Root = "/srv/dns"
	cfg, err := parse(c)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/srv/dns/peers.yaml", "/abs/vms.yaml"}
	if !slices.Equal(cfg.static, want) {
		t.Errorf("static %v, want %v", cfg.static, want)
	}
}

func TestSetup(t *testing.T) {
	path := writeFile(t, "peers.yaml", peersYAML)
	c := caddy.NewTestController("dns", "peerdns mesh {\n static "+path+
		"\n ttl 9\n negative_ttl 3\n max_answers 2\n locality r z\n fallthrough\n}")
	if err := setup(c); err != nil {
		t.Fatalf("setup: %v", err)
	}
	plugins := dnsserver.GetConfig(c).Plugin
	if len(plugins) != 1 {
		t.Fatalf("%d plugins added, want 1", len(plugins))
	}
	h, ok := plugins[0](nil).(*PeerDNS)
	if !ok {
		t.Fatalf("plugin is %T, want *PeerDNS", plugins[0](nil))
	}
	if h.Ready() {
		t.Error("ready before startup: setup must not start the sync")
	}
	got := h.resolver.Config()
	want := resolver.Config{Zones: []string{"mesh."}, TTL: 9, NegativeTTL: 3, MaxAnswers: 2,
		Locality: resolver.Locality{Region: "r", Zone: "z"}}
	if !slices.Equal(got.Zones, want.Zones) || got.TTL != want.TTL || got.NegativeTTL != want.NegativeTTL ||
		got.MaxAnswers != want.MaxAnswers || got.Locality != want.Locality {
		t.Errorf("resolver config %+v, want %+v", got, want)
	}
	if !slices.Equal(h.Fall.Zones, []string{"."}) {
		t.Errorf("fallthrough zones %v, want [.]", h.Fall.Zones)
	}
}

func TestSetupErrors(t *testing.T) {
	broken := writeFile(t, "broken.yaml", strings.Replace(peersYAML, "    services:", "    colour: blue\n    services:", 1))
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	cases := []struct{ input, want string }{
		{"peerdns {\n ttl 0\n static " + broken + "\n}", "plugin/peerdns: Testfile:2 - Error during parsing: ttl must"},
		{"peerdns {\n static " + broken + "\n}", "plugin/peerdns: " + broken + `:6: unknown key "colour"`},
		{"peerdns {\n static " + missing + "\n}", "plugin/peerdns: read static file: stat " + missing},
	}
	for _, tc := range cases {
		err := setup(caddy.NewTestController("dns", tc.input))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q:\n got error %v\nwant one starting with %s", tc.input, err, tc.want)
		}
	}
}
