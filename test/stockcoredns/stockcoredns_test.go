package stockcoredns

import (
	"bytes"
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/peerdns/peerdns/internal/testnet"
)

// startTimeout bounds how long the server may take to start and publish its first map.
const startTimeout = 20 * time.Second

// peersFile is the example peers file the server is started with, relative to the root.
const peersFile = "deploy/examples/peers.yaml"

// The Corefile of plugin/README.md's first example, with the example peers file by its absolute
// path: global on a loopback port, peerdns alone in the chain.
const corefile = `global:{port} {
    bind 127.0.0.1
    peerdns {
        static {peers}
    }
}
`

func TestStockCoreDNSWithPlugin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds all of CoreDNS: not in -short mode")
	}
	root := findRoot(t)
	peers, err := os.ReadFile(filepath.Join(root, peersFile))
	if err != nil {
		t.Fatalf("the example peers file the server is started with: %v", err)
	}
	b := stockBinary(t, root)

	// CoreDNS registers its plugins as dns.NAME; -plugins prints them one a line without the
	// "dns." prefix (caddy's DescribePlugins drops it).
	t.Run("plugins lists peerdns", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, b.bin, "-plugins").CombinedOutput()
		if err != nil {
			t.Fatalf("%s -plugins: %v\n%s", b.bin, err, out)
		}
		if !slices.Contains(linesOf(out), "peerdns") {
			t.Fatalf("coredns -plugins does not list peerdns:\n%s", out)
		}
	})

	t.Run("chain has peerdns after kubernetes", func(t *testing.T) {
		chain, err := directives(b.directives)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.Index(chain, "kubernetes")
		if i < 0 || i+1 >= len(chain) || chain[i+1] != "peerdns" {
			t.Fatalf("generated core/dnsserver/zdirectives.go should have peerdns right after "+
				"kubernetes; the chain is %v", chain)
		}
		if slices.Index(chain[i+2:], "peerdns") >= 0 || slices.Index(chain[:i], "peerdns") >= 0 {
			t.Fatalf("peerdns is in the chain more than once: %v", chain)
		}
		imports, err := os.ReadFile(b.imports)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(imports, []byte(`_ "`+pluginPkg+`"`)) {
			t.Fatalf("generated core/plugin/zplugin.go does not import %s:\n%s", pluginPkg, imports)
		}
	})

	t.Run("serves global from the example peers file", func(t *testing.T) {
		s := start(t, b.bin, strings.NewReplacer("{peers}", filepath.Join(root, peersFile)).Replace(corefile))

		r := s.query(t, "productcatalogservice.default.global.", dns.TypeA)
		if r.Rcode != dns.RcodeSuccess || !r.Authoritative {
			t.Fatalf("productcatalogservice.default.global A: want an authoritative NOERROR, got:\n%v", r)
		}
		var got []string
		for _, rr := range r.Answer {
			a, ok := rr.(*dns.A)
			if !ok || a.Hdr.Name != "productcatalogservice.default.global." {
				t.Fatalf("productcatalogservice.default.global A: unexpected record %v in:\n%v", rr, r)
			}
			got = append(got, a.A.String())
		}
		if len(got) == 0 {
			t.Fatalf("productcatalogservice.default.global A: no addresses:\n%v", r)
		}
		for _, addr := range got {
			if !bytes.Contains(peers, []byte(addr)) {
				t.Errorf("productcatalogservice.default.global A: %s is not a gateway address of %s", addr, peersFile)
			}
		}

		out := s.query(t, "example.com.", dns.TypeA)
		if out.Rcode != dns.RcodeRefused || len(out.Answer) != 0 || out.RecursionAvailable {
			t.Fatalf("example.com A, outside the zone: want REFUSED with no answer and no recursion, got:\n%v", out)
		}
		if !s.alive() {
			t.Fatal("the server exited")
		}
	})
}

