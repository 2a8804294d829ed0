package sync

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/peerdns/peerdns/resolver"
)

// entrySpec is what the map needs of one Istio ServiceEntry, read at the boundary by the
// informer's transform. Its slices are never modified once read.
type entrySpec struct {
	services  []resolver.Service // one per host <svc>.<ns>.<zone>, sorted, each with the ports
	vips      []netip.Addr       // usable spec.addresses: when any, they are the answer
	ips       []netip.Addr       // endpoint IP addresses, answered when there are no vips
	hostnames []string           // endpoint hostnames (resolution DNS), resolved by the source
	port      uint16             // the one port every endpoint takes every port's traffic on
	locality  resolver.Locality  // the endpoints' locality, when they all have the same
	priority  int                // from PriorityAnnotation
	problems  []string           // malformed fields: the whole entry is skipped
	notes     []string           // what was left out, and why: logged at debug level
}

// Istio's ServiceEntry resolutions (spec.resolution).
const (
	resolutionNone   = "NONE"
	resolutionStatic = "STATIC"
	resolutionDNS    = "DNS"
	resolutionDNSRR  = "DNS_ROUND_ROBIN"
)

// entryReader reads the spec of one ServiceEntry, collecting problems and notes with the field
// they are about.
type entryReader struct {
	zones []string // fully qualified, lower case
	out   entrySpec
}

// readServiceEntry reads obj, an Istio ServiceEntry of any served version, against zones (fully
// qualified, lower case).
func readServiceEntry(obj *unstructured.Unstructured, zones []string) entrySpec {
	r := &entryReader{zones: zones}
	spec, ok := obj.Object["spec"].(map[string]any)
	if !ok {
		r.problem("spec", "missing or not an object")
		return r.out
	}
	r.priority(obj.GetAnnotations())
	hosts := r.strings(spec, "hosts")
	if len(hosts) == 0 && len(r.out.problems) == 0 {
		r.problem("spec.hosts", "empty: a ServiceEntry needs at least one host")
	}
	resolution := strings.ToUpper(r.str(spec, "resolution"))
	switch resolution {
	case "", resolutionNone, resolutionStatic, resolutionDNS, resolutionDNSRR:
	default:
		r.problem("spec.resolution", fmt.Sprintf("%q is not NONE, STATIC, DNS or DNS_ROUND_ROBIN", resolution))
	}
	ports := r.ports(spec)
	r.addresses(spec)
	eps := r.endpoints(spec, resolution == resolutionDNS || resolution == resolutionDNSRR)
	if len(r.out.problems) > 0 {
		return r.out
	}
	if len(r.out.vips) == 0 {
		ports = r.endpointPorts(ports, eps)
	}
	r.hosts(hosts, ports)
	r.out.locality = commonLocality(eps)
	r.out.ips = nilIfEmpty(r.out.ips)
	r.out.hostnames = nilIfEmpty(r.out.hostnames)
	return r.out
}

// priority reads PriorityAnnotation, when there is one.
func (r *entryReader) priority(annotations map[string]string) {
	v, ok := annotations[PriorityAnnotation]
	if !ok {
		return
	}
	p, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
	if err != nil {
		r.problem("metadata.annotations["+PriorityAnnotation+"]", fmt.Sprintf("%q is not an integer", v))
		return
	}
	r.out.priority = int(p)
}

// nilIfEmpty returns s, or nil when it is empty: entries read the same compare equal.
func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

func (r *entryReader) problem(field, msg string) {
	r.out.problems = append(r.out.problems, field+": "+msg)
}

func (r *entryReader) note(field, msg string) {
	r.out.notes = append(r.out.notes, field+": "+msg)
}

// list returns the list at m[key]; nil when it is missing.
func (r *entryReader) list(m map[string]any, key, field string) []any {
	v, ok := m[key]
	if !ok || v == nil {
		return nil
	}
	l, ok := v.([]any)
	if !ok {
		r.problem(field, "not a list")
	}
	return l
}

// str returns the string at m[key]; "" when it is missing.
func (r *entryReader) str(m map[string]any, key string) string {
	v, ok := m[key]
	if !ok || v == nil {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		r.problem("spec."+key, "not a string")
	}
	return s
}

// strings returns the list of strings at spec[key].
func (r *entryReader) strings(spec map[string]any, key string) []string {
	field := "spec." + key
	var out []string
	for i, v := range r.list(spec, key, field) {
		s, ok := v.(string)
		if !ok {
			r.problem(fmt.Sprintf("%s[%d]", field, i), "not a string")
			continue
		}
		out = append(out, s)
	}
	return out
}

// port returns the port number v: an integer from 1 to 65535.
func portNumber(v any) (uint16, bool) {
	var f float64
	switch n := v.(type) {
	case int64:
		f = float64(n)
	case int32:
		f = float64(n)
	case int:
		f = float64(n)
	case float64:
		f = n
	default:
		return 0, false
	}
	if f != math.Trunc(f) || f < 1 || f > 65535 {
		return 0, false
	}
	return uint16(f), true
}

// specPort is one entry of spec.ports.
type specPort struct {
	key  string // its name in lower case, which endpoints map to their own ports
	port resolver.Port
}

