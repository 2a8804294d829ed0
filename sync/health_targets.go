package sync

import (
	"container/heap"
	"net/netip"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/peerdns/peerdns/resolver"
)

// target is one gateway address and port that is probed.
type target struct {
	at    netip.AddrPort
	peers []string  // the clusters whose gateway it is, for logs
	next  time.Time // when the next probe is due
	fails int       // probes failed in a row
	down  bool
	index int  // in the queue; -1 while being probed
	gone  bool // no longer in the map: its probe in flight is dropped
}

// PeerHealth is the health of one serving cluster's gateway addresses.
type PeerHealth struct {
	Peer     string
	Up, Down int
}

// Track makes the gateways of clusters the ones probed: new targets are probed soon and start
// healthy, targets no longer in the map stop being probed. It returns clusters with each
// cluster's Gateway.Down set from the probes so far (a new slice if any is set; clusters itself
// is never modified), and the health of every serving cluster's gateway. A Down slice stays the
// same slice while its content does not change.
func (h *HealthChecker) Track(clusters []resolver.Cluster) ([]resolver.Cluster, []PeerHealth) {
	wanted, over := h.wanted(clusters)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.retarget(wanted)
	if over != h.over && over > 0 {
		h.log.Warn("too many gateway addresses and ports to health-check, the rest count as healthy",
			zap.Int("max_targets", h.opts.MaxTargets), zap.Int("unchecked", over))
	}
	h.over = over
	out, cloned := clusters, false
	health := make([]PeerHealth, 0, len(clusters))
	down := make(map[string][]netip.Addr, len(h.down))
	for i := range clusters {
		c := &clusters[i]
		if !c.State.Serving() || len(c.Gateway.Addresses) == 0 {
			continue
		}
		d, n := h.downOf(c)
		if slices.Equal(d, h.down[c.Name]) {
			d = h.down[c.Name]
		}
		if d != nil {
			down[c.Name] = d
		}
		health = append(health, PeerHealth{Peer: c.Name, Up: n - len(d), Down: len(d)})
		if d != nil || c.Gateway.Down != nil {
			if !cloned {
				out, cloned = slices.Clone(clusters), true
			}
			out[i].Gateway.Down = d
		}
	}
	h.down = down
	return out, health
}

// wanted returns the targets of clusters with the clusters each belongs to, in the order of
// clusters, at most MaxTargets of them; and how many more there were.
func (h *HealthChecker) wanted(clusters []resolver.Cluster) (map[netip.AddrPort][]string, int) {
	wanted := make(map[netip.AddrPort][]string)
	over := 0
	for i := range clusters {
		c := &clusters[i]
		if !c.State.Serving() {
			continue
		}
		ports := healthPorts(c)
		for _, a := range c.Gateway.Addresses {
			for _, p := range ports {
				at := netip.AddrPortFrom(a.Unmap(), p)
				switch peers, ok := wanted[at]; {
				case ok:
					wanted[at] = append(peers, c.Name)
				case len(wanted) < h.opts.MaxTargets:
					wanted[at] = []string{c.Name}
				default:
					over++
				}
			}
		}
	}
	return wanted, over
}

// healthPorts returns the ports probed on a cluster's gateway addresses: the gateway's fixed
// port, or the cluster's lowest distinct TCP service ports, at most MaxHealthPorts.
func healthPorts(c *resolver.Cluster) []uint16 {
	if c.Gateway.Port != 0 {
		return []uint16{c.Gateway.Port}
	}
	var ports []uint16
	for _, svc := range c.Services {
		for _, p := range svc.Ports {
			if p.Port != 0 && (p.Protocol == "" || strings.EqualFold(p.Protocol, "TCP")) {
				ports = append(ports, p.Port)
			}
		}
	}
	slices.Sort(ports)
	ports = slices.Compact(ports)
	return ports[:min(len(ports), MaxHealthPorts)]
}

// retarget adds the wanted targets that are new and drops those no longer wanted. The caller
// holds h.mu.
func (h *HealthChecker) retarget(wanted map[netip.AddrPort][]string) {
	now := time.Now()
	added := false
	for at, peers := range wanted {
		slices.Sort(peers)
		peers = slices.Compact(peers)
		if t := h.targets[at]; t != nil {
			t.peers = peers
			continue
		}
		t := &target{at: at, peers: peers, next: now.Add(h.firstDelay()), index: -1}
		h.targets[at] = t
		h.queue.push(t)
		added = true
	}
	for at, t := range h.targets {
		if _, ok := wanted[at]; !ok {
			t.gone = true
			if t.index >= 0 {
				heap.Remove(&h.queue, t.index)
			}
			delete(h.targets, at)
		}
	}
	if added {
		h.poke()
	}
}

// downOf returns the sorted addresses of c that are down (all their probed ports are), or nil,
// and how many distinct addresses c has. The caller holds h.mu.
func (h *HealthChecker) downOf(c *resolver.Cluster) ([]netip.Addr, int) {
	ports := healthPorts(c)
	var down, seen []netip.Addr
	for _, a := range c.Gateway.Addresses {
		a = a.Unmap()
		if slices.Contains(seen, a) {
			continue
		}
		seen = append(seen, a)
		if len(ports) > 0 && h.allDown(a, ports) {
			down = append(down, a)
		}
	}
	slices.SortFunc(down, netip.Addr.Compare)
	return down, len(seen)
}

// allDown reports whether every port of a is probed and down.
func (h *HealthChecker) allDown(a netip.Addr, ports []uint16) bool {
	for _, p := range ports {
		t := h.targets[netip.AddrPortFrom(a, p)]
		if t == nil || !t.down {
			return false
		}
	}
	return true
}

// targetQueue is a heap of targets by next probe time.
type targetQueue []*target

func (q targetQueue) Len() int           { return len(q) }
func (q targetQueue) Less(i, j int) bool { return q[i].next.Before(q[j].next) }
func (q targetQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}

func (q *targetQueue) Push(x any) {
	t := x.(*target)
	t.index = len(*q)
	*q = append(*q, t)
}

func (q *targetQueue) Pop() any {
	old := *q
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	t.index = -1
	return t
}

func (q *targetQueue) push(t *target) { heap.Push(q, t) }
func (q *targetQueue) pop() *target   { return heap.Pop(q).(*target) }
