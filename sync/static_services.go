package sync

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/peerdns/peerdns/resolver"
)

// services reads a cluster's list of services; each namespace/name at most once.
func (p *parser) services(n *yaml.Node) []resolver.Service {
	items := p.list(n, "services")
	services := make([]resolver.Service, 0, len(items))
	firstLine := make(map[string]int) // namespace/name -> line
	for _, item := range items {
		s, ok := p.service(item)
		if !ok {
			continue
		}
		key := s.Namespace + "/" + s.Name
		if line, dup := firstLine[key]; dup {
			p.errorf(item, "duplicate service %s (first on line %d)", key, line)
			continue
		}
		firstLine[key] = item.Line
		services = append(services, s)
	}
	return services
}

// service reads one service; ok is false when its name or namespace is missing or invalid.
func (p *parser) service(n *yaml.Node) (resolver.Service, bool) {
	var s resolver.Service
	var name, namespace, ports *yaml.Node
	if !p.fields(n, "service", map[string]**yaml.Node{
		"name": &name, "namespace": &namespace, "ports": &ports,
	}) {
		return s, false
	}
	s.Name = p.name(n, name, "service name", isDNS1035Label, dns1035Rule)
	s.Namespace = p.name(n, namespace, "namespace", isLabel, labelRule)
	if ports != nil && !isNull(ports) {
		s.Ports = p.ports(ports)
	}
	return s, s.Name != "" && s.Namespace != ""
}

// name reads the required name v of mapping n (what says which), or returns "" with an error.
func (p *parser) name(n, v *yaml.Node, what string, valid func(string) bool, rule string) string {
	if v == nil {
		p.errorf(n, "service: missing %s", what)
		return ""
	}
	s, _ := p.validated(v, what, valid, rule)
	return s
}

// validated reads string v and checks it with valid, or returns "", false with an error.
func (p *parser) validated(v *yaml.Node, what string, valid func(string) bool, rule string) (string, bool) {
	s, ok := p.str(v, what)
	if ok && !valid(s) {
		p.errorf(v, "invalid %s %q: want %s", what, s, rule)
		return "", false
	}
	return s, ok
}

// ports reads a service's ports; each name and each number/protocol at most once.
func (p *parser) ports(n *yaml.Node) []resolver.Port {
	items := p.list(n, "ports")
	ports := make([]resolver.Port, 0, len(items))
	nameLine := make(map[string]int)
	portLine := make(map[string]int) // "3550/TCP" -> line
	for _, item := range items {
		pt, ok := p.servicePort(item)
		if !ok {
			continue
		}
		if line, dup := nameLine[pt.Name]; dup && pt.Name != "" {
			p.errorf(item, "duplicate port name %q (first on line %d)", pt.Name, line)
			continue
		}
		key := fmt.Sprintf("%d/%s", pt.Port, pt.Protocol)
		if line, dup := portLine[key]; dup {
			p.errorf(item, "duplicate port %s (first on line %d)", key, line)
			continue
		}
		nameLine[pt.Name], portLine[key] = item.Line, item.Line
		ports = append(ports, pt)
	}
	return ports
}

// validProtocol holds the protocols a service port may have, as Kubernetes spells them.
var validProtocol = map[string]bool{"TCP": true, "UDP": true, "SCTP": true}

// servicePort reads one port: a number, an optional name (no SRV record without one) and an
// optional protocol (TCP when not given).
func (p *parser) servicePort(n *yaml.Node) (resolver.Port, bool) {
	pt := resolver.Port{Protocol: "TCP"}
	var name, port, protocol *yaml.Node
	if !p.fields(n, "port", map[string]**yaml.Node{
		"name": &name, "port": &port, "protocol": &protocol,
	}) {
		return pt, false
	}
	ok := true
	if name != nil {
		pt.Name, ok = p.validated(name, "port name", isPortName, portNameRule)
	}
	if port == nil {
		p.errorf(n, "port: missing port")
		ok = false
	} else if pt.Port = p.port(port, "port"); pt.Port == 0 {
		ok = false
	}
	if protocol != nil {
		s, isStr := p.str(protocol, "protocol")
		pt.Protocol = strings.ToUpper(s)
		if isStr && !validProtocol[pt.Protocol] {
			p.errorf(protocol, "invalid protocol %q: want TCP, UDP or SCTP", s)
		}
		ok = ok && validProtocol[pt.Protocol]
	}
	return pt, ok
}
