package e2e

import (
	"encoding/binary"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestTruncation serves one service from 60 clusters: its answer is larger than 512 bytes.
// A UDP reply fits the client's buffer (512 bytes without EDNS) or carries TC=1; TCP gets it all.
func TestTruncation(t *testing.T) {
	t.Parallel()
	const n = 60
	dir := t.TempDir()
	writeFile(t, dir, "peers.yaml", manyPeers(n))
	s := startServer(t, staticCorefile(), serverOptions{dir: dir})

	for _, qtype := range []string{"A", "TXT", "SRV"} {
		name := "big.default.global"
		if qtype == "SRV" {
			name = "_http._tcp." + name
		}
		t.Run(qtype, func(t *testing.T) {
			// +ignore: show the truncated UDP reply instead of retrying over TCP.
			r := s.dig(t, "+noedns", "+ignore", name, qtype)
			expect(t, r, status("NOERROR"), hasFlag("tc", true), maxSize(512))

			r = s.dig(t, "+tcp", name, qtype)
			expect(t, r, status("NOERROR"), hasFlag("tc", false), complete(qtype, n))
			if !r.tcp {
				t.Errorf("dig +tcp did not use TCP")
			}
		})
	}
	t.Run("EDNS buffer", func(t *testing.T) {
		r := s.dig(t, "+bufsize=4096", "+ignore", "big.default.global", "A")
		expect(t, r, status("NOERROR"), hasFlag("tc", false), answerCount(n))
		r = s.dig(t, "+bufsize=1232", "+ignore", "big.default.global", "TXT")
		expect(t, r, status("NOERROR"), hasFlag("tc", true), maxSize(1232))
	})
}

// TestGarbage sends random and malformed packets over UDP and TCP; the server must go on
// answering correctly.
func TestGarbage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "peers.yaml", contractPeers)
	s := startServer(t, staticCorefile(), serverOptions{dir: dir})

	rng := rand.New(rand.NewPCG(1, 2)) // fixed seed: a failure can be replayed
	u, err := net.Dial("udp", s.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	for i := range 1000 {
		p := make([]byte, rng.IntN(600))
		for j := range p {
			p[j] = byte(rng.Uint32())
		}
		if i%2 == 0 && len(p) >= 12 {
			binary.BigEndian.PutUint16(p[2:], 0x0100) // a plain query header: parsed further
			binary.BigEndian.PutUint16(p[4:], 1)
		}
		u.Write(p)
	}
	for _, p := range malformed() {
		u.Write(p)
		sendTCP(t, s.addr(), p, false)
		sendTCP(t, s.addr(), p, true)
	}
	sendRawTCP(t, s.addr(), []byte{0xff, 0xff, 1, 2, 3}, false) // a length it never sends
	sendRawTCP(t, s.addr(), []byte{0}, false)                   // half a length

	if !s.alive() {
		t.Fatal("peerdns died on garbage")
	}
	expect(t, s.dig(t, "productcatalogservice.default.global", "A"),
		status("NOERROR"), answerAddrs("203.0.113.7", "198.51.100.9"))
	expect(t, s.dig(t, "+tcp", "productcatalogservice.default.global", "AAAA"),
		status("NOERROR"), answerAddrs("2001:db8::7"))
}

// malformed returns DNS messages broken in the ways parsers trip over.
func malformed() [][]byte {
	q := new(dns.Msg)
	q.SetQuestion("productcatalogservice.default.global.", dns.TypeA)
	wire, _ := q.Pack()
	header := func(qd, an uint16) []byte {
		h := make([]byte, 12)
		binary.BigEndian.PutUint16(h[4:], qd)
		binary.BigEndian.PutUint16(h[6:], an)
		return h
	}
	return [][]byte{
		{},
		wire[:5],               // cut in the header
		wire[:20],              // cut inside the name
		wire[:len(wire)-2],     // cut in the question's type and class
		header(1, 0),           // a question announced, none sent
		header(0xffff, 0xffff), // absurd counts
		append(header(1, 0), 0xc0, 12, 0, 1, 0, 1),   // a name pointing at itself
		append(header(1, 0), 63, 'a', 0, 0, 1, 0, 1), // a label longer than the packet
	}
}

// sendTCP sends p over a fresh TCP connection with its length prefix, optionally reads whatever
// comes back, and closes the connection.
func sendTCP(t *testing.T, addr string, p []byte, read bool) {
	t.Helper()
	sendRawTCP(t, addr, append(binary.BigEndian.AppendUint16(nil, uint16(len(p))), p...), read)
}

// sendRawTCP sends p as it is over a fresh TCP connection.
func sendRawTCP(t *testing.T, addr string, p []byte, read bool) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Errorf("connect %s: %v", addr, err)
		return
	}
	defer c.Close()
	c.Write(p)
	if read {
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		c.Read(make([]byte, 1024))
	}
}

// complete: the answer has one record (for TXT: one string) per cluster.
func complete(qtype string, n int) check {
	if qtype != "TXT" {
		return answerCount(n)
	}
	return func(t *testing.T, r *reply) {
		t.Helper()
		if got := len(txts(r.answer)); got != n {
			t.Errorf("%d TXT strings, want %d", got, n)
		}
	}
}

// maxSize: the reply is no larger than n bytes.
func maxSize(n int) check {
	return func(t *testing.T, r *reply) {
		t.Helper()
		if r.size == 0 || r.size > n {
			t.Errorf("reply of %d bytes, want at most %d", r.size, n)
		}
	}
}
