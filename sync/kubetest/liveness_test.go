package kubetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/peerdns/peerdns/resolver"
	peersync "github.com/peerdns/peerdns/sync"
)

// A peer whose API server dies goes stale within a heartbeat and keeps its services, is revoked
// after stale_grace, and is live again with current data once the server is back.
func TestPeerDiesAndComesBack(t *testing.T) {
	t.Parallel()
	south := killable(t)
	ns := newNamespace(t, south, "live-")
	gw := createGateway(t, south, nil, "203.0.113.7")
	createService(t, south, ns, "web", nil)
	core, logs := observer.New(zap.DebugLevel)
	const heartbeat, grace = 200 * time.Millisecond, 3 * time.Second
	set := startPeers(t, peersync.PeerOptions{
		Gateway: gw, Namespaces: []string{ns}, Heartbeat: heartbeat, StaleGrace: grace, Log: zap.New(core),
	}, south)
	waitCluster(t, set, "south", "live with web", serves(ns+"/web"))

	dying := time.Now() // the peer may notice before Kill returns
	south.Kill()
	killed := time.Now()
	t.Cleanup(func() {
		if t.Failed() {
			for _, e := range logs.All() {
				t.Logf("log at kill%+v: %s %v", e.Time.Sub(killed), e.Message, e.ContextMap())
			}
		}
	})
	stale := waitCluster(t, set, "south", "stale", inState(resolver.Stale))
	t.Logf("stale %v after the kill", time.Since(killed))
	if took := time.Since(killed); took > heartbeat+2*time.Second {
		t.Errorf("stale after %v, want within a heartbeat and its timeout", took)
	}
	if !slices.Equal(serviceKeys(stale), []string{ns + "/web"}) || len(stale.Gateway.Addresses) != 1 {
		t.Errorf("stale south serves %v via %v, want the last known", serviceKeys(stale), stale.Gateway.Addresses)
	}
	revoked := waitCluster(t, set, "south", "revoked", inState(resolver.Revoked))
	if took := time.Since(dying); took < grace {
		t.Errorf("revoked %v after the kill began, before stale_grace %v", took, grace)
	}
	if len(revoked.Services) != 0 || !revoked.Updated.Equal(stale.Updated) {
		t.Errorf("revoked south serves %v, updated %v (stale: %v)", serviceKeys(revoked), revoked.Updated, stale.Updated)
	}

	if err := south.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	createService(t, south, ns, "api", nil)
	back := waitCluster(t, set, "south", "live with web and api", serves(ns+"/api", ns+"/web"))
	if !back.Updated.After(stale.Updated) {
		t.Errorf("live again, updated %v, not after %v", back.Updated, stale.Updated)
	}
	wantLogs(t, logs, "peer stale", "peer revoked", "peer reachable again, relisting")
	if n := logs.FilterMessage("peer live").Len(); n != 2 {
		t.Errorf("%d 'peer live' lines, want 2", n)
	}
}

// wantLogs checks that each message was logged exactly once.
func wantLogs(t *testing.T, logs *observer.ObservedLogs, msgs ...string) {
	t.Helper()
	for _, msg := range msgs {
		if n := logs.FilterMessage(msg).Len(); n != 1 {
			t.Errorf("%q logged %d times, want once", msg, n)
		}
	}
}

// waitLog waits until msg was logged (about peer, unless peer is empty), and returns the
// line's reason.
func waitLog(t *testing.T, logs *observer.ObservedLogs, msg, peer string) string {
	t.Helper()
	var reason string
	waitFor(t, "a "+msg+" line about "+peer, func() bool {
		lines := logs.FilterMessage(msg)
		if peer != "" {
			lines = lines.FilterField(zap.String("peer", peer))
		}
		if all := lines.All(); len(all) > 0 {
			reason, _ = all[0].ContextMap()["reason"].(string)
			return true
		}
		return false
	})
	return reason
}
