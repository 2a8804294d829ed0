package plugin

import (
	"context"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/peerdns/peerdns/resolver"
	peersync "github.com/peerdns/peerdns/sync"
)

// Every label value is bounded: servers and sources come from the Corefile, peers from the
// configured sources, types and results from the fixed lists below. Names of services,
// namespaces and addresses are never used as labels.
var (
	requestCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "requests_total",
		Help:      "Counter of queries seen by peerdns, by query type and result.",
	}, []string{"server", "type", "result"})

	snapshotGeneration = promauto.NewGauge(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "snapshot_generation",
		Help:      "Generation of the map being served; it is the serial of the zones' SOA.",
	})

	snapshotBuildDuration = promauto.NewHistogram(prometheus.HistogramOpts{
		Namespace:                   plugin.Namespace,
		Subsystem:                   subsystem,
		Name:                        "snapshot_build_duration_seconds",
		Help:                        "Time taken to build and publish a new map.",
		Buckets:                     prometheus.ExponentialBuckets(0.0001, 4, 10),
		NativeHistogramBucketFactor: plugin.NativeHistogramBucketFactor,
	})

	snapshotTimestamp = promauto.NewGauge(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "snapshot_timestamp_seconds",
		Help:      "Unix time at which the map being served was published.",
	})

	peerCount = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "peers",
		Help:      "Number of peer clusters in each sync state.",
	}, []string{"state"})

	peerServices = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "peer_services",
		Help:      "Number of services each peer cluster exports.",
	}, []string{"peer"})

	propagationDelay = promauto.NewHistogram(prometheus.HistogramOpts{
		Namespace:                   plugin.Namespace,
		Subsystem:                   subsystem,
		Name:                        "propagation_delay_seconds",
		Help:                        "Time from a change seen in a peer cluster to the map that answers with it.",
		Buckets:                     prometheus.ExponentialBuckets(0.001, 2.5, 12),
		NativeHistogramBucketFactor: plugin.NativeHistogramBucketFactor,
	})

	sourceErrors = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "source_errors_total",
		Help:      "Counter of failed reads of a source of the map, such as a broken edit of a static file.",
	}, []string{"source"})

	gatewayCount = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "gateways",
		Help:      "Number of gateway addresses of each serving peer cluster, by health check result (up or down); set with health_check only.",
	}, []string{"peer", "health"})

	failOpenNames = promauto.NewGauge(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "fail_open_names",
		Help:      "Number of service names answered with every gateway address because all of them fail health checks.",
	})
)

const subsystem = "peerdns"

// peerStates are the states the peers gauge always shows, zero when no peer is in them.
var peerStates = [...]resolver.State{resolver.Live, resolver.Stale, resolver.Syncing, resolver.Revoked}

func init() {
	for _, s := range peerStates {
		peerCount.WithLabelValues(s.String()).Set(0)
	}
}

// metricsReporter turns the sync's reports into metrics. It implements the sync's Reporter.
type metricsReporter struct{}

// Published records a newly served map.
func (metricsReporter) Published(gen uint64, took time.Duration, clusters []resolver.Cluster) {
	snapshotGeneration.Set(float64(gen))
	snapshotBuildDuration.Observe(took.Seconds())
	snapshotTimestamp.Set(float64(time.Now().UnixNano()) / 1e9)
	peerGauges.record(clusters)
}

// Propagated records the event-to-answer delay of a published map.
func (metricsReporter) Propagated(delay time.Duration) {
	propagationDelay.Observe(delay.Seconds())
}

// SourceError counts a failed read of a source; the sync logs it.
func (metricsReporter) SourceError(source string, _ error) {
	sourceErrors.WithLabelValues(source).Inc()
}

// GatewayHealth records the health of every serving peer's gateway addresses.
func (metricsReporter) GatewayHealth(peers []peersync.PeerHealth) {
	healthGauges.record(peers)
}

// FailOpen records the number of service names answered fail open.
func (metricsReporter) FailOpen(names int) {
	failOpenNames.Set(float64(names))
}

// healthGauges keeps the gateways gauge in line with the last published map, as peerGauges
// does for the per-peer gauges.
var healthGauges = &healthSeries{peers: map[string]bool{}}

type healthSeries struct {
	mu    sync.Mutex
	peers map[string]bool // peers that have gateways series
}

