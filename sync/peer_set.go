package sync

import (
	"context"
	"maps"
	"slices"
	gosync "sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"k8s.io/client-go/rest"

	"github.com/peerdns/peerdns/resolver"
)

// PeerSet runs one peer per spec and is a Source: its clusters are the peers, in every state
// (the resolver serves only live and stale ones). The discovery that finds the peers (kubeconfig
// files, remote secrets) drives it with SetPeers and Discovered.
//
// Each peer watches its API server with informers (no resync): the Services it exports (SPEC
// section 5; the label selector and the namespace exclusions are applied by the API server, one
// informer per namespace when Namespaces is set) and the gateway Service (a field selector on its
// name). Their transforms turn each Service into the few values the map needs before it is
// cached. Events only mark the peer dirty and signal; its services are rebuilt from the cache
// when Clusters is next called, so many events close together make one rebuild.
//
// Every kind of Service is exported, headless and ExternalName ones included: peers are reached
// through their gateway, which routes by SNI or host name, never to a ClusterIP.
//
// A peer's cluster carries:
//   - State: syncing until its informers have listed, then live; stale when its API server stops
//     answering (a failed heartbeat, GET /version every Heartbeat; a list or watch that fails
//     makes it check at once) or refuses the credentials; revoked after StaleGrace; live again
//     once it answers and fresh informers have listed, so that answers are never older than
//     that list. A stale peer keeps serving what it last listed.
//   - Updated: when its data was last confirmed: an event, a list, or a heartbeat while live.
//     It is frozen while the peer is not live.
//   - Gateway: the IPs of the gateway Service's status.loadBalancer.ingress and the addresses
//     of its hostnames, looked up when they appear and every Resolve; Hostname is the first
//     hostname. Port is 15443 when the Service has Istio's SNI passthrough port (named "tls",
//     number 15443), which then carries every service; else 0, each service's own port. A
//     gateway without address (missing Service, no ingress yet, hostnames that do not resolve)
//     leaves the peer listed, in its state, serving nothing; it is logged once.
//   - Locality: the gateway Service's topology.kubernetes.io/region and zone labels.
//   - Services: sorted by namespace and name.
//
// Why a peer cannot list (wrong CA, credentials rejected, forbidden, unreachable) is logged once
// per distinct cause, naming the peer, and passed to OnError. Kubeconfig contents and tokens are
// never logged.
type PeerSet struct {
	source    string
	opts      PeerOptions
	rules     exportRules
	log       *zap.Logger
	newClient func(*rest.Config) (*peerClient, error)

	mu       gosync.Mutex
	specs    map[string]PeerSpec // the peers wanted
	peers    map[string]*peer    // the peers running
	rejected map[string]string   // spec name → why it was rejected, as logged
	ctx      context.Context     // Run's, while it runs
	wg       gosync.WaitGroup    // every peer's goroutine, stopping ones included

	changed atomic.Pointer[func()] // Run's; set before any peer starts

	discovered atomic.Bool
	ready      atomic.Bool // sticky: once ready, always ready
	touched    atomic.Bool // a heartbeat advanced a peer's Updated since the last signal

	chMu   gosync.Mutex
	oldest time.Time // the oldest change not yet taken
}

// NewPeerSet returns an empty set whose peers' clusters carry source (when their spec gives
// none). It starts nothing: Run does.
func NewPeerSet(source string, opts PeerOptions) *PeerSet {
	opts = opts.withDefaults()
	return &PeerSet{
		source: source, opts: opts, rules: newExportRules(opts),
		log:       opts.Log,
		newClient: newPeerClient,
		specs:     make(map[string]PeerSpec),
		peers:     make(map[string]*peer),
		rejected:  make(map[string]string),
	}
}

// Name returns the source given to NewPeerSet.
func (s *PeerSet) Name() string { return s.source }

// SetPeers replaces the set of peers: new ones start, removed ones stop (their services leave
// the map), ones whose Hash changed restart, carrying on what they served until they relist.
// A spec whose name is not a DNS label, that has no Config, or whose name was given before is
// rejected and logged once. Safe from any goroutine, before or after Run.
func (s *PeerSet) SetPeers(specs []PeerSpec) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.specs = s.validate(specs)
	if s.ctx != nil {
		s.apply()
	}
}