// ports reads spec.ports for SRV: HTTP, HTTPS, HTTP2, GRPC, TLS, MONGO, TCP and the other
// protocols of Istio go over TCP; UDP over UDP. A name that cannot be an SRV label leaves the
// port unnamed (no SRV record).
func (r *entryReader) ports(spec map[string]any) []specPort {
	var out []specPort
	for i, v := range r.list(spec, "ports", "spec.ports") {
		field := fmt.Sprintf("spec.ports[%d]", i)
		m, ok := v.(map[string]any)
		if !ok {
			r.problem(field, "not an object")
			continue
		}
		num, ok := portNumber(m["number"])
		if !ok {
			r.problem(field+".number", fmt.Sprintf("%v is not a port number (1 to 65535)", m["number"]))
			continue
		}
		name, _ := m["name"].(string)
		proto, _ := m["protocol"].(string)
		p := resolver.Port{Name: strings.ToLower(name), Port: num, Protocol: "TCP"}
		if strings.EqualFold(proto, "UDP") {
			p.Protocol = "UDP"
		}
		if p.Name != "" && (!isLabel(p.Name) || len(p.Name) > 62) {
			r.note(field+".name", fmt.Sprintf("%q is not a DNS label: no SRV record", name))
			p.Name = ""
		}
		out = append(out, specPort{key: strings.ToLower(name), port: p})
	}
	return out
}

// addresses reads spec.addresses: IP addresses, or CIDRs of a single address.
func (r *entryReader) addresses(spec map[string]any) {
	var vips []netip.Addr
	for i, s := range r.strings(spec, "addresses") {
		field := fmt.Sprintf("spec.addresses[%d]", i)
		a, err := netip.ParseAddr(s)
		if err != nil {
			p, perr := netip.ParsePrefix(s)
			switch {
			case perr != nil:
				r.problem(field, fmt.Sprintf("%q is not an IP address or CIDR", s))
				continue
			case p.Bits() != p.Addr().BitLen():
				r.note(field, fmt.Sprintf("%s is a range, not one address: skipped", s))
				continue
			}
			a = p.Addr()
		}
		if len(usable([]netip.Addr{a})) == 0 {
			r.note(field, fmt.Sprintf("%s cannot be answered: skipped", s))
			continue
		}
		vips = append(vips, a)
	}
	r.out.vips = nilIfEmpty(usable(vips))
}

// endpoint is one usable entry of spec.endpoints.
type endpoint struct {
	ports    map[string]uint16 // port name → the endpoint's port
	locality resolver.Locality
}

// endpoints reads spec.endpoints: IP addresses, or hostnames when dns (resolution DNS) is set.
func (r *entryReader) endpoints(spec map[string]any, dns bool) []endpoint {
	var eps []endpoint
	var ips []netip.Addr
	for i, v := range r.list(spec, "endpoints", "spec.endpoints") {
		field := fmt.Sprintf("spec.endpoints[%d]", i)
		m, ok := v.(map[string]any)
		if !ok {
			r.problem(field, "not an object")
			continue
		}
		addr, ok := m["address"].(string)
		if _, present := m["address"]; present && !ok {
			r.problem(field+".address", "not a string")
			continue
		}
		ep := endpoint{ports: r.endpointPortMap(m["ports"], field+".ports")}
		if loc, ok := m["locality"].(string); ok {
			ep.locality = parseLocality(loc)
		}
		host := strings.ToLower(strings.TrimSuffix(addr, "."))
		a, err := netip.ParseAddr(addr)
		switch {
		case addr == "":
			r.note(field, "no address (an endpoint in another network): skipped")
			continue
		case strings.HasPrefix(addr, "unix://"):
			r.note(field, "a Unix socket: skipped")
			continue
		case err == nil:
			ips = append(ips, a)
		case !dns:
			r.problem(field+".address", fmt.Sprintf("%q is not an IP address (a hostname needs resolution DNS)", addr))
			continue
		case !isHostname(host):
			r.problem(field+".address", fmt.Sprintf("%q is neither an IP address nor %s", addr, hostnameRule))
			continue
		default:
			r.out.hostnames = append(r.out.hostnames, host)
		}
		eps = append(eps, ep)
	}
	r.out.ips = usable(ips)
	slices.Sort(r.out.hostnames)
	r.out.hostnames = slices.Compact(r.out.hostnames)
	return eps
}

// endpointPortMap reads an endpoint's ports: port name → number.
func (r *entryReader) endpointPortMap(v any, field string) map[string]uint16 {
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		r.problem(field, "not an object of port names and numbers")
		return nil
	}
	out := make(map[string]uint16, len(m))
	for name, n := range m {
		num, ok := portNumber(n)
		if !ok {
			r.problem(field+"."+name, fmt.Sprintf("%v is not a port number (1 to 65535)", n))
			continue
		}
		out[strings.ToLower(name)] = num
	}
	return out
}

// parseLocality reads Istio's "region/zone/subzone".
func parseLocality(s string) resolver.Locality {
	parts := strings.SplitN(s, "/", 3)
	l := resolver.Locality{Region: parts[0]}
	if len(parts) > 1 {
		l.Zone = parts[1]
	}
	return l
}
