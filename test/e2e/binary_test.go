package e2e

import (
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestVersion: -version prints peerdns's version, stamped at build time, and CoreDNS's.
func TestVersion(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(peerdns(t), "-version").CombinedOutput()
	if err != nil {
		t.Fatalf("peerdns -version: %v\n%s", err, out)
	}
	want := regexp.MustCompile(`^peerdns ` + regexp.QuoteMeta(testVersion) + ` \(CoreDNS-1\.\d+\.\d+\) \w+/\w+, go1\.\S+\n$`)
	if !want.Match(out) {
		t.Errorf("peerdns -version printed %q, want %s", out, want)
	}
}

// TestPlugins: the build lists the peerdns plugin among CoreDNS's.
func TestPlugins(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(peerdns(t), "-plugins").CombinedOutput()
	if err != nil {
		t.Fatalf("peerdns -plugins: %v\n%s", err, out)
	}
	listed := strings.Fields(string(out))
	for _, p := range []string{"peerdns", "kubernetes", "forward", "prometheus"} {
		if !slices.Contains(listed, p) {
			t.Errorf("peerdns -plugins does not list %s:\n%s", p, out)
		}
	}
}

// TestOutsideZonesInRootBlock: a stand-alone server whose server block is the root zone, with
// peerdns the only plugin, still refuses names outside peerdns's zones (SPEC section 2: never
// recursion, and REFUSED keeps a forwarding cluster DNS from marking it down).
func TestOutsideZonesInRootBlock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "peers.yaml", contractPeers)
	s := startServer(t, `.:{port} {
    bind 127.0.0.1
    peerdns global {
        static {dir}/peers.yaml
    }
}
`, serverOptions{dir: dir})
	expect(t, s.dig(t, "productcatalogservice.default.global", "A"), status("NOERROR"), authoritative)
	expect(t, s.dig(t, "example.com", "A"), status("REFUSED"), noAnswer)
	expect(t, s.dig(t, ".", "NS"), status("REFUSED"), noAnswer)
}
