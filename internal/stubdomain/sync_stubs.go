package stubdomain

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
)

// SyncParams are sync-stubs's flags.
type SyncParams struct {
	Target        Target
	ClusterDomain string
	Peers         Peers // Local and Log are taken from Env
	Timeout       time.Duration
	Watch         bool
	Resync        time.Duration // with Watch: sync this often even without a change; zero: never
	DryRun        bool
}

// Coalescing of changes in watch mode: a sync waits this long after a change for more. A failed
// one is tried again after retryAfter, doubled after each failure in a row up to maxRetryAfter.
const (
	settle        = 500 * time.Millisecond
	retryAfter    = 5 * time.Second
	maxRetryAfter = 5 * time.Minute
)

// SyncStubs makes the target's remote-namespace stub domains match the namespaces that exist
// only in peers: it adds the new ones and removes the ones peerdns added that are no longer
// remote. Other zones and the forward address stay as install left them. With Watch it keeps
// doing so, after every change of the peers or of the local namespaces, until ctx is done.
func SyncStubs(ctx context.Context, env *Env, p SyncParams) error {
	peers := p.Peers
	peers.Local, peers.Log = env.Client, env.Log
	r, err := NewRemote(peers)
	if err != nil {
		return err
	}
	r.Start()
	defer r.Stop()
	if !p.Watch {
		_, err := syncOnce(ctx, env, r, p, true)
		return err
	}
	if err := r.Wait(ctx, p.Timeout); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		env.Log.Warn("syncing with what there is", zap.Error(err))
	}
	return watch(ctx, env, r, p)
}

// watch syncs now and after every change until ctx is done. Changes that leave the list of
// remote namespaces as it was last synced (peer heartbeats, services added in known namespaces)
// cost no read of the ConfigMap. Every p.Resync it reads the ConfigMap regardless and puts back
// remote-namespace zones somebody else removed (a hand edit, a tool that rewrote the ConfigMap);
// a ConfigMap that is as it should be is not written. If peerdns's entries are gone altogether,
// each try fails with ErrNotInstalled, logged, until install is run again.
func watch(ctx context.Context, env *Env, r *Remote, p SyncParams) error {
	retry := time.NewTimer(0)
	defer retry.Stop()
	var resync <-chan time.Time
	if p.Resync > 0 {
		t := time.NewTicker(p.Resync)
		defer t.Stop()
		resync = t.C
	}
	var last []string // the remote namespaces last synced; nil: none yet
	backoff := retryAfter
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.Changed():
			if !sleep(ctx, settle) {
				return nil
			}
		case <-retry.C:
			last = nil
		case <-resync:
			last = nil
		}
		select { // changes during the settle time are part of this sync
		case <-r.Changed():
		default:
		}
		if remote, _, _ := r.Namespaces(); last != nil && slices.Equal(remote, last) {
			continue
		}
		synced, err := syncOnce(ctx, env, r, p, false)
		switch {
		case err != nil && ctx.Err() == nil:
			env.Log.Error("sync failed, trying again", zap.Error(err), zap.Duration("after", backoff))
			retry.Reset(backoff)
			backoff = min(2*backoff, maxRetryAfter)
			last = nil
		case err == nil:
			last, backoff = synced, retryAfter
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// syncOnce computes the remote namespaces, applies them and returns them (never nil on
// success). strict (one-shot) waits for every
// peer and refuses to sync without one of them; otherwise peers not listed are logged and the
// others' namespaces used (a stale peer keeps its last known services).
func syncOnce(ctx context.Context, env *Env, r *Remote, p SyncParams, strict bool) ([]string, error) {
	if strict {
		if err := r.Wait(ctx, p.Timeout); err != nil {
			return nil, fmt.Errorf("remote namespaces: %w", err)
		}
	}
	remote, missing, notes := r.Namespaces()
	if strict {
		env.note(notes...)
		if len(missing) > 0 {
			return nil, fmt.Errorf("remote namespaces: %s: %w", strings.Join(missing, "; "), ErrNotReady)
		}
	} else if len(missing) > 0 || len(notes) > 0 {
		env.Log.Warn("some peers not counted", zap.Strings("missing", missing), zap.Strings("notes", notes))
	}
	remoteZones := RemoteZones(remote, p.ClusterDomain)
	change := func(cur State) (*Spec, error) {
		if !cur.Installed {
			return nil, fmt.Errorf("%s: %w", p.Target.Ref(), ErrNotInstalled)
		}
		if cur.Server == "" {
			return nil, fmt.Errorf("%s: peerdns's entries give no forward address; run peerdnsctl install again", p.Target.Ref())
		}
		var zones []string
		for _, z := range cur.Zones {
			if !isRemoteZone(z, p.ClusterDomain) {
				zones = append(zones, z)
			}
		}
		for _, z := range remoteZones {
			if !slices.Contains(zones, z) {
				zones = append(zones, z)
			}
		}
		return &Spec{Zones: zones, Server: cur.Server}, nil
	}
	res, err := Apply(ctx, p.Target, change, env.options(p.DryRun))
	if err != nil {
		return nil, err
	}
	env.report(p.Target, res, p.DryRun, "remote namespaces synced: "+orNone(remote))
	if remote == nil {
		remote = []string{}
	}
	return remote, nil
}
