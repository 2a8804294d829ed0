package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/miekg/dns"
)

// The exported surface of the harness, for end-to-end tests in other packages: build the server
// once in TestMain with Prepare, then start it per test with Start and question it with dig.

// Prepare finds dig and builds cmd/peerdns into dir. Call it once from TestMain, before m.Run;
// its error says how to get what is missing.
func Prepare(dir string) error { return prepare(dir) }

// BuildCtl builds cmd/peerdnsctl into dir and returns its path. It needs no Prepare (nor dig).
func BuildCtl(dir string) (string, error) {
	root, err := findRoot()
	if err != nil {
		return "", err
	}
	return build(root, dir, "peerdnsctl")
}

// Server is one running peerdns process, stopped when the test that started it ends.
type Server = server

// Reply is dig's output, parsed.
type Reply = reply

// Options say how to start a Server. The zero value works.
type Options struct {
	Dir      string // folder of the Corefile and the test's files ("{dir}"); default a fresh one
	Zone     string // a zone the server serves, queried for readiness; default "global."
	AnyReply bool   // ready at any reply, SERVFAIL included (a map that is not complete yet)
	// Port is the DNS port; zero: a free one. A test gives one when the Corefile was written
	// for a port already (by a tool under test, say) and "{port}" cannot stand in for it.
	Port int
}

// Start writes corefile, with "{port}" and "{dir}" replaced, and starts peerdns with it. It
// returns once the server answers an SOA query for the zone; the server's output is printed if
// the test fails.
func Start(t *testing.T, corefile string, opt Options) *Server {
	t.Helper()
	return startServer(t, corefile, serverOptions{dir: opt.Dir, zone: opt.Zone, anyReply: opt.AnyReply, port: opt.Port})
}

// Dig runs the real dig against the server (one try, two seconds) with dig's own arguments.
func (s *server) Dig(t *testing.T, args ...string) *Reply {
	t.Helper()
	return s.dig(t, args...)
}

// DigAt runs the real dig, like Server.Dig, against any DNS server on 127.0.0.1:port: a
// forwarder in front of peerdns, say.
func DigAt(t *testing.T, port int, args ...string) *Reply {
	t.Helper()
	return digAt(t, port, args...)
}

// Output is everything the server wrote to stdout and stderr so far.
func (s *server) Output() string { return s.out.String() }

// Dir is the server's folder, "{dir}" in its Corefile.
func (s *server) Dir() string { return s.dir }

// Addr is the server's DNS address, 127.0.0.1:PORT.
func (s *server) Addr() string { return s.addr() }

// Port is the server's DNS port on 127.0.0.1.
func (s *server) Port() int { return s.port }

// PID is the server's process id.
func (s *server) PID() int { return s.cmd.Process.Pid }

// Stop ends the server (SIGTERM, then SIGKILL) and waits for it to exit.
func (s *server) Stop() { s.stop() }

// Status is the reply's rcode: NOERROR, NXDOMAIN, REFUSED, SERVFAIL...
func (r *reply) Status() string { return r.status }

// Answer is the answer section.
func (r *reply) Answer() []dns.RR { return r.answer }

// Authority is the authority section.
func (r *reply) Authority() []dns.RR { return r.authority }

// Additional is the additional section, without the OPT record.
func (r *reply) Additional() []dns.RR { return r.additional }

// Flag reports whether a header flag (qr, aa, tc, ...) is set.
func (r *reply) Flag(name string) bool { return r.flags[name] }

// Raw is dig's output as printed, for failure messages.
func (r *reply) Raw() string { return r.raw }

// Addrs returns the A and AAAA addresses among rrs, sorted.
func Addrs(rrs []dns.RR) []string { return addrs(rrs) }

// TXTs returns every string of every TXT record among rrs.
func TXTs(rrs []dns.RR) []string { return txts(rrs) }

// Alive reports whether the server's process is still running.
func (s *server) Alive() bool { return s.alive() }

// CopyFile copies a file (a kubeconfig into a server's folder, say), making the target's folder
// with it; permissions 0600, as kubeconfigs hold tokens.
func CopyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err == nil {
		err = os.MkdirAll(filepath.Dir(to), 0o755)
	}
	if err == nil {
		err = os.WriteFile(to, data, 0o600)
	}
	if err != nil {
		t.Fatal(err)
	}
}
