// Package sync keeps the resolver's map of peer clusters current.
//
// A Syncer runs a set of sources (a static YAML file today; kubeconfig peers and remote secrets
// later) and one builder goroutine:
//
//	source.Run ──changed()──▶ signal (buffered channel of one) ──▶ builder ──▶ Publisher.Publish
//
// Invariants:
//
//   - Sources turn whatever they read (YAML, Kubernetes objects) into plain resolver values at
//     the boundary. Nothing past a source's Clusters method sees a file or an API object.
//   - A slice returned by Clusters is never modified afterwards: a source that learns something
//     new builds a new slice and swaps it in. Callers must not modify it either.
//   - changed never blocks. Many signals close together make one rebuild: a signal that arrives
//     while a build runs causes exactly one more build, never one per signal.
//   - Only the builder goroutine calls Publish, so generations grow one by one.
//   - A published snapshot is never modified; the resolver swaps it with one atomic store, and
//     readers (every DNS query) load it without a lock.
//   - Nothing is published until every source has completed its first full listing, so the
//     server answers SERVFAIL, never a cacheable NXDOMAIN, while it starts.
//   - A source that fails to reload keeps serving its previous data; the failure is logged and
//     reported, never turned into an empty map.
//
// The package logs through zap and counts through the Reporter interface, which the CoreDNS
// plugin implements with Prometheus; it imports neither CoreDNS nor Prometheus.
package sync
