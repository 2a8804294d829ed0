// Package plugin is the CoreDNS plugin peerdns: it answers names of services that run in peer
// clusters with the addresses of the gateways in front of them. The answers come from the
// resolver package; the sync package keeps its map current.
package plugin

import (
	"slices"
	"strconv"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/fall"
	"github.com/miekg/dns"
	"k8s.io/apimachinery/pkg/types"

	"github.com/peerdns/peerdns/resolver"
	peersync "github.com/peerdns/peerdns/sync"
)

const pluginName = "peerdns"

func init() { plugin.Register(pluginName, setup) }

// config is the parsed directive: plain values, nothing started.
type config struct {
	zones           []string // fully qualified, lower case
	static          []string // static files; relative ones joined to the root directive's folder, if any
	kubeconfig      []string // kubeconfig files or folders: one peer per context
	remoteSecrets   string   // namespace of the Istio remote secrets in the local cluster
	serviceEntries  bool     // Istio ServiceEntries of the local cluster
	localKubeconfig string   // the local cluster, when not running inside it
	localContext    string
	gateway         types.NamespacedName // the peers' gateway Service; zero: the default
	exportSelector  string               // opt-in export: a label selector, checked by parse
	namespaces      []string             // only these namespaces of the peers
	remoteDomain    string               // cluster domain of remote namespaces; "" off
	ttl             uint32
	negativeTTL     uint32
	maxAnswers      int
	locality        resolver.Locality
	staleGrace      time.Duration
	startupTimeout  time.Duration
	snapshotFile    string
	health          peersync.HealthOptions // Interval 0: no health checks
	fall            fall.F
}

// unsupported are options of the configuration surface that this build does not implement yet:
// none now.
var unsupported []string

func setup(c *caddy.Controller) error {
	cfg, err := parse(c)
	if err != nil {
		return plugin.Error(pluginName, err)
	}
	h, err := newHandler(cfg)
	if err != nil {
		return plugin.Error(pluginName, err)
	}
	c.OnStartup(h.start)
	c.OnStartup(func() error {
		h.integrated.Store(dnsserver.GetConfig(c).Handler("kubernetes") != nil)
		return nil
	})
	c.OnShutdown(h.stop)
	dnsserver.GetConfig(c).AddPlugin(func(next plugin.Handler) plugin.Handler {
		h.Next = next
		return h
	})
	return nil
}

// newHandler builds the resolver and the sync for cfg. Each static file is read and checked
// here, so a broken one fails the setup with its file and line; clients are made but nothing
// runs, and no peer is contacted, until start.
func newHandler(cfg *config) (*PeerDNS, error) {
	log := newLogger()
	res := resolver.New(resolver.Config{
		Zones:        cfg.zones,
		TTL:          cfg.ttl,
		NegativeTTL:  cfg.negativeTTL,
		MaxAnswers:   cfg.maxAnswers,
		Locality:     cfg.locality,
		RemoteDomain: cfg.remoteDomain,
	})
	rep := metricsReporter{}
	sources, err := newSources(cfg, log, rep)
	if err != nil {
		return nil, err
	}
	health, err := newHealthChecker(cfg, log)
	if err != nil {
		return nil, err
	}
	s := peersync.New(peersync.Options{
		Publisher: res, Sources: sources, Log: log, Reporter: rep,
		StartupTimeout: cfg.startupTimeout, SnapshotFile: cfg.snapshotFile, StaleGrace: cfg.staleGrace,
		Health: health,
	})
	return &PeerDNS{Fall: cfg.fall, resolver: res, syncer: s}, nil
}

func parse(c *caddy.Controller) (*config, error) {
	cfg := &config{ttl: resolver.DefaultTTL, negativeTTL: resolver.DefaultNegativeTTL}
	root := dnsserver.GetConfig(c).Root
	for i := 0; c.Next(); i++ {
		if i > 0 {
			return nil, plugin.ErrOnce
		}
		zones, err := parseZones(c)
		if err != nil {
			return nil, err
		}
		cfg.zones = zones
		for c.NextBlock() {
			if err := cfg.option(c, root); err != nil {
				return nil, err
			}
		}
	}
	return cfg, cfg.check(c)
}

