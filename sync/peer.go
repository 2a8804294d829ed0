package sync

import (
	"context"
	"net"
	"net/netip"
	"time"

	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
)

// The label that takes a Service out of the map whatever the other options say (SPEC section 5).
const (
	ExportLabel    = "peerdns.io/export"
	exportDisabled = "false"
)

// The labels of a gateway Service that give its cluster's locality.
const (
	RegionLabel = "topology.kubernetes.io/region"
	ZoneLabel   = "topology.kubernetes.io/zone"
)

// Istio's multi-network gateway takes traffic for every service on one port, named "tls", that
// passes TLS through by SNI. A gateway Service with that port makes it the cluster's fixed port.
const (
	sniPortName = "tls"
	sniPort     = 15443
)

// Defaults of PeerOptions.
const (
	DefaultGatewayNamespace = "istio-system"
	DefaultGatewayName      = "istio-ingressgateway"
	DefaultPeerStaleGrace   = 5 * time.Minute
	DefaultHeartbeat        = 5 * time.Second
	DefaultPeerResolve      = 30 * time.Second
)

// systemNamespaces are never exported unless Namespaces names them.
var systemNamespaces = []string{"kube-system", "kube-public", "kube-node-lease"}

// PeerSpec is one peer cluster to watch, as a discovery (kubeconfig files, remote secrets)
// found it.
type PeerSpec struct {
	Name   string       // cluster name: a DNS label; others are rejected with a logged error
	Source string       // "kubeconfig" or "remote_secret": shown in TXT answers and logs
	Config *rest.Config // how to reach its API server; never modified
	Hash   string       // identity of the credentials: when it changes, the peer is restarted
}

// PeerOptions apply to every peer of a set. The zero value of every field works.
type PeerOptions struct {
	// Gateway is the peers' gateway Service; zero: istio-system/istio-ingressgateway.
	Gateway types.NamespacedName
	// ExportSelector switches export to opt-in: only Services matching it. Nil: every Service.
	// A Service labelled peerdns.io/export=false is left out either way.
	ExportSelector labels.Selector
	// Namespaces limits export to these namespaces, exactly as given (a system namespace or the
	// gateway's included, when named). Empty: every namespace but kube-system, kube-public,
	// kube-node-lease and the gateway's.
	Namespaces []string
	// StaleGrace is how long an unreachable peer's services are still served; zero: 5m.
	StaleGrace time.Duration
	// Heartbeat is how often a peer's API server is asked for /version; zero: 5s.
	Heartbeat time.Duration
	// Resolve is how often gateway hostnames are looked up again; zero: 30s.
	Resolve time.Duration
	// Lookup resolves gateway hostnames; nil: net.DefaultResolver.
	Lookup func(ctx context.Context, host string) ([]netip.Addr, error)
	// OnError is called once per distinct failure: a kubeconfig file that cannot be used, a
	// peer that cannot list (wrong CA, credentials rejected, forbidden). The plugin wires it to
	// the Syncer's Reporter with ReportErrors. Nil: errors are only logged.
	OnError func(error)
	// Log receives one line per peer state change, with the reason; nil: zap.NewNop().
	Log *zap.Logger
}

// withDefaults returns opts with every zero field set to its default.
func (opts PeerOptions) withDefaults() PeerOptions {
	if opts.Gateway.Name == "" {
		opts.Gateway.Name = DefaultGatewayName
	}
	if opts.Gateway.Namespace == "" {
		opts.Gateway.Namespace = DefaultGatewayNamespace
	}
	if opts.StaleGrace <= 0 {
		opts.StaleGrace = DefaultPeerStaleGrace
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = DefaultHeartbeat
	}
	if opts.Resolve <= 0 {
		opts.Resolve = DefaultPeerResolve
	}
	if opts.Lookup == nil {
		opts.Lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	return opts
}

// heartbeatTimeout bounds one heartbeat: the interval, within one to three seconds.
func (opts PeerOptions) heartbeatTimeout() time.Duration {
	return min(max(opts.Heartbeat, time.Second), 3*time.Second)
}

// reportError passes err to OnError, if set.
func (opts PeerOptions) reportError(err error) {
	if opts.OnError != nil {
		opts.OnError(err)
	}
}
