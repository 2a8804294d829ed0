package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// demoName is the quick start's service: deploy/examples/peers.yaml serves it, and the README
// shows dig asking for it.
const demoName = "productcatalogservice.default"

// TestCorefileExample runs README command 1's Corefile from the repository root, as a new user
// does, on a free port, and asks for the demo service.
func TestCorefileExample(t *testing.T) {
	t.Parallel()
	text, err := os.ReadFile(filepath.Join(repoRoot, "Corefile.example"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	env := testEnv(t, dir, "")
	ex := adapt(string(text), env)
	if !ex.static || len(ex.zones) != 1 || ex.zones[0] != "global." {
		t.Fatalf("Corefile.example: want zone global. from a static file, got zones %v static %v", ex.zones, ex.static)
	}
	s := startServer(t, ex.text, serverOptions{dir: dir, cwd: repoRoot})
	expect(t, s.dig(t, demoName+".global", "A"), status("NOERROR"), authoritative, someAnswer)
	expect(t, s.dig(t, "example.com", "A"), status("REFUSED"), noAnswer)
	expect(t, s.dig(t, ".", "NS"), status("REFUSED"), noAnswer)

	// The operator endpoints it documents.
	paths := map[string]string{"health": "/health", "ready": "/ready", "prometheus": "/metrics"}
	for directive, port := range env.ports {
		d, _, _ := strings.Cut(directive, " ")
		body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d%s", port, paths[d]))
		if d == "prometheus" && !strings.Contains(body, "coredns_peerdns_") {
			t.Errorf("/metrics has no coredns_peerdns_ metric")
		}
	}
}

// httpGet returns the body of a GET that must succeed with 200 OK.
func httpGet(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %s\n%s", url, resp.Status, body)
	}
	return string(body)
}

// TestReadmeCorefiles starts the server with every corefile block of the READMEs: the examples
// users copy must start and serve. Static sources read the quick start's peers file.
func TestReadmeCorefiles(t *testing.T) {
	t.Parallel()
	demo := filepath.Join(repoRoot, "deploy", "examples", "peers.yaml")
	for _, readme := range []string{"README.md", filepath.Join("plugin", "README.md")} {
		text, err := os.ReadFile(filepath.Join(repoRoot, readme))
		if err != nil {
			t.Errorf("%s: %v", readme, err)
			continue
		}
		blocks := corefileBlocks(string(text))
		if len(blocks) == 0 {
			t.Errorf("%s has no ~~~ corefile blocks: its examples must be runnable", readme)
		}
		for i, block := range blocks {
			t.Run(readme+"/example-"+strconv.Itoa(i+1), func(t *testing.T) {
				runExample(t, block, demo)
			})
		}
	}
}

// runExample starts one documented Corefile and checks that it serves its zones.
func runExample(t *testing.T, block, demo string) {
	dir := t.TempDir()
	ex := adapt(block, testEnv(t, dir, demo))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("documented Corefile:\n%s", block)
		}
	})
	zone := "global."
	for _, z := range ex.zones {
		if z != "." {
			zone = z
			break
		}
	}
	s := startServer(t, ex.text, serverOptions{dir: dir, zone: zone, anyReply: !ex.static})
	if !ex.static {
		return // its peers are Kubernetes clusters that do not run here: starting is the test
	}
	for _, z := range ex.zones {
		if z == "." {
			continue
		}
		expect(t, s.dig(t, z, "SOA"), status("NOERROR"), authoritative, answerTypes("SOA"))
		if z == "global." {
			expect(t, s.dig(t, demoName+"."+z, "A"), status("NOERROR"), someAnswer)
		}
	}
}

// someAnswer: the answer holds at least one address.
func someAnswer(t *testing.T, r *reply) {
	t.Helper()
	if len(addrs(r.answer)) == 0 {
		t.Errorf("no address in the answer")
	}
}
