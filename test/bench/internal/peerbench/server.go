package peerbench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/miekg/dns"

	"github.com/peerdns/peerdns/internal/testnet"
)

// Build compiles cmd/peerdns of the module at root into dir and returns the binary's path.
func Build(root, dir string) (string, error) {
	bin := filepath.Join(dir, "peerdns")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/peerdns")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build cmd/peerdns: %w\n%s", err, out)
	}
	return bin, nil
}

// Server is one running peerdns process on 127.0.0.1.
type Server struct {
	Port        int // DNS, UDP and TCP
	MetricsPort int // the prometheus plugin
	Started     time.Time

	cmd  *exec.Cmd
	out  *buffer
	done chan struct{}
}

// Start writes corefile into dir, with "{port}", "{metrics}" and "{dir}" replaced, and starts
// bin with it. It returns at once; see WaitReady.
func Start(bin, dir, corefile string) (*Server, error) {
	ports, err := FreePorts(2)
	if err != nil {
		return nil, err
	}
	s := &Server{Port: ports[0], MetricsPort: ports[1], out: &buffer{}, done: make(chan struct{})}
	text := strings.NewReplacer("{port}", strconv.Itoa(s.Port), "{metrics}", strconv.Itoa(s.MetricsPort),
		"{dir}", dir).Replace(corefile)
	conf := filepath.Join(dir, "Corefile")
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return nil, err
	}
	s.cmd = exec.Command(bin, "-conf", conf)
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	s.Started = time.Now()
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	return s, nil
}

// Addr is the server's DNS address.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// MetricsURL is the address of the server's Prometheus metrics.
func (s *Server) MetricsURL() string {
	return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(s.MetricsPort)) + "/metrics"
}

// PID is the server's process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Output is what the server has written so far.
func (s *Server) Output() string { return s.out.String() }

// WaitReady polls until zone's SOA is answered with anything but SERVFAIL: the first complete
// map is served. It returns how long after Start that was.
func (s *Server) WaitReady(ctx context.Context, zone string) (time.Duration, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(zone), dns.TypeSOA)
	c := &dns.Client{Timeout: 250 * time.Millisecond}
	for {
		r, _, err := c.Exchange(m, s.Addr())
		if err == nil && r.Rcode != dns.RcodeServerFailure {
			return time.Since(s.Started), nil
		}
		select {
		case <-s.done:
			return 0, fmt.Errorf("peerdns exited: %v\n%s", s.cmd.ProcessState, s.Output())
		case <-ctx.Done():
			return 0, fmt.Errorf("peerdns not ready: %w\n%s", ctx.Err(), tail(s.Output(), 30))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Stop ends the server: SIGTERM, then SIGKILL after five seconds.
func (s *Server) Stop() {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// FreePorts returns n distinct ports free on 127.0.0.1 for both UDP and TCP.
func FreePorts(n int) ([]int, error) {
	var ports []int
	seen := map[int]bool{}
	for tries := 0; len(ports) < n; tries++ {
		if tries > 100 {
			return nil, errors.New("no free port on 127.0.0.1")
		}
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		u.Close()
		if err == nil {
			l.Close()
			if !seen[port] {
				seen[port] = true
				ports = append(ports, port)
			}
		}
	}
	return ports, nil
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// buffer holds a process's output while it runs.
type buffer = testnet.Buffer
