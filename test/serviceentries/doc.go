// Package serviceentries checks the serviceentries source end to end, the way an operator of an
// Istio mesh runs it: real kube-apiservers on loopback from test/testbed ("local", where
// peerdns runs and the Istio ServiceEntries live; "east" and "west", peers), the ServiceEntry
// CRD of deploy/crds installed into local, the built server (cmd/peerdns, through test/e2e's
// harness) and the real dig.
//
// The entries are shaped like the *.global entries of Istio's 2019 multicluster docs
// (httpbin.bar.global with a VIP in 240.0.0.0/4 and an endpoint at the remote gateway on
// 15443). peerdns reads the local cluster with the least-privilege identity of
// deploy/rbac.yaml. One test mixes every kind of source in one map: a VM from a static file, two
// Kubernetes peers through kubeconfigs and ServiceEntries, ordered by locality and priority and
// explained by TXT.
//
// The clusters start once per test binary, in TestMain; the tests fail, never skip, when dig or
// the test bed's binaries are missing. Every condition is awaited by polling with a deadline.
//
// Apart from this file, everything is in _test.go files: nothing here is part of the product.
package serviceentries