func (h *healthSeries) record(peers []peersync.PeerHealth) {
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := make(map[string]bool, len(peers))
	for _, p := range peers {
		gatewayCount.WithLabelValues(p.Peer, "up").Set(float64(p.Up))
		gatewayCount.WithLabelValues(p.Peer, "down").Set(float64(p.Down))
		seen[p.Peer] = true
	}
	for name := range h.peers {
		if !seen[name] {
			gatewayCount.DeletePartialMatch(prometheus.Labels{"peer": name})
		}
	}
	h.peers = seen
}

// peerGauges keeps the per-peer gauges in line with the last published map. It is shared by
// every peerdns instance of the process, like the metrics themselves: on a Corefile reload the
// new instance takes over the series of the old one, and peers that disappear lose theirs.
var peerGauges = &peerSeries{peers: map[string]bool{}}

type peerSeries struct {
	mu    sync.Mutex
	peers map[string]bool // peers that have a peer_services series
}

func (p *peerSeries) record(clusters []resolver.Cluster) {
	var states [len(peerStates)]int
	seen := make(map[string]bool, len(clusters))
	for _, c := range clusters {
		if int(c.State) < len(states) {
			states[c.State]++
		}
		seen[c.Name] = true
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range peerStates {
		peerCount.WithLabelValues(s.String()).Set(float64(states[s]))
	}
	for _, c := range clusters {
		peerServices.WithLabelValues(c.Name).Set(float64(len(c.Services)))
	}
	for name := range p.peers {
		if !seen[name] {
			peerServices.DeleteLabelValues(name)
		}
	}
	p.peers = seen
}

// The values of the result label: a resolver.Kind, or fallthrough for a name error handed to the
// next plugin.
const (
	resultNotAuth     = int(resolver.NotAuth)
	resultFallthrough = int(resolver.Refused) + 1
	numResults        = resultFallthrough + 1
)

var resultNames = func() (names [numResults]string) {
	for i := range resultFallthrough {
		names[i] = resolver.Kind(i).String()
	}
	names[resultFallthrough] = "fallthrough"
	return names
}()

// result returns the result label index of a lookup's kind.
func result(k resolver.Kind) int {
	if int(k) < resultFallthrough {
		return int(k)
	}
	return resultNotAuth
}

// typeNames are the values of the type label; every other query type counts as "other".
var typeNames = [...]string{"A", "AAAA", "SRV", "TXT", "SOA", "NS", "ANY", "other"}

func typeIndex(qtype uint16) int {
	switch qtype {
	case dns.TypeA:
		return 0
	case dns.TypeAAAA:
		return 1
	case dns.TypeSRV:
		return 2
	case dns.TypeTXT:
		return 3
	case dns.TypeSOA:
		return 4
	case dns.TypeNS:
		return 5
	case dns.TypeANY:
		return 6
	}
	return len(typeNames) - 1
}

// requestCounters hands out the requests_total counters of a handler without building label
// values per query: the counters of a server are looked up once and kept in a table, and the
// tables sit in a map that is copied on the rare write and read without a lock.
type requestCounters struct {
	tables atomic.Pointer[map[string]*counterTable]
	mu     sync.Mutex // serializes writers of tables
}

type counterTable [len(typeNames)][numResults]prometheus.Counter

// inc counts one query of type qtype with result res on the server that received it.
func (rc *requestCounters) inc(ctx context.Context, qtype uint16, res int) {
	server := serverAddr(ctx)
	var t *counterTable
	if m := rc.tables.Load(); m != nil {
		t = (*m)[server]
	}
	if t == nil {
		t = rc.add(server)
	}
	t[typeIndex(qtype)][res].Inc()
}

// add creates the counters of a server seen for the first time.
func (rc *requestCounters) add(server string) *counterTable {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	old := rc.tables.Load()
	if old != nil && (*old)[server] != nil {
		return (*old)[server]
	}
	t := new(counterTable)
	for i, typ := range typeNames {
		for j, res := range resultNames {
			t[i][j] = requestCount.WithLabelValues(server, typ, res)
		}
	}
	m := make(map[string]*counterTable, 1)
	if old != nil {
		maps.Copy(m, *old)
	}
	m[server] = t
	rc.tables.Store(&m)
	return t
}

// serverAddr returns the address of the CoreDNS server that received the query, such as
// "dns://:53", or "" outside a server.
func serverAddr(ctx context.Context) string {
	if s, ok := ctx.Value(dnsserver.Key{}).(*dnsserver.Server); ok && s != nil {
		return s.Addr
	}
	return ""
}
