package sync

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"time"

	"go.uber.org/zap"
)

// lookupTimeout bounds one lookup of a gateway hostname.
const lookupTimeout = 5 * time.Second

// errNoAddresses is the error of a lookup that succeeded with no usable address.
var errNoAddresses = errors.New("no usable address")

// host is what is known of one gateway hostname.
type host struct {
	addrs  []netip.Addr // sorted, unmapped; replaced, never modified
	failed bool         // the last lookup failed (logged once, until one succeeds)
}

// lookupResult is the outcome of one lookup.
type lookupResult struct {
	addrs []netip.Addr
	err   error
}

// resolve looks up the gateway hostnames of the file: every one when all is set, else only
// those not looked up before. Hostnames no longer in the file are forgotten. It returns whether
// any hostname's addresses changed.
func (s *Static) resolve(ctx context.Context, all bool) bool {
	next := make(map[string]*host)
	var todo []string
	for _, c := range s.file {
		name := c.Gateway.Hostname
		if name == "" || next[name] != nil {
			continue
		}
		h, known := s.hosts[name]
		if !known {
			h = &host{}
		}
		next[name] = h
		if all || !known {
			todo = append(todo, name)
		}
	}
	s.hosts = next
	changed := false
	for i, r := range s.lookupAll(ctx, todo) {
		if s.update(ctx, todo[i], next[todo[i]], r) {
			changed = true
		}
	}
	return changed
}

// lookupAll looks up hostnames concurrently, each within lookupTimeout.
func (s *Static) lookupAll(ctx context.Context, hostnames []string) []lookupResult {
	return lookupHosts(ctx, s.opts.Lookup, hostnames)
}

// usable returns the addresses a gateway can be served with: unmapped, without zones, sorted,
// without duplicates.
func usable(addrs []netip.Addr) []netip.Addr {
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		a = a.Unmap()
		if a.IsValid() && a.Zone() == "" && !a.IsUnspecified() && !a.IsMulticast() &&
			!a.IsLinkLocalUnicast() {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}

// update records the lookup result r of hostname name and returns whether its addresses
// changed. A failure keeps the previous addresses; it is logged once until a lookup succeeds.
func (s *Static) update(ctx context.Context, name string, h *host, r lookupResult) bool {
	if r.err != nil {
		if ctx.Err() == nil && !h.failed {
			h.failed = true
			msg := "gateway hostname lookup failed, keeping the previous addresses"
			if len(h.addrs) == 0 {
				msg = "gateway hostname does not resolve, its clusters serve nothing"
			}
			s.log.Warn(msg, zap.String("hostname", name), zap.Strings("clusters", s.clustersOf(name)),
				zap.Error(r.err))
		}
		return false
	}
	if h.failed {
		h.failed = false
		s.log.Info("gateway hostname resolves again", zap.String("hostname", name),
			zap.Int("addresses", len(r.addrs)))
	}
	if slices.Equal(h.addrs, r.addrs) {
		return false
	}
	s.log.Debug("gateway addresses changed", zap.String("hostname", name),
		zap.Int("addresses", len(r.addrs)))
	h.addrs = r.addrs
	return true
}

// clustersOf returns the names of the clusters whose gateway is hostname name.
func (s *Static) clustersOf(name string) []string {
	var names []string
	for _, c := range s.file {
		if c.Gateway.Hostname == name {
			names = append(names, c.Name)
		}
	}
	return names
}
