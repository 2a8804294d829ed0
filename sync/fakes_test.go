package sync

import (
	"context"
	gosync "sync"
	"testing"
	"time"

	"github.com/peerdns/peerdns/resolver"
)

// waitFor polls cond until it holds, failing the test after a generous deadline. Tests wait for
// conditions, never for a time.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// fakePublisher records every published map. When hold is set, Publish signals entered and
// waits until hold is closed.
type fakePublisher struct {
	mu        gosync.Mutex
	published [][]resolver.Cluster
	hold      chan struct{}
	entered   chan struct{} // buffered, one
}

func (p *fakePublisher) Publish(m resolver.Map) (*resolver.Snapshot, error) {
	clusters := m.Clusters
	p.mu.Lock()
	p.published = append(p.published, clusters)
	hold, entered := p.hold, p.entered
	p.mu.Unlock()
	if hold != nil {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-hold
	}
	return nil, nil
}

// count returns how many maps were published.
func (p *fakePublisher) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.published)
}

// last returns the last published map, or nil.
func (p *fakePublisher) last() []resolver.Cluster {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.published) == 0 {
		return nil
	}
	return p.published[len(p.published)-1]
}

// fakeReporter records what the sync reports.
type fakeReporter struct {
	mu     gosync.Mutex
	gens   []uint64
	errors []error
}

func (r *fakeReporter) Published(gen uint64, took time.Duration, clusters []resolver.Cluster) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gens = append(r.gens, gen)
}

func (r *fakeReporter) Propagated(time.Duration) {}

func (r *fakeReporter) SourceError(source string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if source != "static" {
		panic("SourceError from source " + source)
	}
	r.errors = append(r.errors, err)
}

// errorCount returns how many source errors were reported.
func (r *fakeReporter) errorCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.errors)
}

// lastError returns the last reported source error.
func (r *fakeReporter) lastError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.errors[len(r.errors)-1]
}

// fakeSource is a source whose clusters the test sets. Calls counts the calls of Clusters, so
// that a test can tell that the builder has looked.
type fakeSource struct {
	name    string
	mu      gosync.Mutex
	list    []resolver.Cluster
	ready   bool
	calls   int
	changed func()
	running chan struct{} // closed when Run has started
}

func newFakeSource(name string, ready bool, clusters ...resolver.Cluster) *fakeSource {
	return &fakeSource{name: name, list: clusters, ready: ready, running: make(chan struct{})}
}

func (s *fakeSource) Name() string { return s.name }

func (s *fakeSource) Run(ctx context.Context, changed func()) {
	s.mu.Lock()
	s.changed = changed
	s.mu.Unlock()
	close(s.running)
	<-ctx.Done()
}

func (s *fakeSource) Clusters() ([]resolver.Cluster, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	return s.list, s.ready
}

// set replaces the source's clusters and signals the change.
func (s *fakeSource) set(ready bool, clusters ...resolver.Cluster) {
	<-s.running
	s.mu.Lock()
	s.list, s.ready = clusters, ready
	changed := s.changed
	s.mu.Unlock()
	changed()
}

// callCount returns how often Clusters was called.
func (s *fakeSource) callCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// names returns the names of clusters, in order.
func names(clusters []resolver.Cluster) []string {
	out := make([]string, len(clusters))
	for i, c := range clusters {
		out[i] = c.Name
	}
	return out
}
