package resolver

import (
	"net/netip"
	"slices"
)

// Health checks (SPEC section 3): the sync marks the gateway addresses that fail them in
// Gateway.Down, and the build leaves them out of the answers it precomputes. A name whose
// addresses of one family are all down is answered with all of them (fail open): a health check
// never turns an answer into NODATA.

// family returns the healthy addresses of one family and those its names answer.
func (c *cluster) family(v4 bool) (up, served []gw) {
	if v4 {
		return c.up4, c.v4
	}
	return c.up6, c.v6
}

// healthy returns the addresses of all that are not in down, and what names answer: those, or
// all of them when none is healthy (fail open). It appends the addresses left out to *out.
func healthy(all []gw, down []netip.Addr, out *[]netip.Addr) (up, served []gw) {
	if len(down) == 0 {
		return all, all
	}
	for _, g := range all {
		if slices.ContainsFunc(down, func(d netip.Addr) bool { return d.Unmap() == g.addr }) {
			*out = append(*out, g.addr)
		} else {
			up = append(up, g)
		}
	}
	if len(up) == 0 {
		return nil, all
	}
	return up, up
}

// gather returns the healthy addresses of one family of every member, in member order, or,
// when none is healthy, all of them and true (fail open).
func gather(members []member, v4 bool) ([]gw, bool) {
	var up []gw
	for _, mb := range members {
		u, _ := mb.c.family(v4)
		up = append(up, u...)
	}
	if len(up) > 0 {
		return up, false
	}
	var all []gw
	for _, mb := range members {
		_, a := mb.c.family(v4)
		all = append(all, a...)
	}
	return all, len(all) > 0
}

// countFailOpen keeps the count of fail-open services as entry old (nil: none) becomes e.
func (s *Snapshot) countFailOpen(old, e *service) {
	if old != nil && old.failOpen {
		s.failOpen--
	}
	if e != nil && e.failOpen {
		s.failOpen++
	}
}
