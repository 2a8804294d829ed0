// Package testbed runs real Kubernetes clusters on loopback for tests that
// claim cross-cluster behaviour: each Cluster is its own etcd and
// kube-apiserver, with its own certificate authority, tokens and admin
// kubeconfig, and can be killed and restarted to play a peer that goes away
// and comes back.
//
// The binaries come from scripts/testbed.sh build, which compiles them once
// per machine from the Go module proxy (see test/testbed/tools); a Cluster
// fails to start, never skips, when they are missing.
//
// Only the API server runs: no controller manager, scheduler or kubelet. So
// nothing assigns LoadBalancer addresses (tests write status.loadBalancer
// themselves), no EndpointSlices appear, and a deleted Namespace stays
// Terminating: give each test a fresh namespace.
//
// A cluster takes 3.5 to 5 seconds to become ready and about 330 MiB of
// memory; start the clusters a test binary needs once, in TestMain, with
// StartAll, or per test with StartT.
package testbed
