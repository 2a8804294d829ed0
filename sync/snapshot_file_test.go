package sync

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	gosync "sync"
	"testing"
	"time"

	"github.com/peerdns/peerdns/resolver"
)

// mapPublisher records whole maps.
type mapPublisher struct {
	mu   gosync.Mutex
	maps []resolver.Map
}

func (p *mapPublisher) Publish(m resolver.Map) (*resolver.Snapshot, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.maps = append(p.maps, m)
	return nil, nil
}

func (p *mapPublisher) last() (resolver.Map, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.maps) == 0 {
		return resolver.Map{}, 0
	}
	return p.maps[len(p.maps)-1], len(p.maps)
}

func served(name string, state resolver.State, updated time.Time) resolver.Cluster {
	return resolver.Cluster{
		Name: name, Source: "kubeconfig", State: state, Updated: updated,
		Gateway:  resolver.Gateway{Addresses: []netip.Addr{netip.MustParseAddr("203.0.113.7")}, Port: 15443},
		Services: []resolver.Service{{Name: "web", Namespace: "shop", Ports: []resolver.Port{{Name: "http", Port: 80, Protocol: "TCP"}}}},
	}
}

func TestSnapshotFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "map.json")
	confirmed := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	in := []resolver.Cluster{served("east", resolver.Live, confirmed), served("gone", resolver.Revoked, confirmed)}
	if err := writeSnapshot(path, in, confirmed.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	out, saved, err := readSnapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	want := served("east", resolver.Stale, confirmed)
	if len(out) != 1 || !reflect.DeepEqual(out[0], want) || !saved.Equal(confirmed.Add(time.Minute)) {
		t.Errorf("read back %+v (saved %v), want only %+v", out, saved, want)
	}
}

func TestSnapshotFileBroken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "map.json")
	for _, content := range []string{"{", `{"version": 99}`} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := readSnapshot(path); err == nil {
			t.Errorf("%q: no error", content)
		}
	}
}

// A restarted server answers from the snapshot file before any source is ready, and the sources
// take over cluster by cluster.
func TestSyncerServesSnapshotFileUntilSourcesAreReady(t *testing.T) {
	path := filepath.Join(t.TempDir(), "map.json")
	confirmed := time.Now().Add(-time.Hour)
	saved := []resolver.Cluster{served("east", resolver.Live, confirmed), served("west", resolver.Live, confirmed)}
	if err := writeSnapshot(path, saved, confirmed); err != nil {
		t.Fatal(err)
	}
	src := newFakeSource("kubeconfig", false, named("east", "kubeconfig"))
	pub := &mapPublisher{}
	s := New(Options{Publisher: pub, Sources: []Source{src}, SnapshotFile: path, StartupTimeout: time.Hour})
	s.Start()
	defer s.Stop()

	waitFor(t, "the snapshot file's map", func() bool { _, n := pub.last(); return n > 0 })
	m, _ := pub.last()
	if got := names(m.Clusters); !reflect.DeepEqual(got, []string{"east", "west"}) || m.Clusters[1].State != resolver.Stale {
		t.Fatalf("published %+v, want east and west from the file, stale", m.Clusters)
	}
	if s.Ready() {
		t.Error("ready before any source is")
	}

	// east is listed but still syncing: the file stands in for it; west is still given by
	// nothing but the file while the source is not ready.
	syncing := served("east", resolver.Syncing, time.Time{})
	src.set(false, syncing)
	waitFor(t, "a rebuild", func() bool { m, _ := pub.last(); return len(m.Clusters) == 2 && m.Clusters[0].State == resolver.Stale })

	// Ready: east from the source; west, which the source no longer has, is gone.
	src.set(true, served("east", resolver.Live, time.Now()))
	waitFor(t, "the first complete map", func() bool {
		m, _ := pub.last()
		return len(m.Clusters) == 1 && m.Clusters[0].State == resolver.Live
	})
	if !s.Ready() {
		t.Error("not ready after every source is")
	}
	// The file now holds the live map.
	waitFor(t, "the snapshot file to be written", func() bool {
		out, _, err := readSnapshot(path)
		return err == nil && len(out) == 1 && out[0].Updated.After(confirmed)
	})
}

func TestSyncerStartupTimeout(t *testing.T) {
	src := newFakeSource("kubeconfig", false, named("east", "kubeconfig"))
	pub := &mapPublisher{}
	s := New(Options{Publisher: pub, Sources: []Source{src}, StartupTimeout: 50 * time.Millisecond})
	s.Start()
	defer s.Stop()
	waitFor(t, "a publish after the startup timeout", func() bool { _, n := pub.last(); return n > 0 })
	if !s.Ready() {
		t.Error("not ready after the startup timeout")
	}
}

// namespaceFake is a source of local namespaces.
type namespaceFake struct{ *fakeSource }

func (namespaceFake) Namespaces() []string { return []string{"default", "shop"} }

func TestSyncerLocalNamespaces(t *testing.T) {
	pub := &mapPublisher{}
	local := namespaceFake{newFakeSource("local_namespaces", true)}
	s := New(Options{Publisher: pub, Sources: []Source{newFakeSource("a", true, named("east", "a")), local}})
	s.Start()
	defer s.Stop()
	waitFor(t, "a publish", func() bool { _, n := pub.last(); return n > 0 })
	if m, _ := pub.last(); !reflect.DeepEqual(m.LocalNamespaces, []string{"default", "shop"}) {
		t.Errorf("local namespaces %v", m.LocalNamespaces)
	}
}
