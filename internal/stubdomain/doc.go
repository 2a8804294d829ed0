// Package stubdomain installs peerdns as a stub domain of a cluster's own DNS, and is the logic
// of peerdnsctl (SPEC section 6).
//
// Two targets are supported:
//
//   - kube-dns: the ConfigMap kube-system/kube-dns, data key stubDomains, a JSON object from
//     zone to a list of "IP" or "IP:PORT". The zones peerdns added are listed in the
//     annotation peerdns.io/stub-domains, so that nothing else is ever changed or removed.
//   - coredns: the ConfigMap kube-system/coredns, data key Corefile, where one server block
//     forwards peerdns's zones; it sits between the lines "# peerdns begin" and
//     "# peerdns end".
//
// Edits are textual and minimal: the JSON object and the Corefile keep every byte that is not
// peerdns's, and removing what an install added gives back the bytes from before it. A
// Corefile is parsed whole, with CoreDNS's directive list, before it is written; a result that
// does not parse, or where another server block already serves one of the zones on the same
// port, is refused. Writes carry the ConfigMap's resourceVersion; a conflict re-reads and
// re-applies the edit, so that a concurrent change is never lost. A write that would change
// nothing is not made.
package stubdomain
