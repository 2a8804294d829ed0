package sync

import (
	"context"
	"errors"
	"runtime"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"

	"github.com/peerdns/peerdns/resolver"
)

// fakeClusters stands in for peer API servers: one fake clientset per host, and a heartbeat
// answer per host that tests change.
type fakeClusters struct {
	mu      gosync.Mutex
	clients map[string]*fake.Clientset
	pingErr map[string]error
}

func newFakeClusters() *fakeClusters {
	return &fakeClusters{clients: make(map[string]*fake.Clientset), pingErr: make(map[string]error)}
}

// add makes a cluster reachable as https://NAME with objs, and returns its spec.
func (f *fakeClusters) add(name string, objs ...*corev1.Service) (PeerSpec, *fake.Clientset) {
	c := fake.NewClientset()
	for _, o := range objs {
		if _, err := c.CoreV1().Services(o.Namespace).Create(context.Background(), o, metav1.CreateOptions{}); err != nil {
			panic(err)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clients["https://"+name] = c
	return PeerSpec{Name: name, Config: &rest.Config{Host: "https://" + name}, Hash: "1"}, c
}

func (f *fakeClusters) setPing(name string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pingErr["https://"+name] = err
}

func (f *fakeClusters) newClient(cfg *rest.Config) (*peerClient, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.clients[cfg.Host]
	if c == nil {
		return nil, errors.New("no fake cluster at " + cfg.Host)
	}
	return &peerClient{kube: c, close: func() {}, ping: func(context.Context) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.pingErr[cfg.Host]
	}}, nil
}

// runningSet is a PeerSet under Run, with a count of its signals.
type runningSet struct {
	*PeerSet
	signals atomic.Int64
}

// startSet runs a PeerSet over the fake clusters until the test ends, and checks then that
// every goroutine of it has ended.
func startSet(t testing.TB, f *fakeClusters, opts PeerOptions, specs ...PeerSpec) *runningSet {
	t.Helper()
	if opts.Heartbeat == 0 {
		opts.Heartbeat = 20 * time.Millisecond
	}
	s := &runningSet{PeerSet: NewPeerSet("kubeconfig", opts)}
	s.newClient = f.newClient
	s.SetPeers(specs)
	s.Discovered()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx, func() { s.signals.Add(1) })
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		checkNoPeerGoroutines(t)
	})
	return s
}

// checkNoPeerGoroutines fails t if a goroutine of a peer or of its informers is still running.
func checkNoPeerGoroutines(t testing.TB) {
	t.Helper()
	var stacks string
	waitFor(t, "the peers' goroutines to end", func() bool {
		buf := make([]byte, 1<<20)
		stacks = string(buf[:runtime.Stack(buf, true)])
		for g := range strings.SplitSeq(stacks, "\n\n") {
			if strings.Contains(g, "peerdns/sync.(*peer") || strings.Contains(g, "client-go/tools/cache.(*") {
				return false
			}
		}
		return true
	})
}

// cluster returns the set's cluster name, waiting until it exists and cond holds.
func (s *runningSet) wait(t testing.TB, name, what string, cond func(resolver.Cluster) bool) resolver.Cluster {
	t.Helper()
	var got resolver.Cluster
	waitFor(t, name+": "+what, func() bool {
		clusters, _ := s.Clusters()
		for _, c := range clusters {
			if c.Name == name {
				got = c
				return cond(c)
			}
		}
		return false
	})
	return got
}

func isState(st resolver.State) func(resolver.Cluster) bool {
	return func(c resolver.Cluster) bool { return c.State == st }
}

// hasServices reports whether a cluster serves exactly the services "ns/name", in order.
func hasServices(want ...string) func(resolver.Cluster) bool {
	return func(c resolver.Cluster) bool { return strings.Join(serviceKeys(c), " ") == strings.Join(want, " ") }
}

func serviceKeys(c resolver.Cluster) []string {
	var keys []string
	for _, s := range c.Services {
		keys = append(keys, s.Namespace+"/"+s.Name)
	}
	return keys
}

// svc is a Service with one port per "name:port" (name may be empty) and the given labels
// ("k=v" pairs).
func svc(ns, name string, ports []string, lbls ...string) *corev1.Service {
	s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{}}}
	for _, l := range lbls {
		k, v, _ := strings.Cut(l, "=")
		s.Labels[k] = v
	}
	for _, p := range ports {
		n, num, _ := strings.Cut(p, ":")
		var port int32
		for _, d := range num {
			port = port*10 + int32(d-'0')
		}
		s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: n, Port: port, Protocol: corev1.ProtocolTCP})
	}
	return s
}

// gatewaySvc is the default gateway Service with the given ingress ("ip" or "host:NAME").
func gatewaySvc(ingress ...string) *corev1.Service {
	s := svc(DefaultGatewayNamespace, DefaultGatewayName, []string{"tls:15443"})
	for _, in := range ingress {
		if h, ok := strings.CutPrefix(in, "host:"); ok {
			s.Status.LoadBalancer.Ingress = append(s.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{Hostname: h})
		} else {
			s.Status.LoadBalancer.Ingress = append(s.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{IP: in})
		}
	}
	return s
}

var defaultGateway = types.NamespacedName{Namespace: DefaultGatewayNamespace, Name: DefaultGatewayName}
