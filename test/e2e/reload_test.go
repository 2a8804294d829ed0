package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// reloadWithin is how soon a change of the peers file must show in answers ("a few seconds").
const reloadWithin = 15 * time.Second

// TestReload edits the peers file under a running server: a good edit is served, a broken one is
// logged with its file and line while the previous map keeps being served, and the fix is served.
func TestReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	peers := writeFile(t, dir, "peers.yaml", onePeer("203.0.113.10"))
	s := startServer(t, staticCorefile(), serverOptions{dir: dir})
	const name = "productcatalogservice.default.global"
	expect(t, s.dig(t, name, "A"), status("NOERROR"), answerAddrs("203.0.113.10"))
	serial := s.serial(t)

	// An edit in place, as an editor or `cat >` makes it.
	writeFile(t, dir, "peers.yaml", onePeer("203.0.113.11"))
	s.waitAnswer(t, name, "203.0.113.11")
	if got := s.serial(t); got == serial {
		t.Errorf("SOA serial still %d after the map changed", got)
	}

	// Broken YAML, swapped in by rename, as Kubernetes updates a mounted ConfigMap.
	mark := len(s.out.String())
	replace(t, peers, "clusters:\n  - name: east\n    gateway: {addresses: [203.0.113.12\n")
	s.waitLog(t, mark, regexp.MustCompile(`peers\.yaml:\d+`))
	expect(t, s.dig(t, name, "A"), status("NOERROR"), answerAddrs("203.0.113.11"))

	// Valid YAML, invalid file: an unknown key on line 3.
	mark = len(s.out.String())
	bad := strings.Replace(onePeer("203.0.113.12"), "    gateway:\n", "    colour: blue\n    gateway:\n", 1)
	writeFile(t, dir, "peers.yaml", bad)
	s.waitLog(t, mark, regexp.MustCompile(`peers\.yaml:3\b`))
	expect(t, s.dig(t, name, "A"), status("NOERROR"), answerAddrs("203.0.113.11"))
	if !s.alive() {
		t.Fatal("peerdns exited on a broken peers file")
	}

	// The fix is served.
	serial = s.serial(t)
	writeFile(t, dir, "peers.yaml", onePeer("203.0.113.12"))
	s.waitAnswer(t, name, "203.0.113.12")
	if got := s.serial(t); got == serial {
		t.Errorf("SOA serial still %d after the map changed", got)
	}
}

// waitAnswer polls until name's A answer is exactly want, and logs how long that took.
func (s *server) waitAnswer(t *testing.T, name string, want ...string) {
	t.Helper()
	slices.Sort(want)
	start := time.Now()
	for {
		r := s.dig(t, name, "A")
		if r.status == "NOERROR" && slices.Equal(addrs(r.answer), want) {
			break
		}
		if time.Since(start) > reloadWithin {
			t.Fatalf("%s did not answer %v within %v; last reply:\n%s", name, want, reloadWithin, r.raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("new answer after %v", time.Since(start).Round(time.Millisecond))
}

// waitLog polls until the server's output after byte offset mark matches re.
func (s *server) waitLog(t *testing.T, mark int, re *regexp.Regexp) {
	t.Helper()
	waitFor(t, reloadWithin, "a log line matching "+re.String(), func() bool {
		return re.MatchString(s.out.String()[mark:])
	})
}

// serial returns the serial of the zone's SOA.
func (s *server) serial(t *testing.T) uint32 {
	t.Helper()
	r := s.dig(t, "global", "SOA")
	if x := soa(r.answer); x != nil {
		return x.Serial
	}
	t.Fatalf("no SOA in the answer\n%s", r.raw)
	return 0
}

// replace writes a file next to path and renames it over path, an atomic swap.
func replace(t *testing.T, path, content string) {
	t.Helper()
	tmp := writeFile(t, filepath.Dir(path), "."+filepath.Base(path)+".new", content)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
