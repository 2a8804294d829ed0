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
	// Propagated is called after a swap with the time from the oldest change it carries (as its
	// source saw the event) to the swap: the event-to-answer delay.
	Propagated(delay time.Duration)
}

// HealthReporter is implemented by a Reporter that also counts health checks (the plugin's does).
// Its methods are called by the builder after every publish; with health checks off they get no
// peers and zero.
type HealthReporter interface {
	// GatewayHealth gets the number of gateway addresses up and down of every serving peer;
	// peers not in the list have none.
	GatewayHealth(peers []PeerHealth)
	// FailOpen gets the number of services answered with every gateway address of a family
	// because all of them fail health checks.
	FailOpen(services int)
}

// changeSource is a Source that can tell when its oldest change not yet published happened.
type changeSource interface {
	TakeChanges() (oldest time.Time, ok bool)
}

// namespaceSource is a Source that knows the local cluster's namespaces.
type namespaceSource interface {
	Namespaces() []string
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
	// StartupTimeout is how long the first publish waits for every source to be ready; then the
	// map is published with what there is. Zero: DefaultStartupTimeout.
	StartupTimeout time.Duration
	// SnapshotFile, when set, keeps the last published map on disk: it is written after each
	// publish (at most every SnapshotInterval) and read at Start, so that a restarted server
	// answers from it, as stale, before any peer is reachable.
	SnapshotFile string
	// StaleGrace is how long clusters read from SnapshotFile are served when no source
	// confirms them. Zero: DefaultStaleGrace.
	StaleGrace time.Duration
	// Health, when set, health-checks the gateways of the merged map: addresses it finds down
	// are published in Gateway.Down, and a gateway going down or up triggers a rebuild. Nil: no
	// health checks.
	Health *HealthChecker
}

// Defaults of Options.
const (
	DefaultStartupTimeout = 30 * time.Second
	DefaultStaleGrace     = 5 * time.Minute
	SnapshotInterval      = 2 * time.Second
)

// Syncer runs the sources and the one builder goroutine that merges their clusters and
// publishes them. Start and Stop are meant to be called once each, from one goroutine (the
// server's startup and shutdown hooks); Ready may be called from anywhere.
type Syncer struct {
	opts   Options
	log    *zap.Logger
	signal chan struct{} // buffered, one pending rebuild at most
	ready  atomic.Bool   // the first complete map is published, or the startup timeout passed
	cancel context.CancelFunc
	wg     gosync.WaitGroup
	saver  *snapshotSaver // nil without a snapshot file

	// Owned by the builder goroutine.
	gen       uint64 // generation counted here when the Publisher returns no snapshot
	lastDups  string // duplicates logged by the previous build, to log each change once
	lastErr   string // Publish error logged by the previous build, likewise
	published bool   // something was published: the snapshot file's map or a complete one
	timedOut  bool   // the startup timeout passed before every source was ready
	saved     []resolver.Cluster
	savedAt   time.Time // when the map of the snapshot file was loaded
	savedGen  uint64    // generation last handed to the snapshot saver
}

