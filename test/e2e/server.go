package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/peerdns/peerdns/internal/testnet"
)

// startTimeout bounds how long a server may take to start and load its first map.
const startTimeout = 20 * time.Second

// server is one running peerdns process.
type server struct {
	port int         // DNS port on 127.0.0.1, UDP and TCP
	dir  string      // its working folder: Corefile, peers files
	out  *syncBuffer // everything it wrote to stdout and stderr
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
}

// serverOptions says how to start a server.
type serverOptions struct {
	dir      string // folder of the Corefile and the test's files; default a fresh temporary one
	cwd      string // the server's working folder; default dir
	zone     string // a zone it serves, queried for readiness; default "global."
	anyReply bool   // ready at any reply, even SERVFAIL (a map that is not complete yet)
	port     int    // the DNS port; zero: a free one
}

// startServer writes corefile (with "{port}" and "{dir}" replaced by the DNS port and the working
// folder) and starts peerdns with it. It returns once the server answers an SOA query for the
// zone, and stops the server when the test ends, printing its output if the test failed.
func startServer(t *testing.T, corefile string, opt serverOptions) *server {
	t.Helper()
	if opt.dir == "" {
		opt.dir = t.TempDir()
	}
	if opt.zone == "" {
		opt.zone = "global."
	}
	var err error
	for range 3 { // another process may take the free port before the server binds it
		var s *server
		if s, err = launch(t, corefile, opt); err != nil {
			t.Fatal(err)
		}
		if err = s.waitReady(opt.zone, opt.anyReply); err == nil {
			return s
		}
		if opt.port != 0 || !strings.Contains(s.out.String(), "address already in use") {
			break
		}
	}
	t.Fatal(err)
	return nil
}

func launch(t *testing.T, corefile string, opt serverOptions) (*server, error) {
	s := &server{port: opt.port, dir: opt.dir, out: &syncBuffer{}, done: make(chan struct{})}
	if s.port == 0 {
		s.port = freePort(t)
	}
	text := strings.NewReplacer("{port}", strconv.Itoa(s.port), "{dir}", opt.dir).Replace(corefile)
	conf := filepath.Join(opt.dir, "Corefile")
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return nil, err
	}
	s.cmd = exec.Command(peerdns(t), "-conf", conf)
	s.cmd.Dir = opt.cwd
	if s.cmd.Dir == "" {
		s.cmd.Dir = opt.dir
	}
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start peerdns: %w", err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("peerdns on port %d, Corefile:\n%s\noutput:\n%s", s.port, text, s.out)
		}
	})
	return s, nil
}

// waitReady polls the server until it answers an SOA query for zone with anything but SERVFAIL
// (or with anything at all when anyReply is set).
func (s *server) waitReady(zone string, anyReply bool) error {
	c := &dns.Client{Timeout: 250 * time.Millisecond}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(zone), dns.TypeSOA)
	addr := s.addr()
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("peerdns exited during startup: %v\n%s", s.cmd.ProcessState, s.out)
		default:
		}
		r, _, err := c.Exchange(m, addr)
		if err == nil && (anyReply || r.Rcode != dns.RcodeServerFailure) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("peerdns did not answer %s SOA within %v\n%s", zone, startTimeout, s.out)
}

func (s *server) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// alive reports whether the process is still running.
func (s *server) alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// stop ends the process: SIGTERM, then SIGKILL if it lingers.
func (s *server) stop() {
	if !s.alive() {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// writeFile writes a file into the server's folder and returns its path.
func (s *server) writeFile(t *testing.T, name, content string) string {
	t.Helper()
	return writeFile(t, s.dir, name, content)
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// freePort returns a port that is free on 127.0.0.1 for both UDP and TCP.
func freePort(t *testing.T) int {
	t.Helper()
	port, err := testnet.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// syncBuffer holds a process's output while it runs.
type syncBuffer = testnet.Buffer
