package sync

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/peerdns/peerdns/resolver"
)

// The transitions of a peer's state, made by its goroutine (see peer).

// goLive makes the peer live on its current watch, which has just listed.
func (p *peer) goLive(ctx context.Context, t *peerTimers) {
	p.mu.Lock()
	w := p.w
	p.mu.Unlock()
	p.live.Store(w)
	p.refreshGateway(ctx)
	now := time.Now()
	p.confirmed.Store(now.UnixNano())
	p.mu.Lock()
	was := p.state
	p.state, p.staleSince, p.settled = resolver.Live, time.Time{}, true
	w.dirty.Store(true)
	p.buildLocked()
	n := len(p.services)
	p.mu.Unlock()
	t.disarm()
	p.cause = ""
	took := zap.Float64("took_seconds", now.Sub(w.started).Seconds())
	if was == resolver.Live {
		p.log.Debug("peer relisted", zap.Int("services", n), took)
	} else {
		p.log.Info("peer live", zap.Int("services", n), took)
	}
	p.set.noteChange(now)
	p.set.signal()
}

// onFailure handles a failed list or watch: a live peer goes stale at once for a definitive
// cause, and checks its API server for the others; a peer that is not live logs the cause.
func (p *peer) onFailure(ctx context.Context, client *peerClient, err error, t *peerTimers) {
	c := classify(err)
	switch {
	case p.currentState() != resolver.Live:
		p.failed(c, err)
	case c.definitive:
		p.goStale(c, err, t)
	default:
		p.ping(ctx, client, t)
	}
}

// onHeartbeat handles the answer to a heartbeat. A live peer goes stale when it fails, or when
// it fails twice in a row for a cause that may be a blip. A peer that is not live starts fresh
// informers when its API server answers again, rather than wait for their retries' backoff.
func (p *peer) onHeartbeat(ctx context.Context, client *peerClient, err error, t *peerTimers) {
	state := p.currentState()
	if err != nil {
		c := classify(err)
		switch {
		case state != resolver.Live:
			t.down = true
			p.failed(c, err)
		case c.blip && !t.rechecking:
			t.rechecking = true
			p.ping(ctx, client, t)
		default:
			p.goStale(c, err, t)
		}
		return
	}
	t.rechecking = false
	if p.live.Load() != nil {
		p.confirmed.Store(time.Now().UnixNano())
		p.set.touched.Store(true)
		return
	}
	if t.down || !p.hasWatch() {
		if state == resolver.Stale || state == resolver.Revoked {
			p.log.Info("peer reachable again, relisting")
		}
		p.stopWatch()
		p.startWatch(ctx, client)
	}
	t.down = false
}

// goStale stops the informers and keeps serving what they last listed.
func (p *peer) goStale(c peerCause, err error, t *peerTimers) {
	now := time.Now()
	p.live.Store(nil)
	p.mu.Lock()
	p.state, p.staleSince = resolver.Stale, now
	p.mu.Unlock()
	defer p.stopWatch() // after the map has the news: stopping waits for the informers
	t.arm(p.set.opts.StaleGrace)
	p.cause = c.msg
	p.log.Warn("peer stale", zap.String("reason", c.msg), zap.Error(err))
	p.set.opts.reportError(fmt.Errorf("peer %s stale: %s: %w", p.spec.Name, c.msg, err))
	p.set.noteChange(now)
	p.set.signal()
}

// revoke drops a stale peer's services from the map.
func (p *peer) revoke() {
	p.mu.Lock()
	if p.state != resolver.Stale {
		p.mu.Unlock()
		return
	}
	p.state = resolver.Revoked
	p.mu.Unlock()
	p.log.Warn("peer revoked", zap.String("reason",
		fmt.Sprintf("unreachable for %s (stale_grace), its services are no longer served", p.set.opts.StaleGrace)))
	p.set.noteChange(time.Now())
	p.set.signal()
}

// failed logs why a peer that is not live cannot list, once per distinct cause.
func (p *peer) failed(c peerCause, err error) {
	if c.definitive {
		p.mu.Lock()
		settled := p.settled
		p.settled = true
		p.mu.Unlock()
		if !settled {
			p.set.signal() // readiness may have changed
		}
	}
	if c.msg == p.cause {
		return
	}
	p.cause = c.msg
	p.log.Warn("peer cannot sync", zap.String("reason", c.msg), zap.Stringer("state", p.currentState()), zap.Error(err))
	p.set.opts.reportError(fmt.Errorf("peer %s: %s: %w", p.spec.Name, c.msg, err))
}

func (p *peer) currentState() resolver.State {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state
}

func (p *peer) hasWatch() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.w != nil
}

// graceLeft is how long an inherited stale state has left before revocation; 0 when not stale.
func (p *peer) graceLeft() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != resolver.Stale {
		return 0
	}
	return max(time.Until(p.staleSince.Add(p.set.opts.StaleGrace)), time.Nanosecond)
}
