package sync

import (
	"context"
	gosync "sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/peerdns/peerdns/resolver"
)

// peer watches one peer cluster. Its goroutine (run) owns the state machine of SPEC section 3:
//
//	syncing ──listed──▶ live ──unreachable──▶ stale ──stale_grace──▶ revoked
//	                     ▲                      │                      │
//	                     └──reachable, relisted─┴──────────────────────┘
//
// The view (state, services, gateway) is read by Clusters under mu, from any goroutine.
type peer struct {
	spec   PeerSpec
	set    *PeerSet
	log    *zap.Logger
	hosts  *hostAddrs    // owned by run
	cause  string        // owned by run: the failure last logged
	signal chan struct{} // buffered, one: the gateway Service changed
	fails  chan error    // buffered, one: a list or watch failed; extra ones are dropped
	cancel context.CancelFunc
	wg     gosync.WaitGroup // run and its heartbeats

	// Owned by run: the gateway Service as last read from a live watch.
	gwInfo   gatewayInfo
	gwFound  bool // it exists
	gwRead   bool // it was read once
	gwWarned bool // "no address" was logged and still holds

	live      atomic.Pointer[peerWatch] // the watch whose events are changes; nil unless live
	confirmed atomic.Int64              // Updated, in Unix nanoseconds

	mu         gosync.Mutex
	state      resolver.State
	w          *peerWatch // the current watch; nil while stopped
	services   []resolver.Service
	gateway    resolver.Gateway
	locality   resolver.Locality
	staleSince time.Time
	settled    bool // listed once, or failed for a definitive cause (for readiness)
}

// newPeer returns a peer for spec that takes over what prev (a peer of the same name being
// restarted with new credentials) served, if any: its state, data and grace period continue.
func newPeer(s *PeerSet, spec PeerSpec, prev *peer) *peer {
	p := &peer{
		spec: spec, set: s, state: resolver.Syncing,
		log:    s.log.With(zap.String("peer", spec.Name), zap.String("source", spec.Source)),
		signal: make(chan struct{}, 1),
		fails:  make(chan error, 1),
	}
	p.hosts = newHostAddrs(s.opts.Lookup, p.log)
	if prev != nil {
		prev.mu.Lock()
		p.state, p.services, p.gateway, p.locality = prev.state, prev.services, prev.gateway, prev.locality
		p.staleSince, p.settled = prev.staleSince, prev.settled
		prev.mu.Unlock()
		p.confirmed.Store(prev.confirmed.Load())
	}
	return p
}

// start runs the peer until stop; the PeerSet's wg counts it.
func (p *peer) start(ctx context.Context, wg *gosync.WaitGroup) {
	ctx, p.cancel = context.WithCancel(ctx)
	wg.Go(func() {
		p.run(ctx)
		p.wg.Wait()
	})
}

// stop asks the peer to stop; it does not wait.
func (p *peer) stop() { p.cancel() }

// run is the peer's goroutine.
func (p *peer) run(ctx context.Context) {
	client, err := p.set.newClient(p.spec.Config)
	if err != nil {
		p.failed(peerCause{msg: "the configuration cannot be used: " + err.Error(), definitive: true}, err)
		<-ctx.Done()
		return
	}
	defer client.close()
	p.startWatch(ctx, client)
	defer p.stopWatch()
	t := newPeerTimers(p.set.opts, p.graceLeft())
	defer t.stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.syncedChan():
			p.goLive(ctx, t)
		case err := <-p.fails:
			p.onFailure(ctx, client, err, t)
		case <-t.heartbeat.C:
			p.ping(ctx, client, t)
		case err := <-t.pong:
			t.pinging = false
			p.onHeartbeat(ctx, client, err, t)
		case <-p.signal:
			if p.live.Load() != nil {
				p.refreshGateway(ctx)
			}
		case <-t.resolve.C:
			if p.hosts.refresh(ctx, nil) {
				p.setGateway()
			}
		case <-t.grace.C:
			p.revoke()
		}
	}
}

// syncedChan returns the current watch's synced channel until the peer is live on it.
func (p *peer) syncedChan() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.w == nil || p.live.Load() == p.w {
		return nil
	}
	return p.w.synced
}

// startWatch starts a fresh generation of informers.
func (p *peer) startWatch(ctx context.Context, client *peerClient) {
	var w *peerWatch
	w = newPeerWatch(client.kube, p.set.opts, p.set.rules, watchHooks{
		services: func() { p.event(w) },
		gateway:  p.gatewayChanged,
		failed:   p.watchFailed,
	})
	p.mu.Lock()
	p.w = w
	p.mu.Unlock()
	w.start(ctx)
}

// stopWatch stops the current informers, if any; the data served stays as it was.
func (p *peer) stopWatch() {
	p.live.Store(nil)
	p.mu.Lock()
	w := p.w
	p.w = nil
	p.mu.Unlock()
	if w != nil {
		start := time.Now()
		w.stop()
		p.log.Debug("peer informers stopped", zap.Float64("took_seconds", time.Since(start).Seconds()))
	}
}

// event is called by the informers for a change of an exported Service.
func (p *peer) event(w *peerWatch) {
	if p.live.Load() == w {
		now := time.Now()
		p.confirmed.Store(now.UnixNano())
		p.set.noteChange(now)
		p.set.signal()
	}
}

// gatewayChanged is called by the informers for a change of the gateway Service.
func (p *peer) gatewayChanged() {
	select {
	case p.signal <- struct{}{}:
	default:
	}
}

// watchFailed is called by the informers for a failed list or watch.
func (p *peer) watchFailed(err error) {
	select {
	case p.fails <- err:
	default:
	}
}
