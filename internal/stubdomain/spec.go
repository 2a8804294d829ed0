package stubdomain

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Target is the cluster DNS that forwards to peerdns.
type Target string

// The supported targets.
const (
	KubeDNS Target = "kube-dns"
	CoreDNS Target = "coredns"
)

// Targets lists every target, in the order status shows them.
var Targets = []Target{KubeDNS, CoreDNS}

// ParseTarget returns the target named s.
func ParseTarget(s string) (Target, error) {
	for _, t := range Targets {
		if string(t) == s {
			return t, nil
		}
	}
	return "", fmt.Errorf("unknown target %q: want kube-dns or coredns", s)
}

// Where each target's configuration lives.
const (
	Namespace   = "kube-system"
	KubeDNSName = "kube-dns"
	KubeDNSKey  = "stubDomains"
	CoreDNSName = "coredns"
	CoreDNSKey  = "Corefile"
)

// Annotations peerdns sets on the kube-dns ConfigMap.
const (
	// ZonesAnnotation lists the stub domains peerdns added, comma-separated: the only entries
	// it ever changes or removes.
	ZonesAnnotation = "peerdns.io/stub-domains"
	// CreatedAnnotation says that the stubDomains key did not exist before peerdns added it,
	// so that removing peerdns's last entry removes the key rather than leave "{}".
	CreatedAnnotation = "peerdns.io/created"
)

// configMapName returns the name and data key of t's ConfigMap.
func (t Target) configMap() (name, key string) {
	if t == KubeDNS {
		return KubeDNSName, KubeDNSKey
	}
	return CoreDNSName, CoreDNSKey
}

// Ref names t's ConfigMap and key, e.g. "kube-system/kube-dns stubDomains".
func (t Target) Ref() string {
	name, key := t.configMap()
	return Namespace + "/" + name + " " + key
}

// Spec is what peerdns wants installed: zones forwarded to one server.
type Spec struct {
	Zones  []string // normalized (NormalizeZone), no duplicates
	Server string   // "IP" or "IP:PORT" ("[IPv6]:PORT"), as ParseServer returns it
}

// ErrZoneTaken is returned when a zone to install is already forwarded elsewhere by an entry
// peerdns did not add.
var ErrZoneTaken = errors.New("zone already configured by someone else")

// NormalizeZone returns zone in lower case without its final dot, or an error when it is not a
// domain name peerdns can serve. The root zone is refused: it would take every name.
func NormalizeZone(zone string) (string, error) {
	z := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(zone)), ".")
	switch {
	case z == "":
		return "", fmt.Errorf("zone %q: the root zone would forward every name to peerdns", zone)
	case len(z) > 253:
		return "", fmt.Errorf("zone %q: longer than 253 characters", zone)
	}
	for label := range strings.SplitSeq(z, ".") {
		if !validLabel(label) {
			return "", fmt.Errorf("zone %q: %q is not a DNS label (a-z, 0-9, '-', '_', at most 63)", zone, label)
		}
	}
	return z, nil
}

func validLabel(l string) bool {
	if l == "" || len(l) > 63 {
		return false
	}
	for _, r := range l {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// NormalizeZones normalizes every zone and drops duplicates, keeping the first.
func NormalizeZones(zones []string) ([]string, error) {
	var out []string
	for _, z := range zones {
		n, err := NormalizeZone(z)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// ErrServerName is returned for a --server that is not an IP address.
var ErrServerName = errors.New("stub domains need an IP address")

// ParseServer checks a server address, "IP", "IP:PORT" or "[IPv6]:PORT", and returns it in
// the form both targets take.
func ParseServer(s string) (string, error) {
	if ip, err := netip.ParseAddr(s); err == nil {
		if ip.Zone() != "" {
			return "", fmt.Errorf("server %q: an address with a zone cannot be forwarded to from a cluster", s)
		}
		return ip.String(), nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return "", fmt.Errorf("server %q: %w, as IP or IP:PORT ([IPv6]:PORT)", s, ErrServerName)
	}
	if ap.Port() == 0 {
		return "", fmt.Errorf("server %q: port 0", s)
	}
	return FormatServer(ap.Addr(), ap.Port()), nil
}

// FormatServer writes an address and port as the targets take them; port 53 is left out.
func FormatServer(ip netip.Addr, port uint16) string {
	if port == 53 || port == 0 {
		return ip.String()
	}
	return netip.AddrPortFrom(ip, port).String()
}

// RemoteZone is the stub domain of a remote namespace: <ns>.svc.<cluster-domain>.
func RemoteZone(ns, clusterDomain string) string {
	return ns + ".svc." + strings.TrimSuffix(strings.ToLower(clusterDomain), ".")
}

// isRemoteZone reports whether zone is a remote namespace's stub domain under clusterDomain.
func isRemoteZone(zone, clusterDomain string) bool {
	suffix := ".svc." + strings.TrimSuffix(strings.ToLower(clusterDomain), ".")
	ns, ok := strings.CutSuffix(zone, suffix)
	return ok && ns != "" && !strings.Contains(ns, ".")
}

// splitZones reads a comma-separated list of zones, as the annotation holds it.
func splitZones(s string) []string {
	var out []string
	for z := range strings.SplitSeq(s, ",") {
		if z = strings.TrimSpace(z); z != "" {
			out = append(out, strings.TrimSuffix(strings.ToLower(z), "."))
		}
	}
	return out
}
