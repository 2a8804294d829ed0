package sync

import (
	"context"
	gosync "sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/peerdns/peerdns/resolver"
)

// Publisher takes a whole new map. *resolver.Resolver implements it.
type Publisher interface {
	Publish(m resolver.Map) (*resolver.Snapshot, error)
}

// Source is one provider of clusters (static file now; kubeconfig peers, remote secrets later).
type Source interface {
	// Name names the source for logs and metrics: "static", later "kubeconfig", ... (bounded
	// values).
	Name() string
	// Run watches until ctx is done, calling changed (never blocks) whenever Clusters may differ.
	Run(ctx context.Context, changed func())
	// Clusters returns the source's current clusters (caller must not modify them) and whether
	// the source has completed its first full listing.
	Clusters() (clusters []resolver.Cluster, ready bool)
}

// Reporter receives what the sync wants counted; the plugin implements it with Prometheus. Its
// methods may be called from several goroutines at once.
type Reporter interface {
	// Published is called by the builder after every swap.
	Published(gen uint64, took time.Duration, clusters []resolver.Cluster)
	// SourceError is called for a reload that failed; the previous data is kept. Sources report
	// through a callback of their own options (see StaticOptions.OnError and ReportErrors).
	SourceError(source string, err error)
}

// ReportErrors returns a callback for a source's OnError option that passes each error to
// r.SourceError under the source's name. A nil r gives a nil callback (errors are only logged).
func ReportErrors(r Reporter, source string) func(error) {
	if r == nil {
		return nil
	}
	return func(err error) { r.SourceError(source, err) }
}

// Options configure a Syncer. Publisher is required; the zero value of every other field works.
type Options struct {
	Publisher Publisher
	Sources   []Source
	Log       *zap.Logger // nil: zap.NewNop()
	Reporter  Reporter    // nil: nothing reported
}

// Syncer runs the sources and the one builder goroutine that merges their clusters and
// publishes them. Start and Stop are meant to be called once each, from one goroutine (the
// server's startup and shutdown hooks); Ready may be called from anywhere.
type Syncer struct {
	opts   Options
	log    *zap.Logger
	signal chan struct{} // buffered, one pending rebuild at most
	ready  atomic.Bool
	cancel context.CancelFunc
	wg     gosync.WaitGroup

	// Owned by the builder goroutine.
	gen      uint64 // generation counted here when the Publisher returns no snapshot
	lastDups string // duplicates logged by the previous build, to log each change once
	lastErr  string // Publish error logged by the previous build, likewise
}

// New returns a Syncer that does nothing until Start.
func New(opts Options) *Syncer {
	log := opts.Log
	if log == nil {
		log = zap.NewNop()
	}
	return &Syncer{opts: opts, log: log, signal: make(chan struct{}, 1)}
}

// Start starts every source's Run and the single builder goroutine, and returns at once. The
// first snapshot is published as soon as every source is ready.
func (s *Syncer) Start() {
	if s.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	for _, src := range s.opts.Sources {
		s.wg.Go(func() { src.Run(ctx, s.changed) })
	}
	s.changed() // sources that are ready before Run need no signal of their own
	s.wg.Go(func() { s.build(ctx) })
}

// Stop stops the sources and the builder and waits for them. The last snapshot stays published.
func (s *Syncer) Stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.wg.Wait()
}

// Ready reports whether the first complete map has been published (for CoreDNS's ready plugin).
func (s *Syncer) Ready() bool { return s.ready.Load() }

// changed asks for a rebuild. It never blocks: when a rebuild is already pending, this one is
// folded into it.
func (s *Syncer) changed() {
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// build is the builder goroutine: one rebuild per pending signal until ctx is done.
func (s *Syncer) build(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.signal:
		}
		if ctx.Err() != nil {
			return
		}
		s.rebuild()
	}
}

// rebuild merges the sources and publishes the result, unless a source has not completed its
// first listing before the first publish.
func (s *Syncer) rebuild() {
	start := time.Now()
	clusters, dups, ok := s.merge()
	if !ok && !s.ready.Load() {
		return
	}
	s.logDuplicates(dups)
	snap, err := s.opts.Publisher.Publish(resolver.Map{Clusters: clusters})
	took := time.Since(start)
	s.logPublishError(err)
	gen := s.generation(snap)
	level, msg := zap.DebugLevel, "map published"
	if !s.ready.Swap(true) {
		level, msg = zap.InfoLevel, "first complete map published, serving"
	}
	s.log.Log(level, msg,
		zap.Uint64("generation", gen),
		zap.Int("clusters", len(clusters)),
		zap.Int("services", countServices(clusters)),
		zap.Float64("took_seconds", took.Seconds()))
	if s.opts.Reporter != nil {
		s.opts.Reporter.Published(gen, took, clusters)
	}
}

// generation returns the generation of snap, or one counted here when the Publisher gave none.
func (s *Syncer) generation(snap *resolver.Snapshot) uint64 {
	if snap != nil {
		s.gen = snap.Generation()
	} else {
		s.gen++
	}
	return s.gen
}

// logPublishError logs what the resolver left out of the map, once per change.
func (s *Syncer) logPublishError(err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if msg == s.lastErr {
		return
	}
	s.lastErr = msg
	if err != nil {
		s.log.Warn("map published with some entries left out", zap.Error(err))
	}
}

func countServices(clusters []resolver.Cluster) int {
	n := 0
	for i := range clusters {
		n += len(clusters[i].Services)
	}
	return n
}
