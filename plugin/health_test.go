package plugin

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"

	peersync "github.com/peerdns/peerdns/sync"
)

func TestParseHealthCheck(t *testing.T) {
	for _, tc := range []struct {
		args              string
		interval, timeout time.Duration
	}{
		{"10s", 10 * time.Second, 0},
		{"1s 500ms", time.Second, 500 * time.Millisecond},
		{"1m 5s", time.Minute, 5 * time.Second},
	} {
		cfg, err := parse(caddy.NewTestController("dns", "peerdns {\n static a.yaml\n health_check "+tc.args+"\n}"))
		if err != nil {
			t.Fatalf("health_check %s: %v", tc.args, err)
		}
		if cfg.health.Interval != tc.interval || cfg.health.Timeout != tc.timeout {
			t.Errorf("health_check %s: interval %v timeout %v, want %v %v",
				tc.args, cfg.health.Interval, cfg.health.Timeout, tc.interval, tc.timeout)
		}
		h, err := newHealthChecker(cfg, nil)
		if err != nil || h == nil {
			t.Errorf("health_check %s: checker %v, error %v", tc.args, h, err)
		}
	}
	for _, tc := range []struct{ args, err string }{
		{"", "Testfile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'health_check'"},
		{"1s 500ms 2", "Testfile:3 - Error during parsing: Wrong argument count or unexpected line ending after '2'"},
		{"0s", `Testfile:3 - Error during parsing: health_check interval must be a positive duration such as 10s, not "0s"`},
		{"often", `Testfile:3 - Error during parsing: health_check interval must be a positive duration such as 10s, not "often"`},
		{"1s -1s", `Testfile:3 - Error during parsing: health_check timeout must be a positive duration such as 10s, not "-1s"`},
		{"1s 1s", "Testfile:3 - Error during parsing: health_check timeout 1s must be shorter than the interval 1s"},
		{"1s 2s", "Testfile:3 - Error during parsing: health_check timeout 2s must be shorter than the interval 1s"},
	} {
		_, err := parse(caddy.NewTestController("dns", "peerdns {\n static a.yaml\n health_check "+tc.args+"\n}"))
		if err == nil || err.Error() != tc.err {
			t.Errorf("health_check %s:\n got error %v\nwant %s", tc.args, err, tc.err)
		}
	}
}

func TestParseWithoutHealthCheck(t *testing.T) {
	cfg, err := parse(caddy.NewTestController("dns", "peerdns {\n static a.yaml\n}"))
	if err != nil {
		t.Fatal(err)
	}
	if h, err := newHealthChecker(cfg, nil); h != nil || err != nil {
		t.Errorf("no health_check: checker %v, error %v, want none", h, err)
	}
}

// The gateways gauge follows the peers of the last map: peers that leave lose their series.
func TestHealthMetrics(t *testing.T) {
	rep := metricsReporter{}
	rep.GatewayHealth([]peersync.PeerHealth{{Peer: "east", Up: 1, Down: 2}, {Peer: "west", Up: 3}})
	rep.FailOpen(4)
	want := map[string]float64{
		"gateways{east,up}": 1, "gateways{east,down}": 2, "gateways{west,up}": 3, "gateways{west,down}": 0,
		"fail_open_names{}": 4,
	}
	if got := healthValues(t); !maps.Equal(got, want) {
		t.Errorf("health metrics %v, want %v", got, want)
	}
	problems, err := promlint.NewWithMetricFamilies(gatherPeerDNS(t)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}

	rep.GatewayHealth([]peersync.PeerHealth{{Peer: "west", Up: 3}})
	delete(want, "gateways{east,up}")
	delete(want, "gateways{east,down}")
	if got := healthValues(t); !maps.Equal(got, want) {
		t.Errorf("after east left: health metrics %v, want %v", got, want)
	}
	rep.GatewayHealth(nil)
	rep.FailOpen(0)
}

// healthValues returns the health metrics as "name{label values}" → value.
func healthValues(t *testing.T) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, mf := range gatherPeerDNS(t) {
		name := strings.TrimPrefix(mf.GetName(), metricPrefix)
		if name != "gateways" && name != "fail_open_names" {
			continue
		}
		for _, m := range mf.GetMetric() {
			key := name + "{}"
			if name == "gateways" {
				key = name + "{" + labelValue(m, "peer") + "," + labelValue(m, "health") + "}"
			}
			out[key] = m.GetGauge().GetValue()
		}
	}
	return out
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
