package sync

import (
	"context"
	"maps"
	"net/netip"
	"slices"
	gosync "sync"

	"go.uber.org/zap"

	"github.com/peerdns/peerdns/resolver"
)

// lookupHosts looks up hostnames concurrently, each within lookupTimeout, and returns their
// usable addresses; a lookup that succeeds with none fails with errNoAddresses.
func lookupHosts(ctx context.Context, lookup func(context.Context, string) ([]netip.Addr, error), hostnames []string) []lookupResult {
	results := make([]lookupResult, len(hostnames))
	var wg gosync.WaitGroup
	for i, name := range hostnames {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
			defer cancel()
			addrs, err := lookup(ctx, name)
			results[i] = lookupResult{usable(addrs), err}
			if err == nil && len(results[i].addrs) == 0 {
				results[i].err = errNoAddresses
			}
		})
	}
	wg.Wait()
	return results
}

// hostAddrs keeps the hostnames of one gateway resolved. It is owned by one goroutine.
type hostAddrs struct {
	lookup func(context.Context, string) ([]netip.Addr, error)
	log    *zap.Logger
	hosts  map[string]*host
}

func newHostAddrs(lookup func(context.Context, string) ([]netip.Addr, error), log *zap.Logger) *hostAddrs {
	return &hostAddrs{lookup: lookup, log: log, hosts: make(map[string]*host)}
}

// track makes names the hostnames kept resolved, forgets the others, and returns those not
// looked up yet.
func (h *hostAddrs) track(names []string) (fresh []string) {
	next := make(map[string]*host, len(names))
	for _, name := range names {
		if known := h.hosts[name]; known != nil {
			next[name] = known
			continue
		}
		next[name] = &host{}
		fresh = append(fresh, name)
	}
	h.hosts = next
	return fresh
}

// refresh looks up names (every tracked hostname when names is nil) and returns whether any
// addresses changed. A failure keeps the last addresses and is logged once until a lookup
// succeeds.
func (h *hostAddrs) refresh(ctx context.Context, names []string) bool {
	if names == nil {
		names = slices.Sorted(maps.Keys(h.hosts))
	}
	changed := false
	for i, r := range lookupHosts(ctx, h.lookup, names) {
		if hs := h.hosts[names[i]]; hs != nil && h.update(ctx, names[i], hs, r) {
			changed = true
		}
	}
	return changed
}

// update records the lookup result r of hostname name and returns whether its addresses changed.
func (h *hostAddrs) update(ctx context.Context, name string, hs *host, r lookupResult) bool {
	if r.err != nil {
		if ctx.Err() == nil && !hs.failed {
			hs.failed = true
			msg := "gateway hostname lookup failed, keeping the previous addresses"
			if len(hs.addrs) == 0 {
				msg = "gateway hostname does not resolve"
			}
			h.log.Warn(msg, zap.String("hostname", name), zap.Error(r.err))
		}
		return false
	}
	if hs.failed {
		hs.failed = false
		h.log.Info("gateway hostname resolves again", zap.String("hostname", name),
			zap.Int("addresses", len(r.addrs)))
	}
	if slices.Equal(hs.addrs, r.addrs) {
		return false
	}
	hs.addrs = r.addrs
	return true
}

// gateway returns the gateway of info: its IPs and the addresses of its hostnames.
func (h *hostAddrs) gateway(info gatewayInfo) resolver.Gateway {
	addrs := slices.Clone(info.ips)
	for _, name := range info.hostnames {
		if hs := h.hosts[name]; hs != nil {
			addrs = append(addrs, hs.addrs...)
		}
	}
	g := resolver.Gateway{Addresses: usable(addrs), Port: info.port}
	if len(g.Addresses) == 0 {
		g.Addresses = nil
	}
	if len(info.hostnames) > 0 {
		g.Hostname = info.hostnames[0]
	}
	return g
}

// sameGateway reports whether a and b are equal.
func sameGateway(a, b resolver.Gateway) bool {
	return slices.Equal(a.Addresses, b.Addresses) && a.Hostname == b.Hostname && a.Port == b.Port
}
