package sync

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	gosync "sync"
	"time"

	"go.uber.org/zap"
)

// Health checks (SPEC section 3): a TCP connect to every gateway address and port, each on its
// own schedule. An address whose every probed port fails Failures times in a row is down until
// one of them connects again. Down addresses are left out of answers by the resolver, which
// fails open when a name would be left with none.

// Defaults of HealthOptions.
const (
	DefaultHealthFailures    = 3
	DefaultHealthMaxTargets  = 1024
	DefaultHealthConcurrency = 32
	MaxHealthTimeout         = 2 * time.Second // the default timeout is half the interval, at most this
	// MaxHealthPorts is the most ports probed per gateway address of a cluster without a fixed
	// gateway port: its lowest TCP service ports.
	MaxHealthPorts = 8
)

// ErrHealthInterval means a HealthChecker was asked for without a positive interval, or with a
// timeout that does not fit in it.
var ErrHealthInterval = errors.New("health check interval must be positive and longer than the timeout")

// HealthOptions configure a HealthChecker. Interval is required; the zero value of every other
// field works.
type HealthOptions struct {
	Interval    time.Duration // between two probes of one target, ±10% so probes spread out
	Timeout     time.Duration // of one TCP connect; zero: half the interval, at most 2s
	Failures    int           // failed probes in a row that take a target down; zero: 3
	MaxTargets  int           // most (address, port) targets probed; zero: 1024
	Concurrency int           // most probes at once; zero: 32
	Log         *zap.Logger   // nil: zap.NewNop(); one line per target going down or up
	// Dial connects; nil: a net.Dialer. Tests pass a fake.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
}

// HealthChecker probes the gateways of the map the builder hands it with Track, and tells which
// addresses are down. Probes run in the background (Run), never on the query path.
type HealthChecker struct {
	opts   HealthOptions
	log    *zap.Logger
	jitter func() float64 // in [0, 1)
	wake   chan struct{}  // buffered, one: the queue changed

	mu      gosync.Mutex
	targets map[netip.AddrPort]*target
	queue   targetQueue             // targets not being probed, by next probe time
	down    map[string][]netip.Addr // by cluster: the Down slice last handed out
	over    int                     // targets left unprobed by MaxTargets at the last Track
}

// NewHealthChecker returns a checker that probes nothing until Track gives it targets and Run
// runs.
func NewHealthChecker(opts HealthOptions) (*HealthChecker, error) {
	if opts.Timeout == 0 {
		opts.Timeout = min(opts.Interval/2, MaxHealthTimeout)
	}
	if opts.Interval <= 0 || opts.Timeout <= 0 || opts.Timeout >= opts.Interval {
		return nil, ErrHealthInterval
	}
	opts.Failures = defaultInt(opts.Failures, DefaultHealthFailures)
	opts.MaxTargets = defaultInt(opts.MaxTargets, DefaultHealthMaxTargets)
	opts.Concurrency = defaultInt(opts.Concurrency, DefaultHealthConcurrency)
	if opts.Dial == nil {
		opts.Dial = new(net.Dialer).DialContext
	}
	log := opts.Log
	if log == nil {
		log = zap.NewNop()
	}
	return &HealthChecker{
		opts: opts, log: log, jitter: rand.Float64, wake: make(chan struct{}, 1),
		targets: make(map[netip.AddrPort]*target), down: make(map[string][]netip.Addr),
	}, nil
}

func defaultInt(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// Run probes every target when it is due, at most Concurrency at a time, until ctx is done.
// It calls changed (which must not block) whenever a target goes down or comes back up.
func (h *HealthChecker) Run(ctx context.Context, changed func()) {
	jobs := make(chan *target)
	var wg gosync.WaitGroup
	for range h.opts.Concurrency {
		wg.Go(func() {
			for t := range jobs {
				h.probe(ctx, t, changed)
			}
		})
	}
	defer wg.Wait()
	defer close(jobs)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		t, wait := h.due(time.Now())
		if t != nil {
			select {
			case jobs <- t:
				continue
			case <-ctx.Done():
				return
			}
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-h.wake:
		case <-timer.C:
		}
	}
}

// due takes the first target off the queue when its probe is due; otherwise it returns how long
// until one is.
func (h *HealthChecker) due(now time.Time) (*target, time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.queue) == 0 {
		return nil, time.Hour
	}
	if wait := h.queue[0].next.Sub(now); wait > 0 {
		return nil, wait
	}
	return h.queue.pop(), 0
}

// probe connects to one target and records the outcome.
func (h *HealthChecker) probe(ctx context.Context, t *target, changed func()) {
	start := time.Now()
	dctx, cancel := context.WithTimeout(ctx, h.opts.Timeout)
	conn, err := h.opts.Dial(dctx, "tcp", t.at.String())
	cancel()
	if conn != nil {
		conn.Close()
	}
	if ctx.Err() != nil {
		return // shutting down: the failure is ours, not the gateway's
	}
	if h.record(t, err, start) {
		changed()
	}
}

// record applies one probe's outcome to its target and queues the next probe. It reports
// whether the target went down or came back up.
func (h *HealthChecker) record(t *target, err error, start time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t.gone {
		return false
	}
	t.next = start.Add(h.interval())
	h.queue.push(t)
	h.poke()
	if err == nil {
		t.fails = 0
		if !t.down {
			return false
		}
		t.down = false
		h.log.Info("gateway up", zap.String("peer", strings.Join(t.peers, ",")),
			zap.Stringer("address", t.at.Addr()), zap.Uint16("port", t.at.Port()))
		return true
	}
	t.fails++
	if t.down || t.fails < h.opts.Failures {
		return false
	}
	t.down = true
	h.log.Info("gateway down", zap.String("peer", strings.Join(t.peers, ",")),
		zap.Stringer("address", t.at.Addr()), zap.Uint16("port", t.at.Port()),
		zap.Int("failures", t.fails), zap.Error(err))
	return true
}

// interval returns the time to the next probe of a target: Interval ±10%.
func (h *HealthChecker) interval() time.Duration {
	return time.Duration(float64(h.opts.Interval) * (0.9 + 0.2*h.jitter()))
}

// firstDelay returns the time to the first probe of a new target: within a tenth of the
// interval, so that many new targets do not all go at once.
func (h *HealthChecker) firstDelay() time.Duration {
	return time.Duration(float64(h.opts.Interval) * 0.1 * h.jitter())
}

// poke wakes Run to look at the queue again.
func (h *HealthChecker) poke() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}
