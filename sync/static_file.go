package sync

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/peerdns/peerdns/resolver"
)

// staticSource is the Source name of the static file, and the Source of its clusters.
const staticSource = "static"

// LoadStatic parses and validates one static file (SPEC section 8). Every error names the file
// and line ("peers.yaml:12: ..."); all of them are returned, joined. The clusters have Source
// "static" and State Live; Updated is left zero and gateway hostnames are not resolved: the
// Static source does both.
func LoadStatic(path string) ([]resolver.Cluster, error) {
	data, err := readStatic(path)
	if err != nil {
		return nil, err
	}
	return parseStatic(path, data)
}

// readStatic reads a static file of at most maxStaticSize bytes.
func readStatic(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read static file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxStaticSize+1))
	if err != nil {
		return nil, fmt.Errorf("read static file: %w", err)
	}
	if len(data) > maxStaticSize {
		return nil, fmt.Errorf("%s: larger than %d MiB", path, maxStaticSize>>20)
	}
	return data, nil
}

// parseStatic parses the content of a static file; path is only used in errors.
func parseStatic(path string, data []byte) ([]resolver.Cluster, error) {
	p := &parser{path: path}
	root, err := p.document(data)
	if err != nil {
		return nil, err
	}
	clusters := p.file(root)
	if err := p.err(); err != nil {
		return nil, err
	}
	return clusters, nil
}

// document returns the root node of the file's one YAML document.
func (p *parser) document(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s:1: empty file: want a clusters key", p.path)
		}
		return nil, p.yamlError(err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, fmt.Errorf("%s:%d: a second YAML document: want one", p.path, next.Line)
	case !errors.Is(err, io.EOF):
		return nil, p.yamlError(err)
	}
	if len(doc.Content) == 0 || isNull(deref(doc.Content[0])) {
		return nil, fmt.Errorf("%s:1: empty file: want a clusters key", p.path)
	}
	return deref(doc.Content[0]), nil
}

// file reads the top level: a mapping with the one key clusters.
func (p *parser) file(root *yaml.Node) []resolver.Cluster {
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "want a mapping with a clusters key at the top level, got %s", describe(root))
		return nil
	}
	var list *yaml.Node
	p.fields(root, "the top level", map[string]**yaml.Node{"clusters": &list})
	if list == nil {
		p.errorf(root, "missing clusters key (write clusters: [] for none)")
		return nil
	}
	items := p.list(list, "clusters")
	clusters := make([]resolver.Cluster, 0, len(items))
	firstLine := make(map[string]int) // cluster name -> line it was first given on
	for _, item := range items {
		c, nameNode := p.cluster(item)
		if c.Name == "" {
			continue
		}
		if line, dup := firstLine[c.Name]; dup {
			p.errorf(nameNode, "duplicate cluster %q (first on line %d)", c.Name, line)
			continue
		}
		firstLine[c.Name] = nameNode.Line
		clusters = append(clusters, c)
	}
	return clusters
}

// cluster reads one item of clusters. Its name is empty when invalid; the name's node is
// returned for the line of a duplicate.
func (p *parser) cluster(n *yaml.Node) (resolver.Cluster, *yaml.Node) {
	c := resolver.Cluster{Source: staticSource, State: resolver.Live}
	var name, gateway, locality, priority, services *yaml.Node
	if !p.fields(n, "cluster", map[string]**yaml.Node{
		"name": &name, "gateway": &gateway, "locality": &locality,
		"priority": &priority, "services": &services,
	}) {
		return c, nil
	}
	if name == nil {
		p.errorf(n, "cluster: missing name")
	} else if s, ok := p.str(name, "cluster name"); ok && !isLabel(s) {
		p.errorf(name, "invalid cluster name %q: want %s", s, labelRule)
	} else if ok {
		c.Name = s
	}
	if gateway == nil {
		p.errorf(n, "cluster: missing gateway")
	} else {
		c.Gateway = p.gateway(gateway)
	}
	if locality != nil && !isNull(locality) {
		c.Locality = p.locality(locality)
	}
	if priority != nil {
		v, _ := p.integer(priority, "priority", math.MinInt32, math.MaxInt32)
		c.Priority = int(v)
	}
	if services != nil && !isNull(services) {
		c.Services = p.services(services)
	}
	return c, name
}

