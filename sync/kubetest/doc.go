// Package kubetest checks the kubeconfig peers of package sync (PeerSet and the Kubeconfig
// source) against real kube-apiservers from test/testbed: services that appear, change and
// disappear, gateways whose addresses move, an API server that dies and comes back, and
// credentials that a real server refuses. It has its own test binary, so that its clusters, one
// of which is killed and restarted, are started once per binary and disturb no other package's.
//
// Apart from this file, everything is in _test.go files: nothing here is part of the product.
package kubetest