// linesOf returns the lines of out, trimmed of spaces.
func linesOf(out []byte) []string {
	var lines []string
	for l := range strings.Lines(string(out)) {
		lines = append(lines, strings.TrimSpace(l))
	}
	return lines
}

// directives reads the Directives list, the plugin chain in order, of a generated
// core/dnsserver/zdirectives.go.
func directives(path string) ([]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		return nil, err
	}
	var chain []string
	found := false
	ast.Inspect(f, func(n ast.Node) bool {
		spec, ok := n.(*ast.ValueSpec)
		if !ok || len(spec.Names) != 1 || spec.Names[0].Name != "Directives" || len(spec.Values) != 1 {
			return true
		}
		lit, ok := spec.Values[0].(*ast.CompositeLit)
		if !ok {
			return true
		}
		found = true
		for _, e := range lit.Elts {
			if s, ok := e.(*ast.BasicLit); ok && s.Kind == token.STRING {
				name, _ := strconv.Unquote(s.Value)
				chain = append(chain, name)
			}
		}
		return false
	})
	if !found {
		return nil, fmt.Errorf("%s: no Directives list", path)
	}
	return chain, nil
}

// findRoot walks up from the test's folder to this module's go.mod.
func findRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			bytes.HasPrefix(data, []byte("module "+module+"\n")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("the go.mod of %s is not above the test's folder", module)
		}
		dir = parent
	}
}

// server is the stock CoreDNS binary running with a Corefile.
type server struct {
	addr string // 127.0.0.1:PORT, UDP and TCP
	cmd  *exec.Cmd
	out  *syncBuffer   // everything it wrote
	done chan struct{} // closed when it has exited
}

// start writes corefile, with "{port}" replaced by a free loopback port, into a fresh folder and
// starts bin with it. It returns once the server answers global's SOA, and stops it when the
// test ends, printing its output if the test failed.
func start(t *testing.T, bin, corefile string) *server {
	t.Helper()
	var err error
	for range 3 { // another process may take the free port before the server binds it
		s := launch(t, bin, corefile)
		if err = s.waitReady(); err == nil {
			return s
		}
		if !strings.Contains(s.out.String(), "address already in use") {
			break
		}
	}
	t.Fatal(err)
	return nil
}

func launch(t *testing.T, bin, corefile string) *server {
	t.Helper()
	dir := t.TempDir()
	port := freePort(t)
	text := strings.ReplaceAll(corefile, "{port}", strconv.Itoa(port))
	conf := filepath.Join(dir, "Corefile")
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &server{
		addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		out:  &syncBuffer{},
		done: make(chan struct{}),
	}
	s.cmd = exec.Command(bin, "-conf", conf)
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("stock CoreDNS on %s, Corefile:\n%s\noutput:\n%s", s.addr, text, s.out)
		}
	})
	return s
}

// waitReady polls until the server answers global's SOA with anything but SERVFAIL (which it
// gives until the first map is published).
func (s *server) waitReady() error {
	c := &dns.Client{Timeout: 250 * time.Millisecond}
	m := new(dns.Msg)
	m.SetQuestion("global.", dns.TypeSOA)
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		if !s.alive() {
			return fmt.Errorf("stock CoreDNS exited during startup: %v\n%s", s.cmd.ProcessState, s.out)
		}
		if r, _, err := c.Exchange(m, s.addr); err == nil && r.Rcode != dns.RcodeServerFailure {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("stock CoreDNS did not answer global. SOA within %v\n%s", startTimeout, s.out)
}

// query asks the server one question over UDP, with recursion desired as a stub resolver does.
func (s *server) query(t *testing.T, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	var err error
	for range 3 {
		var r *dns.Msg
		if r, _, err = (&dns.Client{Timeout: 2 * time.Second}).Exchange(m, s.addr); err == nil {
			return r
		}
	}
	t.Fatalf("%s %s: no reply from %s: %v", name, dns.TypeToString[qtype], s.addr, err)
	return nil
}

func (s *server) alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// stop ends the server: SIGTERM, then SIGKILL if it lingers.
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
