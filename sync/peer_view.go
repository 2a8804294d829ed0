package sync

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/peerdns/peerdns/resolver"
)

// cluster returns what the peer puts in the map. Services and gateway addresses are the slices
// of the previous call while they did not change; new slices when they did.
func (p *peer) cluster() resolver.Cluster {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == resolver.Live && p.w != nil && p.live.Load() == p.w {
		p.buildLocked()
	}
	c := resolver.Cluster{
		Name: p.spec.Name, Source: p.spec.Source, State: p.state,
		Gateway: p.gateway, Locality: p.locality, Services: p.services,
	}
	if !p.state.Serving() {
		c.Services = nil
	}
	if n := p.confirmed.Load(); n != 0 {
		c.Updated = time.Unix(0, n)
	}
	return c
}

// buildLocked rebuilds the services from the current watch's cache, if they are dirty. The
// previous slice is kept when the content is the same.
func (p *peer) buildLocked() {
	if !p.w.dirty.Swap(false) {
		return
	}
	cached := p.w.cachedServices()
	svcs := make([]resolver.Service, len(cached))
	for i, c := range cached {
		svcs[i] = c.svc
	}
	slices.SortFunc(svcs, func(a, b resolver.Service) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
	if len(svcs) == 0 {
		svcs = nil
	}
	if !slices.EqualFunc(svcs, p.services, func(a, b resolver.Service) bool {
		return a.Name == b.Name && a.Namespace == b.Namespace && slices.Equal(a.Ports, b.Ports)
	}) {
		p.services = svcs
	}
}

// refreshGateway reads the gateway Service from the live watch, looks up hostnames that are
// new, and updates the gateway.
func (p *peer) refreshGateway(ctx context.Context) {
	w := p.live.Load()
	if w == nil {
		return
	}
	c := w.cachedGateway()
	p.gwInfo, p.gwFound, p.gwRead = gatewayInfo{}, c != nil, true
	if c != nil {
		p.gwInfo = c.info
	}
	if fresh := p.hosts.track(p.gwInfo.hostnames); len(fresh) > 0 {
		p.hosts.refresh(ctx, fresh)
	}
	p.setGateway()
}

// setGateway puts the gateway of the last read Service and the resolved hostnames in the view.
func (p *peer) setGateway() {
	g := p.hosts.gateway(p.gwInfo)
	p.mu.Lock()
	changed := !sameGateway(g, p.gateway) || p.locality != p.gwInfo.locality
	if changed {
		p.gateway, p.locality = g, p.gwInfo.locality
	}
	p.mu.Unlock()
	if p.gwRead {
		p.logGateway(len(g.Addresses) > 0)
	}
	if !changed {
		return
	}
	now := time.Now()
	if p.live.Load() != nil {
		p.confirmed.Store(now.UnixNano())
	}
	p.set.noteChange(now)
	p.set.signal()
}

// logGateway warns once when the gateway has no address (the peer serves nothing) and says
// when it has some again.
func (p *peer) logGateway(hasAddresses bool) {
	switch {
	case !hasAddresses && !p.gwWarned:
		p.gwWarned = true
		p.log.Warn("peer gateway has no address, its services are not served",
			zap.String("reason", p.noAddressReason()))
	case hasAddresses && p.gwWarned:
		p.gwWarned = false
		p.log.Info("peer gateway has addresses again")
	}
}

func (p *peer) noAddressReason() string {
	name := p.set.opts.Gateway.String()
	switch {
	case !p.gwFound:
		return "gateway Service " + name + " not found"
	case len(p.gwInfo.hostnames) > 0:
		return "gateway hostnames do not resolve: " + strings.Join(p.gwInfo.hostnames, ", ")
	}
	return "gateway Service " + name + " has no status.loadBalancer.ingress address"
}

// peerTimers are the timers of a peer's goroutine.
type peerTimers struct {
	heartbeat  *time.Ticker
	resolve    *time.Ticker
	grace      *time.Timer
	pong       chan error // buffered, one: the answer of the heartbeat in flight
	pinging    bool
	rechecking bool // the heartbeat in flight checks again after a failure that may be a blip
	down       bool // a heartbeat failed while the peer was not live
}

// newPeerTimers starts the tickers, and the grace timer if grace is positive.
func newPeerTimers(opts PeerOptions, grace time.Duration) *peerTimers {
	t := &peerTimers{
		heartbeat: time.NewTicker(opts.Heartbeat),
		resolve:   time.NewTicker(opts.Resolve),
		grace:     time.NewTimer(time.Hour),
		pong:      make(chan error, 1),
	}
	t.grace.Stop()
	if grace > 0 {
		t.grace.Reset(grace)
	}
	return t
}

func (t *peerTimers) arm(d time.Duration) { t.grace.Reset(d) }
func (t *peerTimers) disarm()             { t.grace.Stop() }

func (t *peerTimers) stop() {
	t.heartbeat.Stop()
	t.resolve.Stop()
	t.grace.Stop()
}

// ping asks the API server for /version, unless a heartbeat is in flight; the answer comes on
// t.pong.
func (p *peer) ping(ctx context.Context, client *peerClient, t *peerTimers) {
	if t.pinging {
		return
	}
	t.pinging = true
	p.wg.Go(func() {
		ctx, cancel := context.WithTimeout(ctx, p.set.opts.heartbeatTimeout())
		defer cancel()
		t.pong <- client.ping(ctx)
	})
}
