package resolver

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// gw is one gateway address and the tier of its cluster.
type gw struct {
	addr netip.Addr
	tier int64
}

// addrs returns the addresses of one family for the name found, in tier order.
func (r Result) addrs(v4 bool) []gw {
	if r.name == nameCluster {
		c := r.svc.members[r.member].c
		if v4 {
			return c.v4
		}
		return c.v6
	}
	if v4 {
		return r.svc.v4
	}
	return r.svc.v6
}

// limit caps n at the configured most records per answer.
func limit(n int, cfg *Config) int {
	if cfg.MaxAnswers > 0 && n > cfg.MaxAnswers {
		return cfg.MaxAnswers
	}
	return n
}

// turn returns the rotation step for an answer of n items: only answers that can rotate take a
// step of the shared counter.
func (rv *Resolver) step(n int) uint32 {
	if n < 2 {
		return 0
	}
	return rv.turn.Add(1)
}

// aRecord and aaaaRecord are address records with room for their address, so that one
// allocation holds both.
type (
	aRecord struct {
		rr dns.A
		ip [4]byte
	}
	aaaaRecord struct {
		rr dns.AAAA
		ip [16]byte
	}
)

// appendAddrs appends the A or AAAA records of the name, rotated within tiers and capped. The
// records and their addresses take one allocation whatever their number, and the answer of a
// single record into an empty section takes one in all.
func (r Result) appendAddrs(rrs []dns.RR, owner string, v4 bool, ttl uint32, rv *Resolver) []dns.RR {
	list := r.addrs(v4)
	n := limit(len(list), &rv.cfg)
	if n == 0 {
		return rrs
	}
	var put func(i int, a netip.Addr) dns.RR
	switch {
	case v4 && n == 1 && cap(rrs) == 0:
		one := new(struct {
			rrs [1]dns.RR
			rec aRecord
		})
		rrs = one.rrs[:0]
		put = func(_ int, a netip.Addr) dns.RR { return one.rec.set(owner, ttl, a) }
	case v4:
		recs := make([]aRecord, n)
		put = func(i int, a netip.Addr) dns.RR { return recs[i].set(owner, ttl, a) }
	case n == 1 && cap(rrs) == 0:
		one := new(struct {
			rrs [1]dns.RR
			rec aaaaRecord
		})
		rrs = one.rrs[:0]
		put = func(_ int, a netip.Addr) dns.RR { return one.rec.set(owner, ttl, a) }
	default:
		recs := make([]aaaaRecord, n)
		put = func(i int, a netip.Addr) dns.RR { return recs[i].set(owner, ttl, a) }
	}
	rrs = slices.Grow(rrs, n)
	i := 0
	rotated(len(list), rv.step(len(list)), func(k int) int64 { return list[k].tier }, func(k int) bool {
		rrs = append(rrs, put(i, list[k].addr))
		i++
		return i < n
	})
	return rrs
}

func (rec *aRecord) set(owner string, ttl uint32, a netip.Addr) dns.RR {
	rec.ip = a.As4()
	rec.rr = dns.A{Hdr: hdr(owner, dns.TypeA, ttl), A: rec.ip[:]}
	return &rec.rr
}

func (rec *aaaaRecord) set(owner string, ttl uint32, a netip.Addr) dns.RR {
	rec.ip = a.As16()
	rec.rr = dns.AAAA{Hdr: hdr(owner, dns.TypeAAAA, ttl), AAAA: rec.ip[:]}
	return &rec.rr
}