// gateway reads a cluster's gateway: addresses or a hostname, and an optional fixed port.
func (p *parser) gateway(n *yaml.Node) resolver.Gateway {
	var g resolver.Gateway
	var addresses, hostname, port *yaml.Node
	if !p.fields(n, "gateway", map[string]**yaml.Node{
		"addresses": &addresses, "hostname": &hostname, "port": &port,
	}) {
		return g
	}
	switch {
	case addresses != nil && hostname != nil:
		p.errorf(n, "gateway: both addresses and hostname: give one")
	case addresses != nil:
		g.Addresses = p.addresses(addresses)
	case hostname != nil:
		g.Hostname = p.hostname(hostname)
	default:
		p.errorf(n, "gateway: want addresses or hostname")
	}
	if port != nil {
		g.Port = p.port(port, "gateway port")
	}
	return g
}

// addresses reads a gateway's list of IP addresses, kept in the file's order.
func (p *parser) addresses(n *yaml.Node) []netip.Addr {
	items := p.list(n, "gateway addresses")
	if n.Kind == yaml.SequenceNode && len(items) == 0 {
		p.errorf(n, "gateway addresses: empty list: want at least one address")
	}
	addrs := make([]netip.Addr, 0, len(items))
	firstLine := make(map[netip.Addr]int)
	for _, item := range items {
		a, ok := p.address(item)
		if !ok {
			continue
		}
		if line, dup := firstLine[a]; dup {
			p.errorf(item, "duplicate gateway address %s (first on line %d)", a, line)
			continue
		}
		firstLine[a] = item.Line
		addrs = append(addrs, a)
	}
	return addrs
}

// address reads one gateway address: an IPv4 or IPv6 address other hosts can reach.
func (p *parser) address(n *yaml.Node) (netip.Addr, bool) {
	s, ok := p.str(n, "gateway address")
	if !ok {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	switch {
	case err != nil:
		p.errorf(n, "gateway address %q is not an IP address", s)
	case a.Zone() != "":
		p.errorf(n, "gateway address %q has a zone: want an address without %%zone", s)
	case a.IsUnspecified() || a.IsMulticast() || a.IsLinkLocalUnicast():
		p.errorf(n, "gateway address %q is not a unicast address that other hosts can reach", s)
	default:
		return a.Unmap(), true
	}
	return netip.Addr{}, false
}

// hostname reads a gateway's DNS name, lower-cased, without a trailing dot.
func (p *parser) hostname(n *yaml.Node) string {
	s, ok := p.str(n, "gateway hostname")
	if !ok {
		return ""
	}
	h := strings.TrimSuffix(strings.ToLower(s), ".")
	if _, err := netip.ParseAddr(h); err == nil {
		p.errorf(n, "gateway hostname %q is an IP address: put it under addresses", s)
		return ""
	}
	if !isHostname(h) {
		p.errorf(n, "invalid gateway hostname %q: want %s", s, hostnameRule)
		return ""
	}
	return h
}

// locality reads a cluster's region and zone.
func (p *parser) locality(n *yaml.Node) resolver.Locality {
	var l resolver.Locality
	var region, zone *yaml.Node
	if !p.fields(n, "locality", map[string]**yaml.Node{"region": &region, "zone": &zone}) {
		return l
	}
	if region != nil {
		l.Region, _ = p.str(region, "locality region")
	}
	if zone != nil {
		l.Zone, _ = p.str(zone, "locality zone")
	}
	if l.Zone != "" && l.Region == "" {
		p.errorf(n, "locality: zone %q without a region", l.Zone)
	}
	return l
}
