package sync

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/peerdns/peerdns/resolver"
)

const testPoll = 20 * time.Millisecond

// peersFile returns a static file with cluster east serving the given services in namespace
// shop; each version differs in size from the others.
func peersFile(services ...string) string {
	var b strings.Builder
	b.WriteString("clusters:\n- name: east\n  gateway: {addresses: [203.0.113.7]}\n  services:\n")
	for _, s := range services {
		b.WriteString("  - {name: " + s + ", namespace: shop}\n")
	}
	return b.String()
}

// serviceNames returns the services of the only cluster of a published map, or nil.
func serviceNames(clusters []resolver.Cluster) []string {
	if len(clusters) != 1 {
		return nil
	}
	var out []string
	for _, s := range clusters[0].Services {
		out = append(out, s.Name)
	}
	return out
}

// startStatic runs a Static source of path under a Syncer with fakes, until the test ends.
func startStatic(t *testing.T, opts StaticOptions) (*Static, *fakePublisher, *fakeReporter) {
	t.Helper()
	pub, rep := &fakePublisher{}, &fakeReporter{}
	opts.Poll = testPoll
	opts.OnError = ReportErrors(rep, "static")
	st, err := NewStatic(opts)
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{Publisher: pub, Sources: []Source{st}, Reporter: rep, Log: opts.Log})
	s.Start()
	t.Cleanup(s.Stop)
	return st, pub, rep
}

// waitServices waits until the last published map has exactly the services want.
func waitServices(t *testing.T, pub *fakePublisher, want ...string) {
	t.Helper()
	waitFor(t, "services "+strings.Join(want, ","), func() bool {
		return reflect.DeepEqual(serviceNames(pub.last()), want)
	})
}

// replaceFile replaces name in dir by an atomic rename, as careful writers and editors do.
func replaceFile(t *testing.T, dir, name, content string) {
	t.Helper()
	tmp := writeFile(t, dir, "."+name+".tmp", content)
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func TestStaticWatch(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "peers.yaml", peersFile("web"))
	core, logs := observer.New(zap.InfoLevel)
	st, pub, rep := startStatic(t, StaticOptions{Path: path, Log: zap.New(core)})
	waitServices(t, pub, "web")
	if c, _ := st.Clusters(); c[0].Updated.IsZero() || c[0].Source != "static" || c[0].State != resolver.Live {
		t.Errorf("cluster %+v: want Updated set, Source static, State Live", c[0])
	}

	replaceFile(t, dir, "peers.yaml", peersFile("web", "cart"))
	waitServices(t, pub, "web", "cart")

	// A broken edit is reported, and the previous map stays.
	replaceFile(t, dir, "peers.yaml", peersFile("web", "cart")+"  colour: blue\n")
	waitFor(t, "the error", func() bool { return rep.errorCount() == 1 })
	if want := path + `:7: unknown key "colour" in cluster`; rep.lastError().Error() != want {
		t.Errorf("reported %q, want %q", rep.lastError(), want)
	}
	if got, ready := st.Clusters(); !ready || !reflect.DeepEqual(serviceNames(got), []string{"web", "cart"}) {
		t.Errorf("after a broken edit the source has %v, want the previous [web cart]", serviceNames(got))
	}
	if n := logs.FilterMessage("static file rejected, keeping the previous map").Len(); n != 1 {
		t.Errorf("rejection logged %d times, want once", n)
	}

	replaceFile(t, dir, "peers.yaml", peersFile("web", "cart", "ads"))
	waitServices(t, pub, "web", "cart", "ads")

	// Deleted, then created again.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the missing file reported", func() bool { return rep.errorCount() == 2 })
	if err := rep.lastError(); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("reported %v, want a missing file", err)
	}
	time.Sleep(5 * testPoll) // not a condition: more polls that see the file missing
	replaceFile(t, dir, "peers.yaml", peersFile("email"))
	waitServices(t, pub, "email")
	if n := rep.errorCount(); n != 2 {
		t.Errorf("%d errors reported, want 2 (a missing file is reported once)", n)
	}
	if n := logs.FilterMessage("static file readable again").Len(); n != 1 {
		t.Errorf("recovery logged %d times, want once", n)
	}
	if n := logs.FilterMessage("static file loaded").Len(); n != 4 {
		t.Errorf("load logged %d times, want 4", n)
	}
}

