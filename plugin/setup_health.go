package plugin

import (
	"time"

	"github.com/coredns/caddy"
	"go.uber.org/zap"

	peersync "github.com/peerdns/peerdns/sync"
)

// healthArgs reads "health_check INTERVAL [TIMEOUT]": positive durations, the timeout shorter
// than the interval. Without TIMEOUT, a probe may take half the interval, at most 2s.
func healthArgs(c *caddy.Controller) (peersync.HealthOptions, error) {
	args := c.RemainingArgs()
	if len(args) < 1 || len(args) > 2 {
		return peersync.HealthOptions{}, c.ArgErr()
	}
	var opts peersync.HealthOptions
	var err error
	if opts.Interval, err = positiveDuration(c, "health_check interval", args[0]); err != nil {
		return opts, err
	}
	if len(args) == 1 {
		return opts, nil
	}
	if opts.Timeout, err = positiveDuration(c, "health_check timeout", args[1]); err != nil {
		return opts, err
	}
	if opts.Timeout >= opts.Interval {
		return opts, c.Errf("health_check timeout %s must be shorter than the interval %s", args[1], args[0])
	}
	return opts, nil
}

func positiveDuration(c *caddy.Controller, what, arg string) (time.Duration, error) {
	d, err := time.ParseDuration(arg)
	if err != nil || d <= 0 {
		return 0, c.Errf("%s must be a positive duration such as 10s, not %q", what, arg)
	}
	return d, nil
}

// newHealthChecker returns the health checker cfg asks for, or nil without health_check.
func newHealthChecker(cfg *config, log *zap.Logger) (*peersync.HealthChecker, error) {
	if cfg.health.Interval == 0 {
		return nil, nil
	}
	opts := cfg.health
	opts.Log = log
	return peersync.NewHealthChecker(opts)
}
