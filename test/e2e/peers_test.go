package e2e

import (
	"fmt"
	"strings"
)

// contractPeers is the map most tests serve. Addresses come from the documentation ranges: they
// only ever appear in answers.
//
//   - productcatalogservice.default: east (IPv4 and IPv6, fixed gateway port 15443) and west
//     (IPv4 only, service port); named port grpc for SRV.
//   - cartservice.default: west only, so it has no IPv6 address (NODATA for AAAA).
//   - frontend.default: east only, no ports.
const contractPeers = `clusters:
  - name: east
    gateway:
      addresses: [203.0.113.7, 2001:db8::7]
      port: 15443
    locality: {region: us-east1, zone: us-east1-b}
    services:
      - name: productcatalogservice
        namespace: default
        ports:
          - {name: grpc, port: 3550, protocol: TCP}
      - name: frontend
        namespace: default
  - name: west
    gateway:
      addresses: [198.51.100.9]
    priority: 1
    services:
      - name: productcatalogservice
        namespace: default
        ports:
          - {name: grpc, port: 3550, protocol: TCP}
      - name: cartservice
        namespace: default
        ports:
          - {name: grpc, port: 7070, protocol: TCP}
`

// staticCorefile serves zone global on the test's port from peers.yaml in the server's folder,
// with extra lines added to the peerdns block.
func staticCorefile(extra ...string) string {
	return `global:{port} {
    bind 127.0.0.1
    peerdns {
        static {dir}/peers.yaml
        ` + strings.Join(extra, "\n        ") + `
    }
    errors
}
`
}

// onePeer is a peers file with one cluster serving productcatalogservice.default at addr.
func onePeer(addr string) string {
	return fmt.Sprintf(`clusters:
  - name: east
    gateway:
      addresses: [%s]
    services:
      - name: productcatalogservice
        namespace: default
`, addr)
}

// manyPeers is a peers file with n clusters (c1…cn, n ≤ 250) all serving big.default with one
// IPv4 gateway address each and a named port, for answers larger than a UDP message.
func manyPeers(n int) string {
	var b strings.Builder
	b.WriteString("clusters:\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, `  - name: c%d
    gateway:
      addresses: [198.51.100.%d]
    services:
      - name: big
        namespace: default
        ports: [{name: http, port: 80, protocol: TCP}]
`, i, i)
	}
	return b.String()
}
