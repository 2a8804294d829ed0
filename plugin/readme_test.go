package plugin

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/caddy/caddyfile"
	"github.com/coredns/coredns/core/dnsserver"
)

// corefileBlocks returns the text of every fenced block of a Markdown document whose info
// string is "corefile", fenced with ``` or ~~~.
func corefileBlocks(doc string) []string {
	var blocks []string
	var cur []string
	fence := ""
	for line := range strings.Lines(doc) {
		trimmed := strings.TrimSpace(line)
		switch {
		case fence == "" && (strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~")):
			if strings.TrimSpace(trimmed[3:]) == "corefile" {
				fence, cur = trimmed[:3], nil
			}
		case fence != "" && trimmed == fence:
			blocks = append(blocks, strings.Join(cur, ""))
			fence = ""
		case fence != "":
			cur = append(cur, line)
		}
	}
	return blocks
}

// TestReadmeCorefiles parses every corefile example of the README as CoreDNS would: all of the
// server block's directives must exist, and the peerdns directive must set up, static files and
// all, with paths relative to the repository root.
func TestReadmeCorefiles(t *testing.T) {
	doc, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := corefileBlocks(string(doc))
	if len(blocks) < 3 {
		t.Fatalf("found %d corefile examples in README.md, want at least 3", len(blocks))
	}
	files := readmeFiles(t)
	t.Chdir("..")
	directives := append(slices.Clone(dnsserver.Directives), pluginName)
	for i, text := range blocks {
		text = files.Replace(text)
		sbs, err := caddyfile.Parse("README.md", strings.NewReader(text), directives)
		if err != nil {
			t.Errorf("example %d: %v\n%s", i+1, err, text)
			continue
		}
		for _, sb := range sbs {
			tokens, ok := sb.Tokens[pluginName]
			if !ok {
				t.Errorf("example %d: server block %v has no peerdns\n%s", i+1, sb.Keys, text)
				continue
			}
			c := caddy.NewTestController("dns", "")
			c.Dispenser = caddyfile.NewDispenserTokens("README.md", tokens)
			c.ServerBlockKeys = sb.Keys
			if err := setup(c); err != nil {
				t.Errorf("example %d: %v\n%s", i+1, err, text)
			}
		}
	}
}

// readmeFiles makes, in a temporary folder, the files the examples name under /etc/peerdns and
// /var/lib/peerdns (kubeconfigs of clusters that setup never contacts), and returns the
// replacer that points the examples at them.
func readmeFiles(t *testing.T) *strings.Replacer {
	dir := t.TempDir()
	kubeconfig := `apiVersion: v1
kind: Config
clusters: [{name: east, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: peerdns, user: {token: not-a-real-token}}]
contexts: [{name: east, context: {cluster: east, user: peerdns}}]
current-context: east
`
	for _, path := range []string{"etc/peerdns/peers/east.yaml", "etc/peerdns/local.yaml"} {
		path = filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(kubeconfig), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return strings.NewReplacer("/etc/peerdns/", dir+"/etc/peerdns/", "/var/lib/peerdns/", dir+"/var/lib/peerdns/")
}

func TestCorefileBlocks(t *testing.T) {
	doc := "text\n```corefile\na {\n}\n```\n~~~ txt\nb\n~~~\n~~~ corefile\nc\n~~~\n```\nd\n```\n"
	got := corefileBlocks(doc)
	want := []string{"a {\n}\n", "c\n"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
