package testmap

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/peerdns/peerdns/resolver"
)

// The same map written in the formats of the servers it is compared with: a static peers file
// for peerdns, a hosts file for CoreDNS's hosts plugin and a zone file for CoreDNS's file plugin
// and Knot DNS. All three give a name the same addresses; only the zone file can hold SRV records.
//
// Names, for zone Z: "<svc>.<ns>.Z" has the gateway addresses of every cluster that serves the
// service, "<cluster>.<svc>.<ns>.Z" those of one cluster, and "_<port>._<proto>.<svc>.<ns>.Z" one
// SRV record per serving cluster, pointing at "<cluster>.<svc>.<ns>.Z" on the gateway's fixed port
// (or the service's port when the gateway has none), with priority 0 and weight 1, as peerdns
// answers a map without locality or priorities.

// WriteStatic writes clusters as a static peers file (SPEC section 8), one service per line in
// YAML flow style so that 100,000 services stay well under the file size limit.
func WriteStatic(w io.Writer, clusters []resolver.Cluster) error {
	b := bufio.NewWriterSize(w, 1<<16)
	b.WriteString("clusters:\n")
	for _, c := range clusters {
		fmt.Fprintf(b, "  - name: %s\n    gateway:\n      addresses: [%s]\n", c.Name, joinAddrs(c.Gateway, ", "))
		if c.Gateway.Port != 0 {
			fmt.Fprintf(b, "      port: %d\n", c.Gateway.Port)
		}
		if c.Priority != 0 {
			fmt.Fprintf(b, "    priority: %d\n", c.Priority)
		}
		b.WriteString("    services:\n")
		for _, s := range c.Services {
			fmt.Fprintf(b, "      - {name: %s, namespace: %s", s.Name, s.Namespace)
			if len(s.Ports) > 0 {
				b.WriteString(", ports: [")
				for i, p := range s.Ports {
					if i > 0 {
						b.WriteString(", ")
					}
					fmt.Fprintf(b, "{name: %s, port: %d, protocol: %s}", p.Name, p.Port, p.Protocol)
				}
				b.WriteString("]")
			}
			b.WriteString("}\n")
		}
	}
	return b.Flush()
}

// WriteHosts writes an /etc/hosts file for zone (e.g. "global."): one line per gateway address
// and service, naming the service and its cluster-qualified name. A service served by two
// clusters appears on two lines, so it gets both addresses.
func WriteHosts(w io.Writer, clusters []resolver.Cluster, zone string) error {
	b := bufio.NewWriterSize(w, 1<<16)
	for _, c := range clusters {
		for _, s := range c.Services {
			svc := s.Name + "." + s.Namespace + "." + zone
			for _, a := range c.Gateway.Addresses {
				fmt.Fprintf(b, "%s %s %s.%s\n", a, svc, c.Name, svc)
			}
		}
	}
	return b.Flush()
}

// WriteZone writes a zone file for zone (e.g. "global."): SOA (serial 1, negative TTL = ttl),
// one NS, then the address and SRV records of every service, all with TTL ttl.
func WriteZone(w io.Writer, clusters []resolver.Cluster, zone string, ttl uint32) error {
	b := bufio.NewWriterSize(w, 1<<16)
	fmt.Fprintf(b, "$ORIGIN %s\n$TTL %d\n", zone, ttl)
	fmt.Fprintf(b, "%s %d IN SOA ns.%s hostmaster.%s 1 7200 1800 86400 %d\n", zone, ttl, zone, zone, ttl)
	fmt.Fprintf(b, "%s %d IN NS ns.%s\n", zone, ttl, zone)
	fmt.Fprintf(b, "ns.%s %d IN A 127.0.0.1\n", zone, ttl)
	for _, c := range clusters {
		for _, s := range c.Services {
			svc := s.Name + "." + s.Namespace + "." + zone
			target := c.Name + "." + svc
			for _, a := range c.Gateway.Addresses {
				typ := "A"
				if a.Is6() {
					typ = "AAAA"
				}
				fmt.Fprintf(b, "%s %d IN %s %s\n%s %d IN %s %s\n", svc, ttl, typ, a, target, ttl, typ, a)
			}
			for _, p := range s.Ports {
				if p.Name == "" {
					continue
				}
				port := p.Port
				if c.Gateway.Port != 0 {
					port = c.Gateway.Port
				}
				fmt.Fprintf(b, "_%s._%s.%s %d IN SRV %d 1 %d %s\n",
					p.Name, strings.ToLower(p.Protocol), svc, ttl, c.Priority, port, target)
			}
		}
	}
	return b.Flush()
}

func joinAddrs(g resolver.Gateway, sep string) string {
	s := make([]string, len(g.Addresses))
	for i, a := range g.Addresses {
		s[i] = a.String()
	}
	return strings.Join(s, sep)
}
