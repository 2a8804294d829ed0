// Package resolver answers DNS questions about services in peer clusters from an in-memory map.
//
// It knows nothing of Kubernetes or CoreDNS: sources (package sync) describe peer clusters as
// plain Cluster values, Build turns a set of them into a Snapshot, and a Resolver serves the
// latest Snapshot.
//
// Invariants:
//
//   - A Snapshot is immutable once built. Publish swaps the whole map with one atomic store, so
//     readers never lock and never see half an update.
//   - Only one goroutine publishes (the sync builder); any number look up.
//   - Lookup does not allocate: names are folded to lower case on the stack, matched against the
//     zones, split into labels and found with one map lookup. Everything an answer needs was
//     computed when the snapshot was built.
//   - Answer writes fresh records: other plugins in a CoreDNS chain may change a response, so
//     nothing written into a message points into the snapshot.
//   - Gateway addresses failing health checks (Gateway.Down) are left out of answers when the
//     snapshot is built, never at query time; a name whose addresses of one family are all down
//     is answered with all of them (fail open), and Snapshot.FailOpen counts such services.
//   - Before the first Publish every query in a zone is NotReady (SERVFAIL), never a negative
//     answer that resolvers downstream would cache.
//
// The names answered, for a zone Z (SPEC section 1):
//
//	<svc>.<ns>.Z                   A, AAAA, TXT: the gateways of every cluster serving ns/svc
//	<cluster>.<svc>.<ns>.Z         the same, through one cluster only
//	_<port>._<proto>.<svc>.<ns>.Z  SRV: one record per serving cluster with that named port
//	<ns>.Z, _<proto>.<svc>.<ns>.Z  empty non-terminals: NOERROR, no records
//	Z                              SOA (serial: the map's generation) and NS
//	ns.dns.Z                       the name server's own address (as the query arrived)
//
// The package neither logs nor counts: it returns results, and its caller logs and counts.
package resolver
