package plugin

import (
	"os"
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
	t.Chdir("..")
	directives := append(slices.Clone(dnsserver.Directives), pluginName)
	for i, text := range blocks {
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

func TestCorefileBlocks(t *testing.T) {
	doc := "text\n```corefile\na {\n}\n```\n~~~ txt\nb\n~~~\n~~~ corefile\nc\n~~~\n```\nd\n```\n"
	got := corefileBlocks(doc)
	want := []string{"a {\n}\n", "c\n"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
