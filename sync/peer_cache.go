package sync

import (
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/tools/cache"

	"github.com/peerdns/peerdns/resolver"
)

// The informers of a peer cache these small values instead of Services: their transforms turn
// each Service into what the map needs, at the boundary, so that 100,000 cached Services cost a
// few hundred bytes each and a rebuild allocates nothing per Service. They implement
// metav1.ObjectMetaAccessor, which is all an informer's store asks of what it holds. Once
// cached they are never modified.

// cachedService is what a peer keeps of one Service.
type cachedService struct {
	rv       string
	exported bool
	svc      resolver.Service // Ports nil when not exported; never modified
}

// GetObjectMeta gives the informer the Service's key and resource version.
func (c *cachedService) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Namespace: c.svc.Namespace, Name: c.svc.Name, ResourceVersion: c.rv}
}

// sameAnswer reports whether a and b put the same thing in the map.
func (c *cachedService) sameAnswer(o *cachedService) bool {
	return c.exported == o.exported && (!c.exported || slices.Equal(c.svc.Ports, o.svc.Ports))
}

// cachedGateway is what a peer keeps of its gateway Service.
type cachedGateway struct {
	namespace, name, rv string
	info                gatewayInfo
}

// GetObjectMeta gives the informer the Service's key and resource version.
func (c *cachedGateway) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Namespace: c.namespace, Name: c.name, ResourceVersion: c.rv}
}

// gatewayInfo is what the map needs of a gateway Service.
type gatewayInfo struct {
	ips       []netip.Addr // usable addresses of status.loadBalancer.ingress, sorted
	hostnames []string     // its hostnames: lower case, no trailing dot, sorted, once each
	port      uint16       // sniPort when the Service has Istio's SNI port, else 0
	locality  resolver.Locality
}

func (g gatewayInfo) equal(o gatewayInfo) bool {
	return slices.Equal(g.ips, o.ips) && slices.Equal(g.hostnames, o.hostnames) &&
		g.port == o.port && g.locality == o.locality
}

// exportRules decide which Services a peer exports (SPEC section 5).
type exportRules struct {
	selector   labels.Selector // nil: every Service
	namespaces []string        // the only namespaces; nil: all but excluded
	excluded   []string        // system namespaces and the gateway's
}

func newExportRules(opts PeerOptions) exportRules {
	r := exportRules{selector: opts.ExportSelector}
	if len(opts.Namespaces) > 0 {
		r.namespaces = slices.Compact(slices.Sorted(slices.Values(opts.Namespaces)))
		return r
	}
	r.excluded = append(slices.Clone(systemNamespaces), opts.Gateway.Namespace)
	return r
}

// exported reports whether a Service in namespace ns with labels ls is exported.
func (r exportRules) exported(ns string, ls map[string]string) bool {
	if ls[ExportLabel] == exportDisabled {
		return false
	}
	if r.namespaces != nil && !slices.Contains(r.namespaces, ns) || slices.Contains(r.excluded, ns) {
		return false
	}
	return r.selector == nil || r.selector.Matches(labels.Set(ls))
}

// labelSelector is the list/watch label selector: the API server sends only exported Services,
// and a Service that stops matching is deleted from the cache.
func (r exportRules) labelSelector() string {
	req, err := labels.NewRequirement(ExportLabel, selection.NotEquals, []string{exportDisabled})
	if err != nil { // the label and value are constants
		panic(err)
	}
	sel := r.selector
	if sel == nil {
		sel = labels.Everything()
	}
	return sel.Add(*req).String()
}

// fieldSelector is the list/watch field selector of the cluster-wide informer: the excluded
// namespaces are left on the server.
func (r exportRules) fieldSelector() string {
	parts := make([]string, len(r.excluded))
	for i, ns := range r.excluded {
		parts[i] = "metadata.namespace!=" + ns
	}
	return strings.Join(parts, ",")
}

// transformService is the Service informers' transform.
func (r exportRules) transformService(obj any) (any, error) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return obj, nil // a tombstone or a value already transformed
	}
	c := &cachedService{rv: svc.ResourceVersion, exported: r.exported(svc.Namespace, svc.Labels)}
	c.svc = resolver.Service{Name: svc.Name, Namespace: svc.Namespace}
	if c.exported {
		c.svc.Ports = servicePorts(svc.Spec.Ports)
	}
	return c, nil
}

// servicePorts returns the ports of a Service for SRV. A name that is not an IANA service name
// is dropped (the port stays, unnamed).
func servicePorts(ports []corev1.ServicePort) []resolver.Port {
	var out []resolver.Port
	for _, p := range ports {
		if p.Port <= 0 || p.Port > 65535 {
			continue
		}
		name := p.Name
		if !isPortName(name) {
			name = ""
		}
		proto := string(p.Protocol)
		if proto == "" {
			proto = string(corev1.ProtocolTCP)
		}
		out = append(out, resolver.Port{Name: name, Port: uint16(p.Port), Protocol: proto})
	}
	return out
}

// transformGateway is the gateway informer's transform.
func transformGateway(obj any) (any, error) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return obj, nil
	}
	return &cachedGateway{
		namespace: svc.Namespace, name: svc.Name, rv: svc.ResourceVersion, info: readGateway(svc),
	}, nil
}

// readGateway reads what the map needs of a gateway Service.
func readGateway(svc *corev1.Service) gatewayInfo {
	var g gatewayInfo
	var ips []netip.Addr
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if a, err := netip.ParseAddr(in.IP); err == nil {
			ips = append(ips, a)
		}
		if h := strings.ToLower(strings.TrimSuffix(in.Hostname, ".")); isHostname(h) {
			g.hostnames = append(g.hostnames, h)
		}
	}
	g.ips = usable(ips)
	slices.Sort(g.hostnames)
	g.hostnames = slices.Compact(g.hostnames)
	for _, p := range svc.Spec.Ports {
		if p.Name == sniPortName && p.Port == sniPort {
			g.port = sniPort
		}
	}
	g.locality = resolver.Locality{Region: svc.Labels[RegionLabel], Zone: svc.Labels[ZoneLabel]}
	return g
}

// unwrap returns the object of an informer event, the last known state of a tombstone included.
func unwrap(obj any) any {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return t.Obj
	}
	return obj
}