// New returns a Syncer that does nothing until Start.
func New(opts Options) *Syncer {
	log := opts.Log
	if log == nil {
		log = zap.NewNop()
	}
	if opts.StartupTimeout == 0 {
		opts.StartupTimeout = DefaultStartupTimeout
	}
	if opts.StaleGrace == 0 {
		opts.StaleGrace = DefaultStaleGrace
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
	if s.opts.SnapshotFile != "" {
		s.loadSnapshot()
		s.saver = newSnapshotSaver(s.opts.SnapshotFile, s.log)
		s.wg.Go(func() { s.saver.run(ctx) })
	}
	for _, src := range s.opts.Sources {
		s.wg.Go(func() { src.Run(ctx, s.changed) })
	}
	if h := s.opts.Health; h != nil {
		s.wg.Go(func() { h.Run(ctx, s.changed) })
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

// build is the builder goroutine: one rebuild per pending signal until ctx is done. Until the
// first complete map, it also wakes when the startup timeout passes and, with a snapshot file,
// when the clusters read from it run out of grace.
func (s *Syncer) build(ctx context.Context) {
	startup := time.NewTimer(s.opts.StartupTimeout)
	defer startup.Stop()
	grace := time.NewTimer(s.opts.StaleGrace)
	defer grace.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.signal:
		case <-startup.C:
			s.timedOut = true
		case <-grace.C:
			s.saved = nil
		}
		if ctx.Err() != nil {
			return
		}
		s.rebuild()
	}
}

// rebuild merges the sources and publishes the result. Before every source is ready (and the
// startup timeout has not passed), only a map read from the snapshot file is published.
func (s *Syncer) rebuild() {
	start := time.Now()
	m, dups, complete := s.merge()
	if !complete && s.timedOut && !s.ready.Load() {
		s.log.Warn("startup timeout passed before every source was ready, serving what there is",
			zap.Duration("startup_timeout", s.opts.StartupTimeout), zap.Strings("waiting_for", s.notReady()))
		complete = true
	}
	if !complete && !s.ready.Load() && len(s.saved) == 0 {
		return
	}
	oldest, changed := s.takeChanges()
	s.logDuplicates(dups)
	merged := m.Clusters // what the sources said, without health: the snapshot file keeps this
	var health []PeerHealth
	if s.opts.Health != nil {
		m.Clusters, health = s.opts.Health.Track(m.Clusters)
	}
	snap, err := s.opts.Publisher.Publish(m)
	took := time.Since(start)
	s.logPublishError(err)
	s.logPublished(s.generation(snap), took, m.Clusters, complete)
	if s.opts.Reporter != nil {
		s.opts.Reporter.Published(s.gen, took, m.Clusters)
		if changed {
			s.opts.Reporter.Propagated(time.Since(oldest))
		}
		s.reportHealth(snap, health)
	}
	if s.saver != nil && s.gen != s.savedGen {
		s.saver.save(merged) // a map whose only news is confirmation times is not worth a write
		s.savedGen = s.gen
	}
}

// reportHealth passes the gateways' health and the names answered fail open to a Reporter that
// counts them. Without health checks it passes no peers and zero, so that what an earlier
// configuration reported (before a reload dropped health_check) does not linger.
func (s *Syncer) reportHealth(snap *resolver.Snapshot, health []PeerHealth) {
	hr, ok := s.opts.Reporter.(HealthReporter)
	if !ok {
		return
	}
	hr.GatewayHealth(health)
	failOpen := 0
	if snap != nil {
		failOpen = snap.FailOpen()
	}
	hr.FailOpen(failOpen)
}

// logPublished logs the first complete map at info level and every other one at debug level.
func (s *Syncer) logPublished(gen uint64, took time.Duration, clusters []resolver.Cluster, complete bool) {
	level, msg := zap.DebugLevel, "map published"
	switch {
	case complete && !s.ready.Swap(true):
		level, msg = zap.InfoLevel, "first complete map published, serving"
	case !s.published:
		level, msg = zap.InfoLevel, "map of the snapshot file published, serving it as stale until the sources are ready"
	}
	s.published = true
	s.log.Log(level, msg,
		zap.Uint64("generation", gen),
		zap.Int("clusters", len(clusters)),
		zap.Int("services", countServices(clusters)),
		zap.Float64("took_seconds", took.Seconds()))
}

// takeChanges returns the oldest unpublished change of every source that tracks them.
func (s *Syncer) takeChanges() (oldest time.Time, ok bool) {
	for _, src := range s.opts.Sources {
		cs, tracks := src.(changeSource)
		if !tracks {
			continue
		}
		if t, has := cs.TakeChanges(); has && (!ok || t.Before(oldest)) {
			oldest, ok = t, true
		}
	}
	return oldest, ok
}

// notReady names the sources that have not completed their first listing.
func (s *Syncer) notReady() []string {
	var names []string
	for _, src := range s.opts.Sources {
		if _, ok := src.Clusters(); !ok {
			names = append(names, src.Name())
		}
	}
	return names
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
