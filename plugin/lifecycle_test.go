package plugin

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/miekg/dns"
)

// startHandler sets up peerdns from a Corefile snippet, starts it as the server would, and stops
// it when the test ends.
func startHandler(t *testing.T, input string) *PeerDNS {
	t.Helper()
	c := caddy.NewTestController("dns", input)
	if err := setup(c); err != nil {
		t.Fatalf("setup: %v", err)
	}
	h := dnsserver.GetConfig(c).Plugin[0](nil).(*PeerDNS)
	if h.Ready() {
		t.Fatal("ready before startup: setup must not start the sync")
	}
	if err := h.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.stop() })
	return h
}

// eventually waits until cond holds, or fails after a deadline.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 10s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStartServesTheFile(t *testing.T) {
	path := writeFile(t, "peers.yaml", peersYAML)
	h := startHandler(t, "peerdns {\n static "+path+"\n ttl 7\n}")
	eventually(t, "ready", h.Ready)

	m := serve(t, h, "productcatalog.default.global.", dns.TypeA)
	if len(m.Answer) != 1 || m.Answer[0].String() != "productcatalog.default.global.\t7\tIN\tA\t203.0.113.7" {
		t.Errorf("answer %v, want the file's gateway with ttl 7", m.Answer)
	}
}

func TestReloads(t *testing.T) {
	path := writeFile(t, "peers.yaml", peersYAML)
	h := startHandler(t, "peerdns {\n static "+path+"\n}")
	eventually(t, "ready", h.Ready)
	gen := value(snapshotGeneration)

	// A good edit is served without a restart, under a new generation.
	edited := strings.ReplaceAll(peersYAML, "203.0.113.7", "203.0.113.8")
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, "edit served", func() bool {
		m := serve(t, h, "productcatalog.default.global.", dns.TypeA)
		return len(m.Answer) == 1 && strings.HasSuffix(m.Answer[0].String(), "203.0.113.8")
	})
	if got := value(snapshotGeneration); got <= gen {
		t.Errorf("snapshot_generation %v after an edit, want more than %v", got, gen)
	}

	// A broken edit is counted, and the previous map keeps being served.
	errs := value(sourceErrors.WithLabelValues("static"))
	if err := os.WriteFile(path, []byte("clusters: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, "broken edit counted", func() bool {
		return value(sourceErrors.WithLabelValues("static")) > errs
	})
	m := serve(t, h, "productcatalog.default.global.", dns.TypeA)
	if len(m.Answer) != 1 || !strings.HasSuffix(m.Answer[0].String(), "203.0.113.8") {
		t.Errorf("after a broken edit: answer %v, want the previous map's", m.Answer)
	}
}
