package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
)

// upstream is CoreDNS's own directive order. Package-level variables are initialized before any
// init function of the package runs, so this copy is taken before init replaces the list.
var upstream = slices.Clone(dnsserver.Directives)

// TestDirectivesRegistered catches a directive listed without its plugin imported, and a plugin
// linked (directly or through another plugin) that no Corefile could use.
func TestDirectivesRegistered(t *testing.T) {
	for _, d := range dnsserver.Directives {
		if _, err := caddy.DirectiveAction("dns", d); err != nil {
			t.Errorf("directive %q is listed but its plugin is not imported: %v", d, err)
		}
	}
	for _, p := range caddy.ListPlugins()["dns"] {
		if !slices.Contains(dnsserver.Directives, p) {
			t.Errorf("plugin %q is linked but not in the directive list", p)
		}
	}
}

// TestDirectivesOrder checks that the chain keeps CoreDNS's order and that peerdns sits right
// after kubernetes, before file.
func TestDirectivesOrder(t *testing.T) {
	i := slices.Index(directives, "peerdns")
	if i < 1 || directives[i-1] != "kubernetes" || directives[i+1] != "file" {
		t.Errorf("peerdns must come right after kubernetes and before file: %v", directives)
	}
	last := -1
	for _, d := range directives {
		if d == "peerdns" {
			continue
		}
		j := slices.Index(upstream, d)
		if j < 0 {
			t.Errorf("directive %q is not one of CoreDNS's", d)
			continue
		}
		if j < last {
			t.Errorf("directive %q is out of CoreDNS's order", d)
		}
		last = j
	}
	if !slices.Equal(dnsserver.Directives, directives) {
		t.Errorf("dnsserver.Directives was not set to this build's list")
	}
}

// TestNoCloudSDK keeps the cloud SDKs that CoreDNS's full plugin set pulls in out of this build.
func TestNoCloudSDK(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	banned := []string{
		"cloud.google.com/",
		"github.com/aws/",
		"github.com/Azure/",
		"github.com/DataDog/",
		"google.golang.org/api/",
	}
	for pkg := range strings.FieldsSeq(string(out)) {
		for _, b := range banned {
			if strings.HasPrefix(pkg, b) {
				t.Errorf("cmd/peerdns links %s", pkg)
			}
		}
	}
}

func TestVersionLine(t *testing.T) {
	got := versionLine()
	for _, want := range []string{"peerdns " + version + " ", "(CoreDNS-1.", "go1."} {
		if !strings.Contains(got, want) {
			t.Errorf("version line %q lacks %q", got, want)
		}
	}
}
