package multicluster

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/peerdns/peerdns/test/e2e"
	"github.com/peerdns/peerdns/test/testbed"
)

// Deadlines. A change in a cluster reaches the answers well within settle; a killed API server
// is noticed, and a restarted one relisted, within revive.
const (
	settle     = 30 * time.Second
	revive     = 60 * time.Second
	staleGrace = 5 * time.Second
)

// setup is a test's server: its peers and the lines of its peerdns block.
type setup struct {
	blocks string             // the server block's keys; default "global:{port}"
	peers  []*testbed.Cluster // their identity kubeconfigs, in the folder {dir}/peers
	local  bool               // local_kubeconfig {dir}/local.yaml, the local cluster's identity
	extra  []string           // more lines of the peerdns block
	dir    string             // the server's folder; default a fresh one
	any    bool               // started even while it answers SERVFAIL
}

// start writes the kubeconfigs and the Corefile and starts peerdns; stale_grace is 5 s.
func start(t *testing.T, cfg setup) *e2e.Server {
	t.Helper()
	if cfg.dir == "" {
		cfg.dir = t.TempDir()
	}
	if cfg.blocks == "" {
		cfg.blocks = "global:{port}"
	}
	peers := filepath.Join(cfg.dir, "peers")
	for _, c := range cfg.peers {
		e2e.CopyFile(t, identity[c.Name], filepath.Join(peers, c.Name+".yaml"))
	}
	lines := []string{"kubeconfig {dir}/peers", "stale_grace " + staleGrace.String()}
	if cfg.local {
		e2e.CopyFile(t, identity[local.Name], filepath.Join(cfg.dir, "local.yaml"))
		lines = append(lines, "local_kubeconfig {dir}/local.yaml")
	}
	lines = append(lines, cfg.extra...)
	corefile := cfg.blocks + ` {
    bind 127.0.0.1
    peerdns {
        ` + strings.Join(lines, "\n        ") + `
    }
    errors
}
`
	return e2e.Start(t, corefile, e2e.Options{Dir: cfg.dir, AnyReply: cfg.any})
}

// want is a condition on a reply, with what it expects for failure messages.
type want struct {
	what string
	ok   func(r *e2e.Reply) bool
}

// addrs: NOERROR with exactly these A/AAAA addresses.
func addrs(ips ...string) want {
	slices.Sort(ips)
	return want{"NOERROR with addresses " + strings.Join(ips, ","), func(r *e2e.Reply) bool {
		return r.Status() == "NOERROR" && slices.Equal(e2e.Addrs(r.Answer()), ips)
	}}
}

// rcode: the reply's status, with no answer.
func rcode(status string) want {
	return want{status, func(r *e2e.Reply) bool {
		return r.Status() == status && len(r.Answer()) == 0
	}}
}

// txt: a TXT string of cluster's that matches pattern, such as `state=stale age=\d+s`.
func txt(cluster, pattern string) want {
	re := regexp.MustCompile(`^cluster=` + regexp.QuoteMeta(cluster) + ` .*` + pattern)
	return want{"a TXT string matching " + re.String(), func(r *e2e.Reply) bool {
		return r.Status() == "NOERROR" && slices.ContainsFunc(e2e.TXTs(r.Answer()), re.MatchString)
	}}
}

// await asks dig (name, type and dig's options in q) until the reply is as wanted, and returns
// it; the test fails with the last reply after within. The server's output is printed by the
// harness when the test fails.
func await(t *testing.T, s *e2e.Server, within time.Duration, w want, q ...string) *e2e.Reply {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r := s.Dig(t, q...)
		if w.ok(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("dig %s: not within %v: want %s; last reply:\n%s", strings.Join(q, " "), within, w.what, r.Raw())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// check asks dig once and fails the test unless the reply is as wanted.
func check(t *testing.T, s *e2e.Server, w want, q ...string) {
	t.Helper()
	if r := s.Dig(t, q...); !w.ok(r) {
		t.Errorf("dig %s: want %s; got:\n%s", strings.Join(q, " "), w.what, r.Raw())
	}
}

// awaitLog polls the server's output until a line matches every pattern, and returns the line.
func awaitLog(t *testing.T, s *e2e.Server, within time.Duration, patterns ...string) string {
	t.Helper()
	res := make([]*regexp.Regexp, len(patterns))
	for i, p := range patterns {
		res[i] = regexp.MustCompile(p)
	}
	deadline := time.Now().Add(within)
	for {
		for line := range strings.Lines(s.Output()) {
			if !slices.ContainsFunc(res, func(re *regexp.Regexp) bool { return !re.MatchString(line) }) {
				return strings.TrimSpace(line)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line matching all of %q within %v", patterns, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// srv: NOERROR with exactly these SRV records, as "PORT TARGET" (target fully qualified).
func srv(records ...string) want {
	slices.Sort(records)
	return want{"SRV records " + strings.Join(records, ", "), func(r *e2e.Reply) bool {
		var got []string
		for _, rr := range r.Answer() {
			if s, ok := rr.(*dns.SRV); ok {
				got = append(got, fmt.Sprintf("%d %s", s.Port, s.Target))
			}
		}
		slices.Sort(got)
		return r.Status() == "NOERROR" && slices.Equal(got, records)
	}}
}
