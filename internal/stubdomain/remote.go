package stubdomain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"go.uber.org/zap"
	"k8s.io/client-go/kubernetes"

	"github.com/peerdns/peerdns/resolver"
	peersync "github.com/peerdns/peerdns/sync"
)

// Peers say where the peer clusters are, for remote namespaces.
type Peers struct {
	Kubeconfigs   []string             // files or folders of kubeconfigs, one peer per context
	RemoteSecrets string               // namespace of Istio remote secrets in the local cluster
	Local         kubernetes.Interface // the local cluster
	Log           *zap.Logger          // nil: nothing logged
}

// ErrNotReady is returned when some peers were not listed within the time allowed.
var ErrNotReady = errors.New("peers not ready")

// Remote watches the peers and the local cluster's namespaces with the sync package's sources,
// to tell which namespaces exist only in peers. Start it, wait for it, then read Namespaces.
type Remote struct {
	sources []peersync.Source // the peers' sources
	local   *peersync.LocalNamespaces
	signal  chan struct{} // buffered, one: a source changed
	cancel  context.CancelFunc
	wg      gosync.WaitGroup
}

// NewRemote makes the sources; it starts nothing.
func NewRemote(p Peers) (*Remote, error) {
	if len(p.Kubeconfigs) == 0 && p.RemoteSecrets == "" {
		return nil, errors.New("remote namespaces need peers: give --peers or --remote-secrets")
	}
	log := p.Log
	if log == nil {
		log = zap.NewNop()
	}
	opts := peersync.PeerOptions{Log: log}
	r := &Remote{signal: make(chan struct{}, 1)}
	for _, path := range p.Kubeconfigs {
		src, err := peersync.NewKubeconfig(path, opts)
		if err != nil {
			return nil, fmt.Errorf("--peers %s: %w", path, err)
		}
		r.sources = append(r.sources, src)
	}
	if p.RemoteSecrets != "" {
		r.sources = append(r.sources, peersync.NewRemoteSecrets(p.Local, p.RemoteSecrets, opts))
	}
	r.local = peersync.NewLocalNamespaces(p.Local, log)
	return r, nil
}

// Start runs every source until Stop.
func (r *Remote) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	for _, src := range append(slices.Clone(r.sources), peersync.Source(r.local)) {
		r.wg.Go(func() { src.Run(ctx, r.notify) })
	}
}

// Stop stops the sources and waits for them.
func (r *Remote) Stop() {
	if r.cancel != nil {
		r.cancel()
		r.wg.Wait()
	}
}

func (r *Remote) notify() {
	select {
	case r.signal <- struct{}{}:
	default:
	}
}

// Changed signals, coalesced, that the peers or the local namespaces may have changed.
func (r *Remote) Changed() <-chan struct{} { return r.signal }

// Wait returns when every source has listed once, or with an error wrapping ErrNotReady that
// names what was not ready when timeout passed.
func (r *Remote) Wait(ctx context.Context, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	poll := time.NewTicker(100 * time.Millisecond) // the signal is the caller's: poll the flags
	defer poll.Stop()
	for {
		if r.ready() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("after %v: %s: %w", timeout, strings.Join(r.waitingFor(), "; "), ErrNotReady)
		case <-poll.C:
		}
	}
}

func (r *Remote) ready() bool {
	if _, ok := r.local.Clusters(); !ok {
		return false
	}
	for _, src := range r.sources {
		if _, ok := src.Clusters(); !ok {
			return false
		}
	}
	return true
}

// waitingFor names the sources and peers that have not listed.
func (r *Remote) waitingFor() []string {
	var out []string
	if _, ok := r.local.Clusters(); !ok {
		out = append(out, "the local cluster's namespaces were not listed")
	}
	for _, src := range r.sources {
		clusters, ok := src.Clusters()
		if ok {
			continue
		}
		if names := notServing(clusters); len(names) > 0 {
			out = append(out, names...)
		} else {
			out = append(out, fmt.Sprintf("source %s has not found all its peers", src.Name()))
		}
	}
	return out
}

func notServing(clusters []resolver.Cluster) []string {
	var out []string
	for _, c := range clusters {
		if !c.State.Serving() {
			out = append(out, fmt.Sprintf("peer %s (%s) is %s", c.Name, c.Source, c.State))
		}
	}
	return out
}

// Namespaces returns the namespaces that peers export services in and the local cluster does
// not have, sorted. Peers not listed (syncing, revoked) are named in missing: what they export
// is unknown. Peers whose gateway has no address are named in notes: peerdns answers nothing
// for them, so their namespaces are not counted.
func (r *Remote) Namespaces() (remote, missing, notes []string) {
	local := r.local.Namespaces()
	seen := map[string]bool{}
	for _, src := range r.sources {
		clusters, _ := src.Clusters()
		missing = append(missing, notServing(clusters)...)
		for _, c := range clusters {
			if !c.State.Serving() {
				continue
			}
			if len(c.Gateway.Addresses) == 0 {
				notes = append(notes, fmt.Sprintf("peer %s (%s): its gateway has no address, its namespaces are not counted", c.Name, c.Source))
				continue
			}
			for _, s := range c.Services {
				if !seen[s.Namespace] && !slices.Contains(local, s.Namespace) {
					seen[s.Namespace] = true
					remote = append(remote, s.Namespace)
				}
			}
		}
	}
	slices.Sort(remote)
	return remote, missing, notes
}

// RemoteZones returns the stub domains of remote namespaces under clusterDomain.
func RemoteZones(namespaces []string, clusterDomain string) []string {
	zones := make([]string, len(namespaces))
	for i, ns := range namespaces {
		zones[i] = RemoteZone(ns, clusterDomain)
	}
	return zones
}
