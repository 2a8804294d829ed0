package resolver

import (
	"net"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// Soa timers (RFC 1912 values, as CoreDNS's kubernetes plugin uses). They matter only to
// secondaries, and there are none: zone transfers are refused.
const (
	soaRefresh = 7200
	soaRetry   = 1800
	soaExpire  = 86400
)

// write fills m with fresh records for r. Nothing written points into the snapshot.
func (r Result) write(m *dns.Msg, q dns.Question, local netip.Addr, rv *Resolver) {
	switch r.kind {
	case NoData, NameError:
		m.Ns = r.appendNegativeSOA(m.Ns, q.Name, rv.cfg.NegativeTTL)
		return
	case Success:
	default:
		return
	}
	qtype := r.qtype
	if qtype == dns.TypeANY {
		qtype = r.anyType(local)
	}
	if !r.writeType(m, q, qtype, local, rv) {
		m.Ns = r.appendNegativeSOA(m.Ns, q.Name, rv.cfg.NegativeTTL)
	}
}

// anyType picks the one RRset an ANY query gets (RFC 8482: a minimal answer).
func (r Result) anyType(local netip.Addr) uint16 {
	switch r.name {
	case nameApex:
		return dns.TypeSOA
	case nameSRV:
		return dns.TypeSRV
	case nameServer:
		if local.Unmap().Is4() {
			return dns.TypeA
		}
		return dns.TypeAAAA
	}
	if r.count(true) > 0 {
		return dns.TypeA
	}
	return dns.TypeAAAA
}

// writeType writes the records of one type; false means there were none to write.
func (r Result) writeType(m *dns.Msg, q dns.Question, qtype uint16, local netip.Addr, rv *Resolver) bool {
	ttl := rv.cfg.TTL
	switch {
	case r.name == nameApex && qtype == dns.TypeSOA:
		m.Answer = append(m.Answer, r.soa(q.Name, ttl, rv.cfg.NegativeTTL))
	case r.name == nameApex && qtype == dns.TypeNS:
		m.Answer = append(m.Answer, &dns.NS{Hdr: hdr(q.Name, dns.TypeNS, ttl), Ns: r.zone.ns})
		m.Extra = appendLocal(m.Extra, r.zone.ns, dns.TypeA, local, ttl)
		m.Extra = appendLocal(m.Extra, r.zone.ns, dns.TypeAAAA, local, ttl)
	case r.name == nameServer:
		n := len(m.Answer)
		m.Answer = appendLocal(m.Answer, q.Name, qtype, local, ttl)
		return len(m.Answer) > n
	case qtype == dns.TypeSRV:
		r.writeSRV(m, q.Name, rv)
	case qtype == dns.TypeTXT:
		m.Answer = r.appendTXT(m.Answer, q.Name, ttl, rv.now())
	case qtype == dns.TypeA || qtype == dns.TypeAAAA:
		m.Answer = r.appendAddrs(m.Answer, q.Name, qtype == dns.TypeA, ttl, rv)
	}
	return true
}

func hdr(name string, rrtype uint16, ttl uint32) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: rrtype, Class: dns.ClassINET, Ttl: ttl}
}

// soa returns the zone's SOA, owned by the zone in the case of the question.
func (r Result) soa(qname string, ttl, minTTL uint32) *dns.SOA {
	owner := r.zone.name
	if n := len(owner); len(qname) >= n && qname[len(qname)-1] == '.' {
		owner = qname[len(qname)-n:]
	}
	return &dns.SOA{
		Hdr: hdr(owner, dns.TypeSOA, ttl), Ns: r.zone.ns, Mbox: r.zone.mbox,
		Serial: uint32(r.snap.gen), Refresh: soaRefresh, Retry: soaRetry, Expire: soaExpire,
		Minttl: minTTL,
	}
}

// appendNegativeSOA appends the SOA of a negative answer (RFC 2308: TTL and minimum the
// negative TTL); into an empty section, the record and the section take one allocation.
func (r Result) appendNegativeSOA(rrs []dns.RR, qname string, ttl uint32) []dns.RR {
	if cap(rrs) > 0 {
		return append(rrs, r.soa(qname, ttl, ttl))
	}
	one := new(struct {
		rrs [1]dns.RR
		soa dns.SOA
	})
	one.soa = *r.soa(qname, ttl, ttl)
	one.rrs[0] = &one.soa
	return one.rrs[:]
}

// appendLocal appends the name server's own address of type qtype, if it has one.
func appendLocal(rrs []dns.RR, owner string, qtype uint16, local netip.Addr, ttl uint32) []dns.RR {
	local = local.Unmap()
	if local.IsUnspecified() {
		return rrs // a wildcard listener: the address the client used is unknown
	}
	switch {
	case qtype == dns.TypeA && local.Is4():
		ip := local.As4()
		return append(rrs, &dns.A{Hdr: hdr(owner, dns.TypeA, ttl), A: net.IP(ip[:])})
	case qtype == dns.TypeAAAA && local.Is6():
		ip := local.As16()
		return append(rrs, &dns.AAAA{Hdr: hdr(owner, dns.TypeAAAA, ttl), AAAA: net.IP(ip[:])})
	}
	return rrs
}

// srvTarget returns "<cluster>.<svc>.<ns>.<zone>" for an SRV owner "_<port>._<proto>.<svc>...",
// keeping the case of the question.
func srvTarget(cluster, qname string) string {
	rest := qname
	for range 2 {
		if i := strings.IndexByte(rest, '.'); i >= 0 {
			rest = rest[i+1:]
		}
	}
	return cluster + "." + rest
}