// option parses one line of the directive's block.
func (cfg *config) option(c *caddy.Controller, root string) error {
	var err error
	switch opt := c.Val(); opt {
	case "static":
		cfg.static, err = appendPath(c, cfg.static, root)
	case "kubeconfig":
		cfg.kubeconfig, err = appendPath(c, cfg.kubeconfig, root)
	case "remote_secrets":
		cfg.remoteSecrets, err = labelArg(c)
	case "serviceentries":
		if c.NextArg() {
			return c.ArgErr()
		}
		cfg.serviceEntries = true
	case "local_kubeconfig":
		args := c.RemainingArgs()
		if len(args) < 1 || len(args) > 2 {
			return c.ArgErr()
		}
		cfg.localKubeconfig = absPath(args[0], root)
		if len(args) == 2 {
			cfg.localContext = args[1]
		}
	case "gateway":
		cfg.gateway, err = gatewayArg(c)
	case "export_selector":
		cfg.exportSelector, err = selectorArg(c)
	case "namespaces":
		cfg.namespaces, err = namespacesArg(c)
	case "remote_namespaces":
		cfg.remoteDomain, err = domainArg(c)
	case "locality":
		args := c.RemainingArgs()
		if len(args) < 1 || len(args) > 2 {
			return c.ArgErr()
		}
		cfg.locality = resolver.Locality{Region: args[0]}
		if len(args) == 2 {
			cfg.locality.Zone = args[1]
		}
	case "ttl":
		cfg.ttl, err = ttlArg(c)
	case "negative_ttl":
		cfg.negativeTTL, err = ttlArg(c)
	case "max_answers":
		cfg.maxAnswers, err = intArg(c, 1, 0)
	case "stale_grace":
		cfg.staleGrace, err = durationArg(c)
	case "startup_timeout":
		cfg.startupTimeout, err = durationArg(c)
	case "snapshot_file":
		args := c.RemainingArgs()
		if len(args) != 1 {
			return c.ArgErr()
		}
		cfg.snapshotFile = absPath(args[0], root)
	case "health_check":
		cfg.health, err = healthArgs(c)
	case "fallthrough":
		cfg.fall.SetZonesFromArgs(c.RemainingArgs())
	default:
		if slices.Contains(unsupported, opt) {
			return c.Errf("option %q is not supported by this build yet", opt)
		}
		return c.Errf("unknown property %q", opt)
	}
	return err
}

// check validates the options together: what one option needs of another.
func (cfg *config) check(c *caddy.Controller) error {
	if len(cfg.static)+len(cfg.kubeconfig) == 0 && cfg.remoteSecrets == "" && !cfg.serviceEntries {
		return c.Err("no source configured: add static PATH, kubeconfig PATH, remote_secrets NAMESPACE or serviceentries")
	}
	if cfg.remoteDomain != "" {
		// The cluster domain is the local DNS's; peerdns takes only svc.<domain> of remote
		// namespaces, so a server block zone for the domain itself is not one of its zones.
		cfg.zones = slices.DeleteFunc(cfg.zones, func(z string) bool { return dns.IsSubDomain(z, cfg.remoteDomain) })
	}
	return nil
}

// parseZones reads the directive's zones, or takes the server block's. The root zone is never
// claimed: a server block for "." gets the default zone, and "." as an argument is an error.
func parseZones(c *caddy.Controller) ([]string, error) {
	args := c.RemainingArgs()
	zones := plugin.OriginsFromArgsOrServerBlock(args, c.ServerBlockKeys)
	if len(args) > 0 && slices.Contains(zones, ".") {
		return nil, c.Err(`zone "." is not allowed: peerdns never answers for the root`)
	}
	if len(args) > 0 && len(zones) == 0 {
		return nil, c.Errf("invalid zones %q", args)
	}
	zones = slices.DeleteFunc(zones, func(z string) bool { return z == "." })
	if len(zones) == 0 {
		zones = []string{resolver.DefaultZone}
	}
	return zones, nil
}

// ttlArg reads a TTL in seconds, 1 to 3600.
func ttlArg(c *caddy.Controller) (uint32, error) {
	n, err := intArg(c, 1, 3600)
	return uint32(n), err
}

// intArg reads the single integer argument of the current option, at least lo and, unless hi is
// 0, at most hi.
func intArg(c *caddy.Controller, lo, hi int) (int, error) {
	opt := c.Val()
	args := c.RemainingArgs()
	if len(args) != 1 {
		return 0, c.ArgErr()
	}
	n, err := strconv.Atoi(args[0])
	switch {
	case hi == 0 && (err != nil || n < lo):
		return 0, c.Errf("%s must be an integer of at least %d, not %q", opt, lo, args[0])
	case hi != 0 && (err != nil || n < lo || n > hi):
		return 0, c.Errf("%s must be an integer in [%d, %d], not %q", opt, lo, hi, args[0])
	}
	return n, nil
}
