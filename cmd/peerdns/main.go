// Command peerdns is CoreDNS with the peerdns plugin and a curated set of standard plugins: what
// a cluster DNS server or a stand-alone peerdns server needs, and none of the plugins that link
// cloud SDKs (route53, azure, clouddns, …).
//
// Flags are CoreDNS's (-conf, -p, -plugins, -quiet, …); -version prints peerdns's version and the
// CoreDNS version it is built on.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	// The standard plugins this build ships; each is listed in directives below, and a test
	// checks that the two lists agree.
	_ "github.com/coredns/coredns/plugin/acl"
	_ "github.com/coredns/coredns/plugin/any"
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/bufsize"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/cancel"
	_ "github.com/coredns/coredns/plugin/chaos"
	_ "github.com/coredns/coredns/plugin/debug"
	_ "github.com/coredns/coredns/plugin/dnstap" // linked by forward anyway
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/file"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/header"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/hosts"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/local"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/metadata"
	_ "github.com/coredns/coredns/plugin/metrics" // directive "prometheus"
	_ "github.com/coredns/coredns/plugin/minimal"
	_ "github.com/coredns/coredns/plugin/nsid"
	_ "github.com/coredns/coredns/plugin/pprof"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
	_ "github.com/coredns/coredns/plugin/rewrite"
	_ "github.com/coredns/coredns/plugin/root"
	_ "github.com/coredns/coredns/plugin/template"
	_ "github.com/coredns/coredns/plugin/timeouts"
	_ "github.com/coredns/coredns/plugin/transfer" // linked by file and kubernetes anyway
	_ "github.com/coredns/coredns/plugin/whoami"

	_ "github.com/peerdns/peerdns/plugin" // directive "peerdns"
)

// version is peerdns's version, set at build time with -ldflags "-X main.version=v1.2.3".
var version = "v0.1.0-dev"

// directives is the plugin chain of this build: CoreDNS's own order (its
// core/dnsserver/zdirectives.go) restricted to the plugins imported above, with peerdns right
// after kubernetes, so that the cluster's own names are answered first, and before file and
// forward, so that a zone file or an upstream never shadows the peers' services. A query travels
// down this list; each plugin sees only what the ones above it pass on.
var directives = []string{
	"root",
	"metadata",
	"cancel",
	"timeouts",
	"reload",
	"nsid",
	"bufsize",
	"bind",
	"debug",
	"ready",
	"health",
	"pprof",
	"prometheus",
	"errors",
	"log",
	"dnstap",
	"local",
	"any",
	"chaos",
	"loadbalance",
	"rewrite",
	"acl",
	"cache",
	"header",
	"minimal",
	"template",
	"transfer",
	"hosts",
	"kubernetes",
	"peerdns",
	"file",
	"loop",
	"forward",
	"whoami",
}

func init() {
	dnsserver.Directives = directives
}

// gcPercent is the garbage collector's target of this build unless GOGC is set. The heap of a
// peerdns server is mostly its map, which lives long: collecting when the heap has grown by half
// instead of Go's default doubling keeps the resident memory of 100,000 services at about 140 MB
// instead of 160–180 MB (BENCHMARKS.md, Scale).
const gcPercent = 50

func main() {
	if wantVersion() {
		fmt.Println(versionLine())
		return
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	coremain.Run()
}

// wantVersion parses the command line with the flags coremain registered and reports whether
// -version was given. coremain.Run parses the same arguments again; parsing twice is harmless,
// and a bad flag ends the program here with the same message it would get there.
func wantVersion() bool {
	flag.Parse()
	f := flag.Lookup("version")
	return f != nil && f.Value.String() == "true"
}

// versionLine is what -version prints, e.g.
// "peerdns v0.1.0 (CoreDNS-1.15.0) linux/amd64, go1.26.8".
func versionLine() string {
	return fmt.Sprintf("peerdns %s (%s-%s) %s/%s, %s",
		version, coremain.CoreName, coremain.CoreVersion, runtime.GOOS, runtime.GOARCH, runtime.Version())
}
