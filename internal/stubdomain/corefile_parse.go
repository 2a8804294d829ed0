package stubdomain

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/coredns/caddy/caddyfile"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/parse"
	"github.com/coredns/coredns/plugin/pkg/transport"
	"github.com/miekg/dns"
)

// directives are the directives a Corefile may use: CoreDNS's own list, and peerdns for a
// cluster DNS that runs the peerdns build. An unknown one (a typo) fails the parse.
var directives = append(slices.Clone(dnsserver.Directives), "peerdns")

// Lines that define a snippet, "(name) {", and that import a snippet or files, "import X".
var (
	snippetLine = regexp.MustCompile(`^\s*\(([^()\s]+)\)`)
	importLine  = regexp.MustCompile(`^\s*import\s+(\S+)\s*$`)
)

// parseCorefile parses a Corefile with CoreDNS's parser and directive list. Imports of files
// are left out: the files are in the CoreDNS pod, not here. Imports of snippets are followed.
func parseCorefile(corefile string) ([]caddyfile.ServerBlock, error) {
	lines := strings.SplitAfter(corefile, "\n")
	var snippets []string
	for _, l := range lines {
		if m := snippetLine.FindStringSubmatch(l); m != nil {
			snippets = append(snippets, m[1])
		}
	}
	for i, l := range lines {
		if m := importLine.FindStringSubmatch(l); m != nil && !slices.Contains(snippets, m[1]) {
			lines[i] = l[len(strings.TrimRight(l, "\r\n")):] // the line ending only: line numbers stay
		}
	}
	return caddyfile.Parse(CoreDNSKey, strings.NewReader(strings.Join(lines, "")), directives)
}

// keyZones reads a server block key, e.g. "global:53", "dns://.:1053", "10.0.0.0/24": its
// zones (fully qualified, lower case), port and transport.
func keyZones(key string) (zones []string, port, trans string, err error) {
	trans, addr := parse.Transport(key)
	hosts, port, err := plugin.SplitHostPort(addr)
	if err != nil {
		return nil, "", "", err
	}
	if port == "" {
		port = defaultPort(trans)
	}
	for _, h := range hosts {
		zones = append(zones, strings.ToLower(dns.Fqdn(h)))
	}
	return zones, port, trans, nil
}

func defaultPort(trans string) string {
	switch trans {
	case transport.TLS:
		return transport.TLSPort
	case transport.QUIC:
		return transport.QUICPort
	case transport.GRPC:
		return transport.GRPCPort
	case transport.HTTPS, transport.HTTPS3:
		return transport.HTTPSPort
	}
	return transport.Port
}

// rootPort returns the port of the first server block that serves the root zone over plain
// DNS; 53 when there is none.
func rootPort(blocks []caddyfile.ServerBlock) string {
	for _, sb := range blocks {
		for _, key := range sb.Keys {
			zones, port, trans, err := keyZones(key)
			if err == nil && trans == transport.DNS && slices.Contains(zones, ".") {
				return port
			}
		}
	}
	return transport.Port
}

// checkClash returns an error naming the first server block that serves one of zones on port.
func checkClash(blocks []caddyfile.ServerBlock, zones []string, port string) error {
	for _, sb := range blocks {
		for _, key := range sb.Keys {
			served, p, _, err := keyZones(key)
			if err != nil || p != port {
				continue
			}
			for _, z := range zones {
				if slices.Contains(served, dns.Fqdn(z)) {
					return fmt.Errorf("%s: zone %q on port %s is already served by the server block %q: %w; remove that block or install another --zone",
						CoreDNS.Ref(), z, port, strings.Join(sb.Keys, " "), ErrZoneTaken)
				}
			}
		}
	}
	return nil
}

// forwardTo returns the first address of a server block's forward directive, or "".
func forwardTo(sb caddyfile.ServerBlock) string {
	toks := sb.Tokens["forward"]
	if len(toks) < 3 {
		return ""
	}
	return toks[2].Text
}
