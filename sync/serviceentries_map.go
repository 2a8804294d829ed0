package sync

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/peerdns/peerdns/resolver"
)

// endpointPorts returns the ports of an entry answered with its endpoints: SRV carries the port
// the endpoints take each port's traffic on (Istio's *.global entries map every port to the
// remote gateway's 15443), or the port's own number when an endpoint does not map it. When
// every port goes to one same port, that is the entry's fixed port (shown in TXT) instead.
func (r *entryReader) endpointPorts(ports []specPort, eps []endpoint) []specPort {
	out := slices.Clone(ports)
	mapped := false
	for i := range out {
		target := out[i].port.Port
		for j, ep := range eps {
			n, ok := ep.ports[out[i].key]
			if !ok {
				n = out[i].port.Port
			}
			if j > 0 && n != target {
				r.note(fmt.Sprintf("spec.endpoints[*].ports.%s", out[i].key), "the endpoints differ: SRV carries the service port")
				target = out[i].port.Port
				break
			}
			target = n
		}
		mapped = mapped || target != out[i].port.Port
		out[i].port.Port = target
	}
	if !mapped || len(out) == 0 {
		return out
	}
	for _, p := range out[1:] {
		if p.port.Port != out[0].port.Port {
			return out
		}
	}
	r.out.port = out[0].port.Port
	for i := range out {
		out[i].port.Port = ports[i].port.Port
	}
	return out
}

// hosts turns the hosts of the entry that fall in a zone and have the form <svc>.<ns>.<zone>
// into services; the others are noted and left out.
func (r *entryReader) hosts(hosts []string, ports []specPort) {
	var rp []resolver.Port
	for _, p := range ports {
		rp = append(rp, p.port)
	}
	for i, h := range hosts {
		field := fmt.Sprintf("spec.hosts[%d]", i)
		svc, ns, why := r.splitHost(strings.ToLower(strings.TrimSuffix(h, ".")))
		if why != "" {
			r.note(field, fmt.Sprintf("%s %s: ignored", h, why))
			continue
		}
		r.out.services = append(r.out.services, resolver.Service{Name: svc, Namespace: ns, Ports: nilIfEmpty(rp)})
	}
	slices.SortFunc(r.out.services, compareService)
	r.out.services = slices.CompactFunc(r.out.services, func(a, b resolver.Service) bool {
		return compareService(a, b) == 0
	})
}

func compareService(a, b resolver.Service) int {
	if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}

// splitHost returns the service and namespace of host (lower case, no trailing dot) in the
// longest zone it is in, or why it has none.
func (r *entryReader) splitHost(host string) (svc, ns, why string) {
	if strings.HasPrefix(host, "*") {
		return "", "", "is a wildcard"
	}
	fqdn := host + "."
	zone := ""
	for _, z := range r.zones {
		if len(z) > len(zone) && strings.HasSuffix(fqdn, "."+z) {
			zone = z
		}
	}
	if zone == "" {
		return "", "", "is in none of the zones " + strings.Join(r.zones, ", ")
	}
	rel := strings.TrimSuffix(fqdn, "."+zone)
	svc, ns, ok := strings.Cut(rel, ".")
	if !ok || !isLabel(svc) || !isLabel(ns) {
		return "", "", "is not <service>.<namespace>." + zone
	}
	return svc, ns, ""
}

// commonLocality returns the locality of the endpoints when they all have the same one.
func commonLocality(eps []endpoint) resolver.Locality {
	if len(eps) == 0 {
		return resolver.Locality{}
	}
	for _, ep := range eps[1:] {
		if ep.locality != eps[0].locality {
			return resolver.Locality{}
		}
	}
	return eps[0].locality
}

// entryLabelHash is the length of the hash suffix of a cluster name that had to be shortened.
const entryLabelHash = 8

// entryLabels names the cluster of each entry (keys "namespace/name", sorted): a DNS label
// "<namespace>-<name>", dots turned into hyphens. A name longer than 63 characters, or one that
// two entries would share, is shortened and given a suffix of the hash of the key instead, so
// that every entry has its own name, the same from build to build.
func entryLabels(keys []string) []string {
	labels := make([]string, len(keys))
	count := make(map[string]int, len(keys))
	for i, k := range keys {
		labels[i] = strings.ReplaceAll(strings.Replace(k, "/", "-", 1), ".", "-")
		count[labels[i]]++
	}
	for i, k := range keys {
		if count[labels[i]] == 1 && isLabel(labels[i]) {
			continue
		}
		sum := sha256.Sum256([]byte(k))
		base := labels[i][:min(len(labels[i]), 63-entryLabelHash-1)]
		labels[i] = strings.TrimRight(base, "-") + "-" + hex.EncodeToString(sum[:])[:entryLabelHash]
	}
	return labels
}

// clusters maps the entries that serve a name in the zones to clusters.
func (s *ServiceEntries) clusters(entries []*cachedEntry) []resolver.Cluster {
	keys := make([]string, len(entries))
	for i, e := range entries {
		keys[i] = e.key()
	}
	labels := entryLabels(keys)
	out := []resolver.Cluster{}
	for i, e := range entries {
		if len(e.spec.problems) > 0 || len(e.spec.services) == 0 {
			continue
		}
		out = append(out, resolver.Cluster{
			Name: labels[i], Source: ServiceEntriesSource, State: resolver.Live, Updated: e.seen,
			Gateway: s.gateway(e.spec), Locality: e.spec.locality, Priority: e.spec.priority, Services: e.spec.services,
		})
	}
	return out
}

// gateway returns the addresses an entry is answered with.
func (s *ServiceEntries) gateway(spec entrySpec) resolver.Gateway {
	if len(spec.vips) > 0 {
		return resolver.Gateway{Addresses: spec.vips}
	}
	return s.hosts.gateway(gatewayInfo{ips: spec.ips, hostnames: spec.hostnames, port: spec.port})
}

// sameEntryCluster reports whether two clusters of this source are equal.
func sameEntryCluster(a, b resolver.Cluster) bool {
	return a.Name == b.Name && a.Updated.Equal(b.Updated) && a.Locality == b.Locality &&
		sameGateway(a.Gateway, b.Gateway) && slices.EqualFunc(a.Services, b.Services, func(x, y resolver.Service) bool {
		return x.Name == y.Name && x.Namespace == y.Namespace && slices.Equal(x.Ports, y.Ports)
	})
}