// writeSRV writes one SRV record per serving cluster that has the port asked for, rotated
// within tiers and capped, with the targets' addresses in the additional section. Clusters whose
// every gateway address fails health checks are left out, unless all of them are (fail open).
func (r Result) writeSRV(m *dns.Msg, qname string, rv *Resolver) {
	var idx [8]int // most services run in a few clusters; more spill to the heap
	ms := idx[:0]
	for _, anyHealth := range [2]bool{false, true} {
		for i := range r.svc.members {
			mb := &r.svc.members[i]
			if mb.portOf(r.port) != nil && (anyHealth || len(mb.c.up4)+len(mb.c.up6) > 0) {
				ms = append(ms, i)
			}
		}
		if len(ms) > 0 {
			break
		}
	}
	ttl, n := rv.cfg.TTL, limit(len(ms), &rv.cfg)
	tierOf := func(k int) int64 { return r.svc.members[ms[k]].c.tier }
	prio, last := -1, int64(-1)
	rotated(len(ms), rv.step(len(ms)), tierOf, func(k int) bool {
		mb := &r.svc.members[ms[k]]
		if mb.c.tier != last {
			prio, last = prio+1, mb.c.tier // SRV priorities count the tiers of this answer: 0, 1, …
		}
		port := mb.portOf(r.port).Port
		if mb.c.port != 0 {
			port = mb.c.port
		}
		target := srvTarget(mb.c.name, qname)
		m.Answer = append(m.Answer, &dns.SRV{
			Hdr: hdr(qname, dns.TypeSRV, ttl), Priority: uint16(prio), Weight: 1,
			Port: port, Target: target,
		})
		cr := Result{name: nameCluster, svc: r.svc, member: ms[k]}
		m.Extra = cr.appendAddrs(m.Extra, target, true, ttl, rv)
		m.Extra = cr.appendAddrs(m.Extra, target, false, ttl, rv)
		return len(m.Answer) < n
	})
}

// portOf returns the member's port with the name and protocol of p, or nil.
func (mb *member) portOf(p *Port) *Port {
	for i := range mb.ports {
		q := &mb.ports[i]
		if q.Name != "" && strings.EqualFold(q.Name, p.Name) && strings.EqualFold(q.Protocol, p.Protocol) {
			return q
		}
	}
	return nil
}

// appendTXT appends one TXT record per serving cluster that explains the answer, e.g.
// "cluster=east gateway=203.0.113.7 port=15443 state=live age=3s source=static".
func (r Result) appendTXT(rrs []dns.RR, owner string, ttl uint32, now time.Time) []dns.RR {
	for i := range r.svc.members {
		if r.name == nameCluster && i != r.member {
			continue
		}
		txt := r.svc.members[i].explain(r.snap.updated[r.svc.members[i].c.name], now)
		rrs = append(rrs, &dns.TXT{Hdr: hdr(owner, dns.TypeTXT, ttl), Txt: splitTXT(txt)})
	}
	return rrs
}

// explain describes one member for a TXT answer; updated is when its cluster's data was last
// confirmed.
func (mb *member) explain(updated, now time.Time) string {
	c := mb.c
	b := make([]byte, 0, 160)
	b = append(b, "cluster="...)
	b = append(b, c.name...)
	b = append(b, " gateway="...)
	for i, a := range c.all {
		if i > 0 {
			b = append(b, ',')
		}
		b = a.addr.AppendTo(b)
	}
	for i, a := range c.down {
		if i == 0 {
			b = append(b, " down="...)
		} else {
			b = append(b, ',')
		}
		b = a.AppendTo(b)
	}
	if c.hostname != "" {
		b = append(b, " hostname="...)
		b = append(b, c.hostname...)
	}
	b = mb.appendPorts(b)
	b = append(b, " state="...)
	b = append(b, c.state.String()...)
	if !updated.IsZero() {
		b = append(b, " age="...)
		b = append(b, now.Sub(updated).Round(time.Second).String()...)
	}
	b = append(b, " source="...)
	b = append(b, c.source...)
	if c.locality.Region != "" {
		b = append(b, " locality="...)
		b = append(b, c.locality.Region...)
		if c.locality.Zone != "" {
			b = append(b, '/')
			b = append(b, c.locality.Zone...)
		}
	}
	b = append(b, " priority="...)
	b = strconv.AppendInt(b, int64(c.priority), 10)
	return string(b)
}

// appendPorts appends the ports traffic enters on: the gateway's fixed port, or the service's.
func (mb *member) appendPorts(b []byte) []byte {
	if mb.c.port != 0 {
		b = append(b, " port="...)
		return strconv.AppendUint(b, uint64(mb.c.port), 10)
	}
	for i, p := range mb.ports {
		if i == 0 {
			b = append(b, " port="...)
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(p.Port), 10)
	}
	return b
}

// splitTXT splits s into character-strings of at most 255 octets (RFC 1035 section 3.3).
func splitTXT(s string) []string {
	var out []string
	for len(s) > 255 {
		out = append(out, s[:255])
		s = s[255:]
	}
	return append(out, s)
}
