package sync

import (
	"context"
	"net"
	gosync "sync"
	"time"

	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Client settings of a peer: a few informers and a heartbeat need few requests.
const (
	peerQPS         = 20
	peerBurst       = 40
	peerDialTimeout = 5 * time.Second
)

// peerClient is how a peer talks to its API server.
type peerClient struct {
	kube  kubernetes.Interface
	ping  func(ctx context.Context) error // GET /version
	close func()                          // closes the peer's connections
}

// newPeerClient builds a client from a peer's configuration, which it does not modify. The
// client has connections of its own, closed by close: a peer that stops or restarts leaves none
// behind.
func newPeerClient(cfg *rest.Config) (*peerClient, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = userAgent
	cfg.QPS, cfg.Burst = peerQPS, peerBurst
	conns := &connSet{conns: make(map[*trackedConn]struct{})}
	if cfg.Dial == nil {
		cfg.Dial = conns.dial
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	kube, err := kubernetes.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, err
	}
	rc := kube.CoreV1().RESTClient()
	return &peerClient{
		kube: kube,
		ping: func(ctx context.Context) error {
			// No retry: a heartbeat that fails is checked again by the peer, at once.
			return rc.Get().AbsPath("/version").MaxRetries(0).Do(ctx).Error()
		},
		close: func() {
			utilnet.CloseIdleConnectionsFor(hc.Transport)
			conns.closeAll()
		},
	}, nil
}

// connSet dials a peer's connections and keeps them, to close them all when the peer stops.
type connSet struct {
	mu     gosync.Mutex
	conns  map[*trackedConn]struct{}
	closed bool
}

func (s *connSet) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: peerDialTimeout, KeepAlive: 30 * time.Second}
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, set: s}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return nil, net.ErrClosed
	}
	s.conns[tc] = struct{}{}
	return tc, nil
}

func (s *connSet) closeAll() {
	s.mu.Lock()
	s.closed = true
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for c := range conns {
		c.Conn.Close()
	}
}

// trackedConn leaves its set when closed.
type trackedConn struct {
	net.Conn
	set *connSet
}

func (c *trackedConn) Close() error {
	c.set.mu.Lock()
	delete(c.set.conns, c)
	c.set.mu.Unlock()
	return c.Conn.Close()
}
