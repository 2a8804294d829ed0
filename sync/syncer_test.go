package sync

import (
	"fmt"
	"reflect"
	"runtime"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/peerdns/peerdns/resolver"
)

func named(name, source string) resolver.Cluster {
	return resolver.Cluster{Name: name, Source: source}
}

func TestSyncerWaitsForEverySource(t *testing.T) {
	a := newFakeSource("a", true, named("east", "a"))
	b := newFakeSource("b", false)
	pub := &fakePublisher{}
	s := New(Options{Publisher: pub, Sources: []Source{a, b}})
	s.Start()
	defer s.Stop()

	// The rebuild that made the first call to b.Clusters has finished once a second call is
	// made, and none of them may publish while b is not ready.
	waitFor(t, "a rebuild", func() bool { return b.callCount() >= 1 })
	b.set(false)
	waitFor(t, "a second rebuild", func() bool { return b.callCount() >= 2 })
	if n := pub.count(); n != 0 || s.Ready() {
		t.Fatalf("before every source is ready: %d publishes, Ready() = %v; want 0, false", n, s.Ready())
	}

	b.set(true, named("west", "b"))
	waitFor(t, "the first publish", func() bool { return pub.count() == 1 })
	if got := names(pub.last()); !reflect.DeepEqual(got, []string{"east", "west"}) {
		t.Errorf("published %v, want [east west]", got)
	}
	if !s.Ready() {
		t.Error("Ready() = false after the first publish")
	}

	// Once published, a source that is not ready again does not hold the map back.
	b.set(false)
	waitFor(t, "a second publish", func() bool { return pub.count() == 2 })
}

func TestSyncerDuplicateClusters(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	a := newFakeSource("a", true, named("east", "a"))
	b := newFakeSource("b", true, named("east", "b"), named("west", "b"))
	pub := &fakePublisher{}
	s := New(Options{Publisher: pub, Sources: []Source{a, b}, Log: zap.New(core)})
	s.Start()
	defer s.Stop()

	waitFor(t, "the first publish", func() bool { return pub.count() == 1 })
	got := pub.last()
	if !reflect.DeepEqual(names(got), []string{"east", "west"}) || got[0].Source != "a" {
		t.Errorf("published %+v, want east from a, then west", got)
	}
	a.set(true, named("east", "a"))
	waitFor(t, "a second publish", func() bool { return pub.count() == 2 })
	if n := logs.FilterMessage("cluster given by two sources, keeping the first").Len(); n != 1 {
		t.Errorf("duplicate logged %d times over two identical builds, want once", n)
	}
}

// A signal that arrives while a build runs causes exactly one more build, however many there are.
func TestSyncerCoalesces(t *testing.T) {
	src := newFakeSource("a", true, named("c0", "a"))
	pub := &fakePublisher{}
	rep := &fakeReporter{}
	s := New(Options{Publisher: pub, Sources: []Source{src}, Reporter: rep})
	s.Start()
	defer s.Stop()
	waitFor(t, "the first publish", func() bool { return pub.count() == 1 })

	hold := make(chan struct{})
	pub.mu.Lock()
	pub.hold, pub.entered = hold, make(chan struct{}, 1)
	entered := pub.entered
	pub.mu.Unlock()
	src.set(true, named("c1", "a"))
	<-entered // the builder is inside Publish
	for i := 2; i <= 1001; i++ {
		src.set(true, named(fmt.Sprintf("c%d", i), "a"))
	}
	close(hold)

	waitFor(t, "the last state", func() bool { return names(pub.last())[0] == "c1001" })
	if n := pub.count(); n != 3 {
		t.Errorf("1,001 changes during one build gave %d builds in all, want 3", n)
	}
	rep.mu.Lock()
	defer rep.mu.Unlock()
	if !reflect.DeepEqual(rep.gens, []uint64{1, 2, 3}) {
		t.Errorf("reported generations %v, want [1 2 3]", rep.gens)
	}
}

func TestSyncerLastStateWins(t *testing.T) {
	src := newFakeSource("a", true)
	pub := &fakePublisher{}
	s := New(Options{Publisher: pub, Sources: []Source{src}})
	s.Start()
	defer s.Stop()
	for i := range 1000 {
		src.set(true, named(fmt.Sprintf("c%d", i), "a"))
	}
	waitFor(t, "the last state", func() bool {
		last := pub.last()
		return len(last) == 1 && last[0].Name == "c999"
	})
	if n := pub.count(); n > 1001 {
		t.Errorf("%d builds for 1,000 changes", n)
	}
}

func TestSyncerStop(t *testing.T) {
	New(Options{Publisher: &fakePublisher{}}).Stop() // never started: returns at once

	before := runtime.NumGoroutine()
	pub := &fakePublisher{}
	s := New(Options{Publisher: pub, Sources: []Source{
		newFakeSource("a", true), newFakeSource("b", true), newFakeSource("c", true),
	}})
	s.Start()
	waitFor(t, "the first publish", func() bool { return pub.count() == 1 })
	s.Stop()
	s.Stop() // twice is harmless
	waitFor(t, "the goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

func TestSyncerNoSources(t *testing.T) {
	pub := &fakePublisher{}
	s := New(Options{Publisher: pub})
	s.Start()
	defer s.Stop()
	waitFor(t, "an empty map", func() bool { return pub.count() == 1 && s.Ready() })
}

func TestSyncerWithResolver(t *testing.T) {
	st, err := NewStatic(StaticOptions{Path: demoFile})
	if err != nil {
		t.Fatal(err)
	}
	res := resolver.New(resolver.Config{})
	rep := &fakeReporter{}
	s := New(Options{Publisher: res, Sources: []Source{st}, Reporter: rep})
	s.Start()
	defer s.Stop()
	waitFor(t, "the demo map", s.Ready)
	if snap := res.Snapshot(); snap == nil || snap.Clusters() != 3 {
		t.Fatalf("snapshot %+v, want 3 clusters", snap)
	}
	// The generations reported are the resolver's. The sources may cause more builds, and a build
	// that only moves confirmation times keeps the generation, so each report is the one before or
	// the next.
	waitFor(t, "the reported generation to be the snapshot's", func() bool {
		rep.mu.Lock()
		defer rep.mu.Unlock()
		n := len(rep.gens)
		return n > 0 && rep.gens[n-1] == res.Snapshot().Generation()
	})
	rep.mu.Lock()
	defer rep.mu.Unlock()
	if rep.gens[0] != 1 {
		t.Errorf("first reported generation %d, want 1", rep.gens[0])
	}
	for i := 1; i < len(rep.gens); i++ {
		if d := rep.gens[i] - rep.gens[i-1]; d > 1 {
			t.Errorf("reported generations %v: a step of %d", rep.gens, d)
		}
	}
}
