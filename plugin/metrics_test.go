package plugin

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"

	"github.com/peerdns/peerdns/resolver"
	peersync "github.com/peerdns/peerdns/sync"
)

const metricPrefix = "coredns_peerdns_"

// gatherPeerDNS returns the metric families of peerdns from the default registry.
func gatherPeerDNS(t *testing.T) []*dto.MetricFamily {
	t.Helper()
	all, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var mfs []*dto.MetricFamily
	for _, mf := range all {
		if strings.HasPrefix(mf.GetName(), metricPrefix) {
			mfs = append(mfs, mf)
		}
	}
	return mfs
}

func TestMetricsLint(t *testing.T) {
	rep := metricsReporter{}
	rep.Published(3, 40*time.Millisecond, testClusters())
	rep.SourceError("static", errors.New("broken"))
	rep.Propagated(25 * time.Millisecond)
	rep.GatewayHealth([]peersync.PeerHealth{{Peer: "east", Up: 1, Down: 1}})
	rep.FailOpen(0)
	defer rep.GatewayHealth(nil)
	h, _ := newTestHandler(t, testClusters())
	serve(t, h, "productcatalog.default.global.", dns.TypeA)

	mfs := gatherPeerDNS(t)
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	all := []string{"requests_total", "snapshot_generation", "snapshot_build_duration_seconds",
		"snapshot_timestamp_seconds", "peers", "peer_services", "propagation_delay_seconds",
		"source_errors_total", "gateways", "fail_open_names"}
	for _, want := range all {
		if !names[metricPrefix+want] {
			t.Errorf("metric %s%s not exported", metricPrefix, want)
		}
		if !strings.Contains(string(readme), "`"+metricPrefix+want+"`") && !strings.Contains(string(readme), "`"+metricPrefix+want+"{") {
			t.Errorf("metric %s%s not in plugin/README.md", metricPrefix, want)
		}
	}
	if len(names) != len(all) {
		t.Errorf("%d metrics exported, %d checked: add the new ones to this test and the README", len(names), len(all))
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

// serve asks h one question on a server listening at dns://:1053.
func serve(t testing.TB, h *PeerDNS, qname string, qtype uint16) *dns.Msg {
	t.Helper()
	ctx := context.WithValue(context.Background(), dnsserver.Key{}, &dnsserver.Server{Addr: "dns://:1053"})
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	if _, err := h.ServeDNS(ctx, rec, test.Case{Qname: qname, Qtype: qtype}.Msg()); err != nil {
		t.Fatal(err)
	}
	return rec.Msg
}

func TestRequestsCounted(t *testing.T) {
	h, _ := newTestHandler(t, testClusters())
	h.Fall.SetZonesFromArgs([]string{"fall.global."})
	cases := []struct {
		qname       string
		qtype       uint16
		typ, result string
	}{
		{"productcatalog.default.global.", dns.TypeA, "A", "success"},
		{"ledger.bank.global.", dns.TypeAAAA, "AAAA", "nodata"},
		{"nothere.global.", dns.TypeTXT, "TXT", "nxdomain"},
		{"x.fall.global.", dns.TypeSRV, "SRV", "fallthrough"},
		{"example.org.", dns.TypeMX, "other", "notauth"},
		{"global.", dns.TypeAXFR, "other", "refused"},
		{"global.", dns.TypeANY, "ANY", "success"},
	}
	for _, tc := range cases {
		c := requestCount.WithLabelValues("dns://:1053", tc.typ, tc.result)
		before := value(c)
		serve(t, h, tc.qname, tc.qtype)
		if got := value(c) - before; got != 1 {
			t.Errorf("%s %s: requests_total{type=%q,result=%q} grew by %v, want 1",
				tc.qname, dns.TypeToString[tc.qtype], tc.typ, tc.result, got)
		}
	}
}

func TestRequestsNotReady(t *testing.T) {
	h, _ := newTestHandler(t, nil)
	c := requestCount.WithLabelValues("dns://:1053", "A", "notready")
	before := value(c)
	serve(t, h, "productcatalog.default.global.", dns.TypeA)
	if got := value(c) - before; got != 1 {
		t.Errorf("notready grew by %v, want 1", got)
	}
}

func TestReporterPeers(t *testing.T) {
	rep := metricsReporter{}
	clusters := testClusters()
	clusters = append(clusters, resolver.Cluster{Name: "south", State: resolver.Stale,
		Services: make([]resolver.Service, 3)})
	rep.Published(7, time.Second, clusters)

	if got := value(snapshotGeneration); got != 7 {
		t.Errorf("snapshot_generation %v, want 7", got)
	}
	if ts := value(snapshotTimestamp); time.Since(time.Unix(int64(ts), 0)) > time.Minute {
		t.Errorf("snapshot_timestamp_seconds %v is not now", ts)
	}
	wantStates := map[string]float64{"live": 2, "stale": 1, "syncing": 0, "revoked": 0}
	for state, want := range wantStates {
		if got := value(peerCount.WithLabelValues(state)); got != want {
			t.Errorf("peers{state=%q} = %v, want %v", state, got, want)
		}
	}
	if got := value(peerServices.WithLabelValues("south")); got != 3 {
		t.Errorf("peer_services{peer=south} = %v, want 3", got)
	}

	rep.Published(8, time.Second, testClusters())
	if n := count(peerServices); n != 2 {
		t.Errorf("%d peer_services series after south left, want 2", n)
	}
	if got := value(peerCount.WithLabelValues("stale")); got != 0 {
		t.Errorf("peers{state=stale} = %v after south left, want 0", got)
	}
}

func TestSourceErrorsCounted(t *testing.T) {
	c := sourceErrors.WithLabelValues("static")
	before := value(c)
	metricsReporter{}.SourceError("static", errors.New("peers.yaml:3: unknown key"))
	if got := value(c) - before; got != 1 {
		t.Errorf("source_errors_total grew by %v, want 1", got)
	}
}

func TestRequestCountersDoNotAllocate(t *testing.T) {
	var rc requestCounters
	ctx := context.WithValue(context.Background(), dnsserver.Key{}, &dnsserver.Server{Addr: "dns://:1053"})
	rc.inc(ctx, dns.TypeA, int(resolver.Success))
	if n := testing.AllocsPerRun(100, func() { rc.inc(ctx, dns.TypeA, int(resolver.Success)) }); n != 0 {
		t.Errorf("counting a request allocates %v times", n)
	}
}

func BenchmarkRequestCounters(b *testing.B) {
	ctx := context.WithValue(context.Background(), dnsserver.Key{}, &dnsserver.Server{Addr: "dns://:1053"})
	b.Run("table", func(b *testing.B) {
		var rc requestCounters
		b.ReportAllocs()
		for b.Loop() {
			rc.inc(ctx, dns.TypeA, int(resolver.Success))
		}
	})
	b.Run("WithLabelValues", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			requestCount.WithLabelValues(serverAddr(ctx), "A", "success").Inc()
		}
	})
}

// value reads the value of a collector of one counter or gauge. (client_golang's testutil has
// the same helper, but its dependencies are not in this module's go.sum.)
func value(c prometheus.Collector) float64 {
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	close(ch)
	var m dto.Metric
	if err := (<-ch).Write(&m); err != nil {
		panic(err)
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

// count returns how many series c collects.
func count(c prometheus.Collector) int {
	ch := make(chan prometheus.Metric)
	go func() { c.Collect(ch); close(ch) }()
	n := 0
	for range ch {
		n++
	}
	return n
}
