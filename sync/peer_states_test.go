package sync

import (
	"context"
	"slices"
	gosync "sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/peerdns/peerdns/resolver"
)

// A peer goes stale when its heartbeat fails, keeps its services with Updated frozen, is
// revoked after the grace period and comes back live after a fresh list.
func TestPeerStaleRevokedLive(t *testing.T) {
	f := newFakeClusters()
	spec, kube := f.add("east", gatewaySvc("203.0.113.7"), svc("shop", "web", nil))
	core, logs := observer.New(zap.InfoLevel)
	s := startSet(t, f, PeerOptions{StaleGrace: 300 * time.Millisecond, Log: zap.New(core)}, spec)
	live := s.wait(t, "east", "live", isState(resolver.Live))

	f.setPing("east", &netOpError{syscall.ECONNREFUSED})
	stale := s.wait(t, "east", "stale", isState(resolver.Stale))
	if !slices.Equal(serviceKeys(stale), []string{"shop/web"}) || stale.Updated.Before(live.Updated) {
		t.Errorf("stale east serves %v updated %v", serviceKeys(stale), stale.Updated)
	}
	revoked := s.wait(t, "east", "revoked", isState(resolver.Revoked))
	if len(revoked.Services) != 0 || !revoked.Updated.Equal(stale.Updated) {
		t.Errorf("revoked east serves %v, updated %v (stale: %v)", revoked.Services, revoked.Updated, stale.Updated)
	}

	// Changed while unreachable: the relist brings the change.
	if _, err := kube.CoreV1().Services("shop").Create(context.Background(), svc("shop", "api", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.setPing("east", nil)
	back := s.wait(t, "east", "live again", isState(resolver.Live))
	if !slices.Equal(serviceKeys(back), []string{"shop/api", "shop/web"}) {
		t.Errorf("live again with %v", serviceKeys(back))
	}
	for _, msg := range []string{"peer live", "peer stale", "peer revoked"} {
		if n := logs.FilterMessage(msg).Len(); n < 1 {
			t.Errorf("%q not logged", msg)
		}
	}
	if e := logs.FilterMessage("peer stale").All()[0]; e.ContextMap()["reason"] != "connection refused: is the API server down?" {
		t.Errorf("stale reason %v", e.ContextMap()["reason"])
	}
}

// netOpError is a dial error as the net package returns it.
type netOpError struct{ errno syscall.Errno }

func (e *netOpError) Error() string { return "dial tcp: " + e.errno.Error() }
func (e *netOpError) Unwrap() error { return e.errno }

// A peer whose credentials are refused stays syncing, says why once, and counts as settled.
func TestPeerUnauthorized(t *testing.T) {
	f := newFakeClusters()
	spec, kube := f.add("east", gatewaySvc("203.0.113.7"))
	var lists atomic.Int64
	kube.PrependReactor("list", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
		lists.Add(1)
		return true, nil, apierrors.NewUnauthorized("Unauthorized")
	})
	good, _ := f.add("west", gatewaySvc("203.0.113.8"), svc("shop", "web", nil))
	core, logs := observer.New(zap.InfoLevel)
	var mu gosync.Mutex
	var reported []error
	onError := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		reported = append(reported, err)
	}
	s := startSet(t, f, PeerOptions{Log: zap.New(core), OnError: onError}, spec, good)
	s.wait(t, "west", "live", isState(resolver.Live))
	waitFor(t, "ready", func() bool { _, ready := s.Clusters(); return ready })
	c := s.wait(t, "east", "syncing", isState(resolver.Syncing))
	if len(c.Services) != 0 {
		t.Errorf("syncing east serves %v", c.Services)
	}
	// Both informers (services, gateway) list, fail and retry: the message must not repeat.
	waitFor(t, "lists retried", func() bool { return lists.Load() >= 4 })
	msgs := logs.FilterMessage("peer cannot sync").All()
	if len(msgs) != 1 || msgs[0].ContextMap()["reason"] != "credentials rejected (401): token expired or revoked?" ||
		msgs[0].ContextMap()["peer"] != "east" {
		t.Errorf("cannot-sync lines: %v", msgs)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reported) != 1 {
		t.Errorf("%d errors reported, want 1: %v", len(reported), reported)
	}
}

// Heartbeats advance a live peer's Updated, and a signal carries it to the map, without events.
func TestPeerHeartbeatUpdates(t *testing.T) {
	f := newFakeClusters()
	spec, _ := f.add("east", gatewaySvc("203.0.113.7"), svc("shop", "web", nil))
	s := startSet(t, f, PeerOptions{}, spec)
	first := s.wait(t, "east", "live", isState(resolver.Live))
	signals := s.signals.Load()
	s.wait(t, "east", "updated by a heartbeat", func(c resolver.Cluster) bool { return c.Updated.After(first.Updated) })
	waitFor(t, "a signal", func() bool { return s.signals.Load() > signals })
	s.TakeChanges()
	s.wait(t, "east", "updated again", func(c resolver.Cluster) bool { return c.Updated.After(first.Updated.Add(50 * time.Millisecond)) })
	if oldest, ok := s.TakeChanges(); ok {
		t.Errorf("heartbeats counted as a change at %v", oldest)
	}
}

// A peer that could not list because its API server was down lists as soon as it answers again,
// with fresh informers rather than after their retries' backoff.
func TestPeerSyncsWhenReachable(t *testing.T) {
	f := newFakeClusters()
	spec, kube := f.add("east", gatewaySvc("203.0.113.7"), svc("shop", "web", nil))
	var down atomic.Bool
	down.Store(true)
	refused := &netOpError{syscall.ECONNREFUSED}
	kube.PrependReactor("list", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
		return down.Load(), nil, refused
	})
	f.setPing("east", refused)
	core, logs := observer.New(zap.InfoLevel)
	s := startSet(t, f, PeerOptions{Log: zap.New(core)}, spec)
	waitFor(t, "the cause logged", func() bool { return logs.FilterMessage("peer cannot sync").Len() > 0 })
	down.Store(false)
	f.setPing("east", nil)
	start := time.Now()
	s.wait(t, "east", "live", hasServices("shop/web"))
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("live %v after the server came back", took)
	}
	if n := logs.FilterMessage("peer cannot sync").Len(); n != 1 {
		t.Errorf("cause logged %d times, want once", n)
	}
}
