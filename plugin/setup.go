// Package plugin is the CoreDNS plugin peerdns: it answers names of services that run in peer
// clusters with the addresses of the gateways in front of them. The answers come from the
// resolver package; the sync package keeps its map current.
package plugin

import (
	"path/filepath"
	"slices"
	"strconv"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/fall"

	"github.com/peerdns/peerdns/resolver"
	peersync "github.com/peerdns/peerdns/sync"
)

const pluginName = "peerdns"

func init() { plugin.Register(pluginName, setup) }

// config is the parsed directive: plain values, nothing started.
type config struct {
	zones       []string // fully qualified, lower case
	static      []string // static files; relative ones joined to the root directive's folder, if any
	ttl         uint32
	negativeTTL uint32
	maxAnswers  int
	locality    resolver.Locality
	fall        fall.F
}

// unsupported are options of the configuration surface that this build does not implement yet.
var unsupported = []string{
	"kubeconfig", "remote_secrets", "local_kubeconfig", "serviceentries", "gateway",
	"export_selector", "namespaces", "remote_namespaces", "health_check", "stale_grace",
	"startup_timeout", "snapshot_file",
}

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
	c.OnShutdown(h.stop)
	dnsserver.GetConfig(c).AddPlugin(func(next plugin.Handler) plugin.Handler {
		h.Next = next
		return h
	})
	return nil
}

// newHandler builds the resolver and the sync for cfg. Each static file is read and checked
// here, so a broken one fails the setup with its file and line; nothing runs until start.
func newHandler(cfg *config) (*PeerDNS, error) {
	log := newLogger()
	res := resolver.New(resolver.Config{
		Zones:       cfg.zones,
		TTL:         cfg.ttl,
		NegativeTTL: cfg.negativeTTL,
		MaxAnswers:  cfg.maxAnswers,
		Locality:    cfg.locality,
	})
	rep := metricsReporter{}
	sources := make([]peersync.Source, 0, len(cfg.static))
	for _, path := range cfg.static {
		src, err := peersync.NewStatic(peersync.StaticOptions{
			Path:    path,
			Log:     log,
			OnError: peersync.ReportErrors(rep, "static"),
		})
		if err != nil {
			return nil, err
		}
		sources = append(sources, src)
	}
	s := peersync.New(peersync.Options{Publisher: res, Sources: sources, Log: log, Reporter: rep})
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
			switch opt := c.Val(); opt {
			case "static":
				args := c.RemainingArgs()
				if len(args) != 1 {
					return nil, c.ArgErr()
				}
				path := args[0]
				if !filepath.IsAbs(path) && root != "" {
					path = filepath.Join(root, path)
				}
				if slices.Contains(cfg.static, path) {
					return nil, c.Errf("static %q is given twice", args[0])
				}
				cfg.static = append(cfg.static, path)
			case "ttl":
				n, err := intArg(c, 1, 3600)
				if err != nil {
					return nil, err
				}
				cfg.ttl = uint32(n)
			case "negative_ttl":
				n, err := intArg(c, 1, 3600)
				if err != nil {
					return nil, err
				}
				cfg.negativeTTL = uint32(n)
			case "max_answers":
				n, err := intArg(c, 1, 0)
				if err != nil {
					return nil, err
				}
				cfg.maxAnswers = n
			case "locality":
				args := c.RemainingArgs()
				if len(args) < 1 || len(args) > 2 {
					return nil, c.ArgErr()
				}
				cfg.locality = resolver.Locality{Region: args[0]}
				if len(args) == 2 {
					cfg.locality.Zone = args[1]
				}
			case "fallthrough":
				cfg.fall.SetZonesFromArgs(c.RemainingArgs())
			default:
				if slices.Contains(unsupported, opt) {
					return nil, c.Errf("option %q is not supported by this build yet", opt)
				}
				return nil, c.Errf("unknown property %q", opt)
			}
		}
	}
	if len(cfg.static) == 0 {
		return nil, c.Err("no source configured: add static PATH")
	}
	return cfg, nil
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
