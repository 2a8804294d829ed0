// Package multicluster checks peerdns against real peer clusters, the way an operator runs it:
// three real kube-apiservers on loopback ("local", where peerdns runs, and the peers "east" and
// "west", from test/testbed), the built server (cmd/peerdns, through test/e2e's harness) and the
// real dig.
//
// peerdns reads every cluster with the least-privilege identity that deploy/rbac.yaml grants: the
// file is applied to each API server as it is, and each kubeconfig carries a token of the
// ServiceAccount peerdns/peerdns. Every scenario of the sync contract (SPEC sections 3, 4, 5 and
// 7) is a test: a service appears, follows its gateways and disappears; a peer's API server dies
// (stale, then revoked after stale_grace) and comes back (live); an Istio remote secret adds and
// removes a peer; broken credentials are named in the log without hurting the other peers; a
// restarted server answers from its snapshot file while every peer is down; remote namespaces
// are answered under the cluster domain, never for a namespace that exists locally.
//
// The clusters start once per test binary, in TestMain, and the tests run one after another:
// some of them kill a peer's API server. Every condition is awaited by polling with a deadline.
// The tests fail, never skip, when dig or the test bed's binaries are missing.
//
// Apart from this file, everything is in _test.go files: nothing here is part of the product.
package multicluster
