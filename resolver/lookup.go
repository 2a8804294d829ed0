package resolver

import (
	"bytes"

	"github.com/miekg/dns"
)

// nameKind is what a name inside a zone is, by the grammar of SPEC section 1.
type nameKind uint8

const (
	nameApex    nameKind = iota // the zone itself: SOA, NS
	nameEmpty                   // an empty non-terminal: <ns>, _<proto>.<svc>.<ns>
	nameService                 // <svc>.<ns>
	nameCluster                 // <cluster>.<svc>.<ns>
	nameSRV                     // _<port>._<proto>.<svc>.<ns>
	nameServer                  // ns.dns: the name server's own addresses
)

// lookup answers one question from snap. It does not allocate.
func lookup(snap *Snapshot, cfg *Config, name string, qtype, qclass uint16) Result {
	var buf [maxName + 1]byte
	lower, plain := lowerName(&buf, name)
	z, rel := matchZone(cfg.match, lower)
	if z < 0 {
		return Result{kind: NotAuth}
	}
	switch {
	case qclass != dns.ClassINET, qtype == dns.TypeAXFR, qtype == dns.TypeIXFR:
		return Result{kind: Refused}
	case snap == nil:
		return Result{kind: NotReady}
	}
	res := Result{snap: snap, zone: &snap.zones[z], qtype: qtype}
	if res.zone.remote && !snap.remote(rel) {
		return Result{kind: NotAuth, snap: snap, zone: res.zone, local: true}
	}
	if !plain {
		res.kind = NameError // in the zone, but with octets none of our names has
		return res
	}
	if !snap.find(rel, &res) {
		res.kind = NameError
		return res
	}
	res.kind = NoData
	if res.has(qtype) {
		res.kind = Success
	}
	return res
}

// matchZone returns the index of the longest zone that name is in (-1 for none), and the
// relative name.
func matchZone(zones []string, lower []byte) (int, []byte) {
	best, bestLen := -1, -1
	var rel []byte
	for i, z := range zones {
		if r, in := inZone(lower, z); in && len(z) > bestLen {
			best, bestLen, rel = i, len(z), r
		}
	}
	return best, rel
}

// remote reports whether rel, relative to the remote zone "svc.<cluster domain>", is in a
// namespace that is not local: the apex and local namespaces belong to the local cluster DNS.
func (s *Snapshot) remote(rel []byte) bool {
	if len(rel) == 0 {
		return false
	}
	ns := rel[bytes.LastIndexByte(rel, '.')+1:]
	_, local := s.local[string(ns)]
	return !local
}

// find resolves a relative name into res; false means the name does not exist.
func (s *Snapshot) find(rel []byte, res *Result) bool {
	if len(rel) == 0 {
		res.name = nameApex
		return true
	}
	ls, ok := splitLabels(rel)
	if !ok {
		return false
	}
	if ls.n == 1 {
		res.name = nameEmpty
		ok := s.namespaces[string(ls.l[0])] > 0
		return ok || (string(ls.l[0]) == "dns" && !res.zone.remote)
	}
	if ls.n == 2 && string(rel) == nsHost && !res.zone.remote {
		res.name = nameServer
		return true
	}
	key := rel[len(rel)-len(ls.l[1])-1-len(ls.l[0]):]
	svc := s.lookup(key)
	if svc == nil {
		return false
	}
	res.svc = svc
	switch ls.n {
	case 2:
		res.name = nameService
		return true
	case 3:
		return svc.findChild(ls.l[2], res)
	default:
		return svc.findSRV(ls.l[3], ls.l[2], res)
	}
}

// findChild resolves <label>.<svc>.<ns>: a cluster, or the _<proto> empty non-terminal.
func (e *service) findChild(label []byte, res *Result) bool {
	if len(label) > 1 && label[0] == '_' {
		for i := range e.members {
			for j := range e.members[i].ports {
				p := &e.members[i].ports[j]
				if p.Name != "" && equalLower(p.Protocol, label[1:]) {
					res.name = nameEmpty
					return true
				}
			}
		}
		return false
	}
	for i := range e.members {
		if e.members[i].c.name == string(label) {
			res.name, res.member = nameCluster, i
			return true
		}
	}
	return false
}

// findSRV resolves _<port>._<proto>.<svc>.<ns>.
func (e *service) findSRV(port, proto []byte, res *Result) bool {
	if len(port) < 2 || port[0] != '_' || len(proto) < 2 || proto[0] != '_' {
		return false
	}
	for i := range e.members {
		for j := range e.members[i].ports {
			p := &e.members[i].ports[j]
			if p.Name != "" && equalLower(p.Name, port[1:]) && equalLower(p.Protocol, proto[1:]) {
				res.name, res.port = nameSRV, p
				return true
			}
		}
	}
	return false
}

// has reports whether the name found has records of type qtype.
func (r *Result) has(qtype uint16) bool {
	switch r.name {
	case nameApex:
		return qtype == dns.TypeSOA || qtype == dns.TypeNS || qtype == dns.TypeANY
	case nameServer:
		return qtype == dns.TypeA || qtype == dns.TypeAAAA || qtype == dns.TypeANY
	case nameSRV:
		return qtype == dns.TypeSRV || qtype == dns.TypeANY
	case nameService, nameCluster:
		switch qtype {
		case dns.TypeA:
			return r.count(true) > 0
		case dns.TypeAAAA:
			return r.count(false) > 0
		case dns.TypeTXT, dns.TypeANY:
			return true
		}
	}
	return false
}

// count returns how many gateway addresses of one family the name answers with.
func (r *Result) count(v4 bool) int { return len(r.addrs(v4)) }
