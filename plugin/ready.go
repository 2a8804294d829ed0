package plugin

// Ready implements the ready.Readiness interface of CoreDNS's ready plugin: true once the first
// complete map is published. Before that, queries in the zones get SERVFAIL.
func (h *PeerDNS) Ready() bool { return h.syncer != nil && h.syncer.Ready() }
