// Package sync keeps the resolver's map of peer clusters current.
//
// A Syncer runs a set of sources and one builder goroutine. The sources: Static (a YAML file of
// clusters, for VMs and peers without an API), Kubeconfig (peer clusters watched with client-go,
// one per context of a file or folder of kubeconfigs), RemoteSecrets (the same, for the peers
// named by Istio remote secrets in the local cluster) and LocalNamespaces (the local cluster's
// namespaces, for remote namespaces) and ServiceEntries (Istio ServiceEntry objects of the local
// cluster, read with the dynamic client). A PeerSet runs one peer per cluster: its informers
// cache small plain values, and its state goes syncing → live → stale → revoked → live.
//
// A HealthChecker, when the Syncer has one, probes every gateway address of the merged map with
// TCP connects in its own goroutines; the builder marks the addresses it finds down before each
// publish, and a probe that changes a gateway's state signals a rebuild like a source does.
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
//   - Only the builder goroutine calls Publish, so generations grow one by one (a build that
//     only moves the clusters' confirmation times keeps the generation: the answers are the same).
//   - A published snapshot is never modified; the resolver swaps it with one atomic store, and
//     readers (every DNS query) load it without a lock.
//   - Nothing is published until every source has completed its first full listing (or the
//     startup timeout has passed), so the server answers SERVFAIL, never a cacheable NXDOMAIN,
//     while it starts — unless a snapshot file holds the last map, which is then served as
//     stale until the sources take over.
//   - A source that fails to reload keeps serving its previous data; the failure is logged and
//     reported, never turned into an empty map.
//
// The package logs through zap (client-go's klog too, with RouteKlog) and counts through the
// Reporter interface, which the CoreDNS plugin implements with Prometheus; it imports neither
// CoreDNS nor Prometheus.
package sync
