package plugin

import (
	"context"
	"net"
	"net/netip"
	"sync/atomic"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/fall"
	"github.com/miekg/dns"

	"github.com/peerdns/peerdns/resolver"
)

// PeerDNS is the plugin handler: it answers names in its zones from the resolver's current map
// and hands every other query to the next plugin.
type PeerDNS struct {
	Next plugin.Handler
	Fall fall.F

	resolver *resolver.Resolver
	syncer   syncer
	requests requestCounters
	// integrated is set when the kubernetes plugin runs before peerdns in the same server block
	// (the cluster's own CoreDNS): a name of a local namespace that reaches peerdns has then
	// fallen through from kubernetes, which did not find it, and is answered NXDOMAIN here rather
	// than handed on to forward and the world.
	integrated atomic.Bool
}

// syncer is what the handler needs from the sync: start, stop and whether a complete map is
// being served.
type syncer interface {
	Start()
	Stop()
	Ready() bool
}

// ServeDNS implements the plugin.Handler interface. It neither logs (one line per query would
// cost more than the answer) nor builds a request.Request: the resolver folds case and checks
// the name on the stack, so the question's name is used as it came off the wire.
func (h *PeerDNS) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	if len(r.Question) == 0 {
		return h.next(ctx, w, r)
	}
	q := r.Question[0]
	res := h.resolver.Lookup(q.Name, q.Qtype, q.Qclass)
	if res.Local() && h.integrated.Load() {
		res = res.NameError() // the kubernetes plugin before us did not find it: it does not exist
	}
	kind := res.Kind()
	if kind == resolver.NotAuth {
		h.requests.inc(ctx, q.Qtype, resultNotAuth)
		return h.next(ctx, w, r)
	}
	if kind == resolver.NameError && h.Fall.Through(q.Name) {
		h.requests.inc(ctx, q.Qtype, resultFallthrough)
		return h.next(ctx, w, r)
	}

	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = res.Authoritative()
	m.Rcode = res.Rcode()
	h.resolver.Answer(m, q, res, localAddr(w))
	w.WriteMsg(m)
	h.requests.inc(ctx, q.Qtype, result(kind))
	return dns.RcodeSuccess, nil
}

// next hands the query to the next plugin. Without one (peerdns last in its server block, as in
// a stand-alone server) the answer is REFUSED, which the server writes: peerdns never recurses,
// and CoreDNS's forward plugin health-checks a stub-domain server with ". NS", which must get an
// answer rather than SERVFAIL.
func (h *PeerDNS) next(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	if h.Next == nil {
		return dns.RcodeRefused, nil
	}
	return h.Next.ServeDNS(ctx, w, r)
}

// Name implements the plugin.Handler interface.
func (h *PeerDNS) Name() string { return pluginName }

// start runs the sync: sources begin reading and the first complete map gets published.
func (h *PeerDNS) start() error {
	h.syncer.Start()
	return nil
}

// stop ends the sync and every source's goroutines.
func (h *PeerDNS) stop() error {
	h.syncer.Stop()
	return nil
}

// localAddr returns the address the query arrived on, for the name server's own address
// records, without allocating for the UDP and TCP writers of CoreDNS's servers. A server bound
// to a wildcard address does not know it: the zero Addr then leaves those records out.
func localAddr(w dns.ResponseWriter) netip.Addr {
	a := w.LocalAddr()
	if u, ok := a.(interface{ Unwrap() net.Addr }); ok {
		a = u.Unwrap()
	}
	var addr netip.Addr
	switch a := a.(type) {
	case *net.UDPAddr:
		addr = a.AddrPort().Addr()
	case *net.TCPAddr:
		addr = a.AddrPort().Addr()
	case nil:
		return netip.Addr{}
	default:
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			return netip.Addr{}
		}
		addr = ap.Addr()
	}
	if addr = addr.Unmap(); addr.IsUnspecified() {
		return netip.Addr{}
	}
	return addr
}
