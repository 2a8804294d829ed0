// Package forwarding tests peerdns where users meet it: behind the cluster's own DNS. Against
// real API servers (test/testbed), peerdnsctl writes the stub domain into the local cluster's
// kube-dns or CoreDNS ConfigMap; then the real forwarders run with exactly what it wrote —
// dnsmasq with the --server=/zone/ip#port lines kube-dns derives from stubDomains, and CoreDNS
// (our build, with the kubernetes plugin against the local API server) with the Corefile — and
// dig asks them, not peerdns. The integrated mode of deploy/README.md, the plugin inside the
// cluster's CoreDNS after kubernetes, is run from the README's own Corefile.
package forwarding