// validate returns the usable specs by name, logging each rejection once.
func (s *PeerSet) validate(specs []PeerSpec) map[string]PeerSpec {
	valid := make(map[string]PeerSpec, len(specs))
	rejected := make(map[string]string)
	for _, spec := range specs {
		var why string
		switch _, dup := valid[spec.Name]; {
		case !isLabel(spec.Name):
			why = "the name is not " + labelRule
		case spec.Config == nil:
			why = "no API server configuration"
		case dup:
			why = "the name is given twice, the first kept"
		default:
			if spec.Source == "" {
				spec.Source = s.source
			}
			valid[spec.Name] = spec
			continue
		}
		rejected[spec.Name] = why
		if s.rejected[spec.Name] != why {
			s.log.Error("peer rejected", zap.String("peer", spec.Name), zap.String("reason", why))
		}
	}
	s.rejected = rejected
	return valid
}

// apply starts, stops and restarts peers to match s.specs. s.mu is held.
func (s *PeerSet) apply() {
	changed := false
	for _, name := range slices.Sorted(maps.Keys(s.peers)) {
		p := s.peers[name]
		spec, wanted := s.specs[name]
		switch {
		case !wanted:
			p.stop()
			delete(s.peers, name)
			p.log.Info("peer removed")
		case spec.Hash != p.spec.Hash:
			p.stop()
			s.peers[name] = s.startPeer(spec, p)
			p.log.Info("peer credentials changed, restarting it")
		default:
			continue
		}
		changed = true
	}
	for _, name := range slices.Sorted(maps.Keys(s.specs)) {
		if s.peers[name] == nil {
			s.peers[name] = s.startPeer(s.specs[name], nil)
			s.peers[name].log.Info("peer added")
			changed = true
		}
	}
	if changed {
		s.noteChange(time.Now())
		s.signal()
	}
}

func (s *PeerSet) startPeer(spec PeerSpec, prev *peer) *peer {
	p := newPeer(s, spec, prev)
	p.start(s.ctx, &s.wg)
	return p
}

// Discovered marks that the discovery has delivered its first complete list: the set is ready
// once that is so and every peer has listed once (or failed for a definitive cause: wrong CA,
// credentials rejected, forbidden, unusable configuration).
func (s *PeerSet) Discovered() {
	s.discovered.Store(true)
	s.signal()
}

// TakeChanges returns the time of the oldest change not yet taken, and resets it: the syncer
// calls it before each build, for the event-to-answer delay.
func (s *PeerSet) TakeChanges() (oldest time.Time, ok bool) {
	s.chMu.Lock()
	defer s.chMu.Unlock()
	oldest, s.oldest = s.oldest, time.Time{}
	return oldest, !oldest.IsZero()
}

// noteChange records a change seen at t.
func (s *PeerSet) noteChange(t time.Time) {
	s.chMu.Lock()
	defer s.chMu.Unlock()
	if s.oldest.IsZero() || t.Before(s.oldest) {
		s.oldest = t
	}
}

// signal calls Run's changed, once Run has started.
func (s *PeerSet) signal() {
	if changed := s.changed.Load(); changed != nil {
		(*changed)()
	}
}

// Run starts the peers and runs them until ctx is done, then stops them and waits for every
// goroutine. It must be called once.
func (s *PeerSet) Run(ctx context.Context, changed func()) {
	s.changed.Store(&changed)
	s.mu.Lock()
	s.ctx = ctx
	s.apply()
	s.mu.Unlock()
	// Heartbeats advance the peers' Updated without a change: one signal per interval at
	// most carries them to the map.
	refresh := time.NewTicker(s.opts.Heartbeat)
	defer refresh.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-refresh.C:
			if s.touched.Swap(false) {
				changed()
			}
		}
	}
	s.mu.Lock()
	for _, p := range s.peers {
		p.stop()
	}
	s.ctx = nil
	s.mu.Unlock()
	s.wg.Wait()
}

// Clusters returns one cluster per peer, in every state, sorted by name, and whether the set is
// ready (see Discovered). The outer slice is new at each call; the services and addresses of a
// peer whose data did not change are the slices of the previous call.
func (s *PeerSet) Clusters() ([]resolver.Cluster, bool) {
	s.mu.Lock()
	peers := make([]*peer, 0, len(s.peers))
	for _, name := range slices.Sorted(maps.Keys(s.peers)) {
		peers = append(peers, s.peers[name])
	}
	settled := s.discovered.Load() && len(peers) == len(s.specs)
	s.mu.Unlock()
	out := make([]resolver.Cluster, len(peers))
	for i, p := range peers {
		out[i] = p.cluster()
		settled = settled && p.isSettled()
	}
	if settled {
		s.ready.Store(true)
	}
	return out, s.ready.Load()
}

func (p *peer) isSettled() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.settled
}