// An edit in place (truncate, then write) is picked up too.
func TestStaticEditInPlace(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "peers.yaml", peersFile("web"))
	_, pub, _ := startStatic(t, StaticOptions{Path: path})
	waitServices(t, pub, "web")
	writeFile(t, dir, "peers.yaml", peersFile("web", "cart"))
	waitServices(t, pub, "web", "cart")
	writeFile(t, dir, "peers.yaml", peersFile("ads"))
	waitServices(t, pub, "ads")
}

// A file that does not parse is reported at the next poll only if it is still the same file,
// so that a writer caught between truncating and writing is not reported. The polls are made
// here by calling load, without Run.
func TestStaticLoadSettles(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "peers.yaml", peersFile("web"))
	st, err := NewStatic(StaticOptions{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	step := func(what string, wantChanged bool, wantErr string) {
		t.Helper()
		changed, err := st.load()
		if changed != wantChanged || fmt.Sprint(err) != wantErr {
			t.Errorf("%s: load() = %v, %v; want %v, %s", what, changed, err, wantChanged, wantErr)
		}
	}
	writeFile(t, dir, "peers.yaml", "")
	step("truncated", false, "<nil>")
	writeFile(t, dir, "peers.yaml", peersFile("web", "cart"))
	step("written", true, "<nil>")

	writeFile(t, dir, "peers.yaml", "clusters: [")
	step("broken", false, "<nil>")
	step("still broken", false, path+":1: did not find expected node content")
	step("reported", false, "<nil>")

	writeFile(t, dir, "peers.yaml", peersFile("web", "cart"))
	step("back to the loaded content", false, "<nil>")
}

// A file replaced with the same content publishes nothing new.
func TestStaticSameContent(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "peers.yaml", peersFile("web"))
	core, logs := observer.New(zap.DebugLevel)
	_, pub, _ := startStatic(t, StaticOptions{Path: path, Log: zap.New(core)})
	waitServices(t, pub, "web")

	replaceFile(t, dir, "peers.yaml", peersFile("web"))
	waitFor(t, "the new file seen", func() bool {
		return logs.FilterMessage("static file replaced, content as loaded").Len() == 1
	})
	replaceFile(t, dir, "peers.yaml", peersFile("web", "cart"))
	waitServices(t, pub, "web", "cart")
	if n := logs.FilterMessage("static file loaded").Len(); n != 2 {
		t.Errorf("%d loads logged, want 2: the content already loaded is not loaded again", n)
	}
}

// Kubernetes mounts a ConfigMap as a folder whose files are symlinks through "..data", itself
// a symlink swapped atomically to a new timestamped folder on every update.
func TestStaticConfigMapSymlinkSwap(t *testing.T) {
	dir := t.TempDir()
	swapTo := func(version, content string) {
		t.Helper()
		if err := os.Mkdir(filepath.Join(dir, version), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, version), "peers.yaml", content)
		if err := os.Symlink(version, filepath.Join(dir, "..data_tmp")); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	swapTo("..2024_01_01_00_00_00.1", peersFile("web"))
	path := filepath.Join(dir, "peers.yaml")
	if err := os.Symlink("..data/peers.yaml", path); err != nil {
		t.Fatal(err)
	}
	_, pub, _ := startStatic(t, StaticOptions{Path: path})
	waitServices(t, pub, "web")
	swapTo("..2024_01_01_00_01_00.2", peersFile("cart"))
	waitServices(t, pub, "cart")
}

func TestNewStaticErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := NewStatic(StaticOptions{Path: filepath.Join(dir, "none.yaml")}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("NewStatic(missing file) = %v, want a not-exist error", err)
	}
	path := writeFile(t, dir, "peers.yaml", "clusters: {}\n")
	_, err := NewStatic(StaticOptions{Path: path})
	if want := path + ":1: clusters: want a list, got a mapping"; err == nil || err.Error() != want {
		t.Errorf("NewStatic(invalid file) = %v, want %s", err, want)
	}
}
