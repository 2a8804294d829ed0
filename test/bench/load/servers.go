package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/miekg/dns"

	"github.com/peerdns/peerdns/internal/testmap"
)

// chain is the plugin chain every CoreDNS server block runs, around the plugin under test:
// errors only, so that what is compared is the data plugin and CoreDNS's server loop, not
// logging (log), caching (cache) or metrics (prometheus). bind is configuration, not a handler.
const chain = "errors"

// serverKind describes one of the servers compared.
type serverKind struct {
	name  string
	title string
	// noSRV: the server cannot hold SRV records (CoreDNS hosts), so the SRV mix is not run.
	noSRV bool
	// config writes the server's configuration into dir and returns the command that runs it.
	config func(dir string, d *dataset, port int, extra string) ([]string, error)
	// goRuntime: a Go program, run with GOMAXPROCS=1.
	goRuntime bool
}

var serverKinds = []serverKind{
	{name: "peerdns", title: "peerdns", config: peerdnsConfig, goRuntime: true},
	{name: "hosts", title: "CoreDNS hosts", noSRV: true, config: hostsConfig, goRuntime: true},
	{name: "file", title: "CoreDNS file", config: fileConfig, goRuntime: true},
	{name: "knot", title: "Knot DNS", config: knotConfig},
}

func serverNames() []string {
	out := make([]string, len(serverKinds))
	for i, s := range serverKinds {
		out[i] = s.name
	}
	return out
}

func serverByName(name string) *serverKind {
	for i := range serverKinds {
		if serverKinds[i].name == name {
			return &serverKinds[i]
		}
	}
	return nil
}

// corefile is a server block for the zone on 127.0.0.1:port with the common chain and body.
func corefile(port int, body, extra string) string {
	return fmt.Sprintf("%s:%d {\n    bind 127.0.0.1\n    %s\n%s%s}\n", zone, port, chain, body, extra)
}

func peerdnsConfig(dir string, d *dataset, port int, extra string) ([]string, error) {
	body := fmt.Sprintf("    peerdns {\n        static %s\n    }\n", d.static)
	return coreDNSCommand(dir, corefile(port, body, extra))
}

func hostsConfig(dir string, d *dataset, port int, extra string) ([]string, error) {
	body := fmt.Sprintf("    hosts %s %s {\n        ttl 5\n    }\n", d.hosts, zone)
	return coreDNSCommand(dir, corefile(port, body, extra))
}

func fileConfig(dir string, d *dataset, port int, extra string) ([]string, error) {
	body := fmt.Sprintf("    file %s %s\n", d.zoneFile, zone)
	return coreDNSCommand(dir, corefile(port, body, extra))
}

func coreDNSCommand(dir, corefile string) ([]string, error) {
	path := filepath.Join(dir, "Corefile")
	if err := os.WriteFile(path, []byte(corefile), 0o644); err != nil {
		return nil, err
	}
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	return []string{filepath.Join(root, "bin", "peerdns"), "-conf", path}, nil
}

// knotConfig runs knotd with one UDP worker, one TCP worker and one background worker, its run
// and storage folders inside dir, and the zone loaded whole from the zone file, never written
// back.
func knotConfig(dir string, d *dataset, port int, _ string) ([]string, error) {
	for _, sub := range []string{"run", "storage"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	conf := fmt.Sprintf(`server:
    rundir: "%[1]s/run"
    listen: 127.0.0.1@%[2]d
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "%[1]s/storage"
log:
  - target: stderr
    any: warning
template:
  - id: default
    storage: "%[1]s/storage"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: %[3]s
    file: "%[4]s"
`, dir, port, zone, d.zoneFile)
	path := filepath.Join(dir, "knot.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	knotd, err := lookTool("knotd")
	if err != nil {
		return nil, err
	}
	return []string{knotd, "-c", path}, nil
}

// server is one running server process.
type server struct {
	kind *serverKind
	port int
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error // how the process ended, once done is closed
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// startServer writes the configuration of kind into dir/<name>/ and starts the server pinned to
// cpu, then waits until it answers a known name and re-pins all its threads.
func startServer(ctx context.Context, o *options, kind *serverKind, d *dataset, port int, extra string) (*server, error) {
	dir := filepath.Join(o.workDir, kind.name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := portFree(port); err != nil {
		return nil, fmt.Errorf("%s: %w", kind.title, err)
	}
	argv, err := kind.config(dir, d, port, extra)
	if err != nil {
		return nil, err
	}
	s := &server{kind: kind, port: port, log: filepath.Join(dir, "server.log"), done: make(chan struct{})}
	logFile, err := os.Create(s.log)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	s.cmd = exec.Command("taskset", append([]string{"-c", strconv.Itoa(o.serverCPU)}, argv...)...)
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.cmd.Env = os.Environ()
	if kind.goRuntime {
		s.cmd.Env = append(s.cmd.Env, "GOMAXPROCS=1")
	}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", kind.title, err)
	}
	go func() { s.err = s.cmd.Wait(); close(s.done) }()
	if err := s.waitReady(ctx, readyTimeout(d.services)); err != nil {
		s.stop()
		return nil, fmt.Errorf("%s: %w (log: %s)", kind.title, err, s.log)
	}
	if err := pin(s.pid(), o.serverCPU); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// readyTimeout grows with the map: a 100,000-service map takes seconds to parse.
func readyTimeout(services int) time.Duration {
	return 30*time.Second + time.Duration(services/1000)*time.Second
}

// waitReady asks for the first service's address until it is answered, the process ends or the
// time is up.
func (s *server) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("exited before it was ready: %v", s.err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		m, err := query(s.port, testmap.Name(0), dns.TypeA)
		switch {
		case err != nil:
			last = err
		case m.Rcode != dns.RcodeSuccess || len(m.Answer) == 0:
			last = fmt.Errorf("%w: %s %s", errNotReady, testmap.Name(0), dns.RcodeToString[m.Rcode])
		default:
			return nil
		}
	}
	return fmt.Errorf("not ready after %s: %v", limit, last)
}

// stop ends the server: SIGTERM, then SIGKILL after five seconds.
func (s *server) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// alive reports an error if the server has ended.
func (s *server) alive() error {
	select {
	case <-s.done:
		return fmt.Errorf("%s ended: %v (log: %s)", s.kind.title, s.err, s.log)
	default:
		return nil
	}
}

// query asks 127.0.0.1:port one question over UDP.
func query(port int, name string, qtype uint16) (*dns.Msg, error) {
	c := &dns.Client{Net: "udp", Timeout: time.Second}
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	r, _, err := c.Exchange(m, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	return r, err
}

// portFree checks that nothing listens on the UDP port of 127.0.0.1 yet.
func portFree(port int) error {
	c, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("port %d is taken: %w (use -port)", port, err)
	}
	return c.Close()
}

// stopAll stops servers in parallel.
func stopAll(servers []*server) {
	done := make(chan struct{}, len(servers))
	for _, s := range servers {
		go func() { s.stop(); done <- struct{}{} }()
	}
	for range servers {
		<-done
	}
}
