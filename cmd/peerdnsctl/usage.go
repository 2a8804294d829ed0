package main

// The usage texts: -h prints them; a wrong command line prints the command's first line.

const mainUsageLine = "peerdnsctl [--kubeconfig PATH] [--context NAME] install|uninstall|status|sync-stubs [flags]"

const mainUsage = `peerdnsctl installs peerdns as a stub domain of a cluster's DNS.

Usage:
  peerdnsctl [global flags] COMMAND [flags]

Commands:
  install     make the cluster DNS forward peerdns's zones to the peerdns server
  uninstall   remove exactly what install added
  status      show what is installed, per target
  sync-stubs  keep the stub domains of remote namespaces current

Global flags (also accepted after COMMAND):
  --kubeconfig PATH  the cluster's kubeconfig (default: $KUBECONFIG, else ~/.kube/config,
                     else the in-cluster configuration of a pod)
  --context NAME     the kubeconfig context (default: its current-context)
  -version           print the version and exit

Targets:
  kube-dns  ConfigMap kube-system/kube-dns, key stubDomains (JSON: zone -> ["IP" or "IP:PORT"]).
            The zones peerdns added are listed in the annotation peerdns.io/stub-domains;
            every other entry keeps its text and place. A missing ConfigMap is created.
  coredns   ConfigMap kube-system/coredns, key Corefile: one server block between the lines
            "# peerdns begin" and "# peerdns end", on the port of the root server block
            (".:53" -> 53). The whole Corefile is parsed before it is written.

Writes use the ConfigMap's resourceVersion; a conflict re-reads and re-applies. A command that
would change nothing writes nothing. Exit status: 0 done, 1 cluster error (unreachable,
forbidden, a zone already configured by someone else), 2 wrong command line.

Run 'peerdnsctl COMMAND -h' for the flags of a command.
`

const installUsageLine = "peerdnsctl install --target kube-dns|coredns [--zone global]... [--server IP[:PORT]] " +
	"[--service peerdns/peerdns] [--remote-namespaces] [--cluster-domain cluster.local] " +
	"[--peers PATH]... [--remote-secrets NAMESPACE] [--timeout 30s] [--dry-run]"

const installUsage = `Usage:
  ` + installUsageLine + `

Makes the target forward --zone (repeatable; default global) to the peerdns server. Installing
again replaces peerdns's zones and address with the ones given; with nothing to change, nothing
is written. A zone that the target already forwards elsewhere, by an entry peerdns did not add,
is an error (exit 1); one that forwards to the same address is left as it is.

  --target kube-dns|coredns   which cluster DNS (required)
  --zone ZONE                 a zone to forward; repeat for several (default: global)
  --server IP[:PORT]          the peerdns server; an IP literal, IPv6 with a port as [::1]:5353;
                              a host name is refused (stub domains need an IP address)
  --service NAMESPACE/NAME    without --server, forward to this Service's ClusterIP (and its
                              DNS port when not 53) (default: peerdns/peerdns)
  --remote-namespaces         also forward <ns>.svc.<cluster-domain> for every namespace that
                              peers export services in and the local cluster does not have;
                              needs --peers or --remote-secrets
  --cluster-domain DOMAIN     the clusters' DNS domain (default: cluster.local)
  --peers PATH                a kubeconfig file or folder, one peer per context; repeatable
  --remote-secrets NAMESPACE  Istio remote secrets (istio/multiCluster=true) of the local cluster
  --timeout DURATION          how long to wait for every peer to be listed (default: 30s); a
                              peer not listed by then is an error that names it
  --dry-run                   print a unified diff of the change and write nothing
`

const uninstallUsageLine = "peerdnsctl uninstall --target kube-dns|coredns [--dry-run]"

const uninstallUsage = `Usage:
  ` + uninstallUsageLine + `

Removes exactly what install added: peerdns's stubDomains entries (and the key, when install
created it), or the Corefile's block between the peerdns markers. Everything else stays byte for
byte. A ConfigMap that install created is left in place, without peerdns's entries.

  --target kube-dns|coredns   which cluster DNS (required)
  --dry-run                   print a unified diff of the change and write nothing
`

const statusUsageLine = "peerdnsctl status [--target kube-dns|coredns] [--service peerdns/peerdns] [--cluster-domain cluster.local]"

const statusUsage = `Usage:
  ` + statusUsageLine + `

Shows, per target (both when --target is not given): whether peerdns is installed, its zones,
its remote namespaces, the address they forward to, and whether that is still the ClusterIP of
--service. Exit status 0 when the ConfigMaps could be read.

  --target kube-dns|coredns   only this target
  --service NAMESPACE/NAME    the peerdns server's Service (default: peerdns/peerdns)
  --cluster-domain DOMAIN     tells remote namespaces' zones apart (default: cluster.local)
`

const syncUsageLine = "peerdnsctl sync-stubs --target kube-dns|coredns [--peers PATH]... [--remote-secrets NAMESPACE] " +
	"[--cluster-domain cluster.local] [--timeout 30s] [--watch [--resync 5m]] [--dry-run]"

const syncUsage = `Usage:
  ` + syncUsageLine + `

Recomputes the namespaces that peers export services in and the local cluster does not have,
and adds or removes the stub domains <ns>.svc.<cluster-domain> that peerdns owns to match. The
other zones and the forward address stay as install left them; peerdns must be installed.

Without --watch it runs once: every peer must be listed within --timeout, else it fails naming
the peers (a partial list would remove stub domains of namespaces that still exist). With
--watch it syncs again after every change of the peers or of the local namespaces (changes
close together make one sync), until SIGINT or SIGTERM; peers not listed by --timeout are
logged and the others are used; a failed sync is retried, less often after each failure (5s
doubling to 5m). Every --resync it also reads the ConfigMap and puts back the stub domains of
remote namespaces that somebody else removed; a ConfigMap that is as it should be is not
written.

  --target kube-dns|coredns   which cluster DNS (required)
  --peers PATH                a kubeconfig file or folder, one peer per context; repeatable
  --remote-secrets NAMESPACE  Istio remote secrets (istio/multiCluster=true) of the local cluster
  --cluster-domain DOMAIN     the clusters' DNS domain (default: cluster.local)
  --timeout DURATION          how long to wait for every peer to be listed (default: 30s)
  --watch                     keep syncing until SIGINT/SIGTERM
  --resync DURATION           with --watch, sync this often even without a change; 0: never
                              (default: 5m)
  --dry-run                   print a unified diff of the change and write nothing
`
