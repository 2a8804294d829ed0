package e2e

import (
	"bufio"
	"context"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// reply is dig's output, parsed. raw is kept for failure messages.
type reply struct {
	raw        string
	status     string          // NOERROR, NXDOMAIN, REFUSED, …; empty when no answer came
	flags      map[string]bool // qr, aa, tc, rd, ra, …
	answer     []dns.RR
	authority  []dns.RR
	additional []dns.RR
	size       int  // ";; MSG SIZE  rcvd:"
	tcp        bool // the reply came over TCP
}

// dig runs the real dig against the server: one try, two seconds. args are dig's own
// (name, type, class, +options).
func (s *server) dig(t *testing.T, args ...string) *reply {
	t.Helper()
	return digAt(t, s.port, args...)
}

// digAt runs the real dig against the DNS server on 127.0.0.1:port.
func digAt(t *testing.T, port int, args ...string) *reply {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	argv := append([]string{"@127.0.0.1", "-p", strconv.Itoa(port), "+tries=1", "+time=2"}, args...)
	out, err := exec.CommandContext(ctx, digBin, argv...).CombinedOutput()
	r := parseDig(t, string(out))
	if err != nil || r.status == "" {
		t.Fatalf("dig %s: no reply (%v)\n%s", strings.Join(args, " "), err, out)
	}
	return r
}

// parseDig reads dig's default output: the header, flags, sections in zone-file syntax and the
// message size.
func parseDig(t *testing.T, out string) *reply {
	t.Helper()
	r := &reply{raw: out, flags: map[string]bool{}}
	var section *[]dns.RR
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
			section = nil
		case strings.HasPrefix(line, ";; ->>HEADER<<-"):
			_, st, _ := strings.Cut(line, "status: ")
			r.status, _, _ = strings.Cut(st, ",")
		case strings.HasPrefix(line, ";; flags:"):
			f, _, _ := strings.Cut(strings.TrimPrefix(line, ";; flags:"), ";")
			for _, name := range strings.Fields(f) {
				r.flags[name] = true
			}
		case line == ";; ANSWER SECTION:":
			section = &r.answer
		case line == ";; AUTHORITY SECTION:":
			section = &r.authority
		case line == ";; ADDITIONAL SECTION:":
			section = &r.additional
		case strings.HasPrefix(line, ";; MSG SIZE  rcvd:"):
			r.size, _ = strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, ";; MSG SIZE  rcvd:")))
		case strings.HasPrefix(line, ";; SERVER:"):
			r.tcp = strings.HasSuffix(line, "(TCP)")
		case strings.HasPrefix(line, ";"):
		case section != nil:
			rr, err := dns.NewRR(line)
			if err != nil {
				t.Fatalf("dig printed a record that does not parse: %q: %v\n%s", line, err, out)
			}
			*section = append(*section, rr)
		}
	}
	return r
}

// addrs returns the A and AAAA addresses among rrs, sorted.
func addrs(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		switch rr := rr.(type) {
		case *dns.A:
			out = append(out, rr.A.String())
		case *dns.AAAA:
			out = append(out, rr.AAAA.String())
		}
	}
	slices.Sort(out)
	return out
}

// addrsOf returns the addresses among rrs owned by name (compared case-insensitively).
func addrsOf(rrs []dns.RR, name string) []string {
	var own []dns.RR
	for _, rr := range rrs {
		if strings.EqualFold(rr.Header().Name, dns.Fqdn(name)) {
			own = append(own, rr)
		}
	}
	return addrs(own)
}

// soa returns the first SOA among rrs, or nil.
func soa(rrs []dns.RR) *dns.SOA {
	for _, rr := range rrs {
		if s, ok := rr.(*dns.SOA); ok {
			return s
		}
	}
	return nil
}

// txts returns every string of every TXT record among rrs.
func txts(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		if t, ok := rr.(*dns.TXT); ok {
			out = append(out, t.Txt...)
		}
	}
	return out
}

// types returns the distinct record types among rrs, by name, sorted.
func types(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		name := dns.TypeToString[rr.Header().Rrtype]
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
