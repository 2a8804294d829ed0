package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/peerdns/peerdns/internal/stubdomain"
)

// Defaults of the flags.
const (
	defaultZone          = "global"
	defaultService       = "peerdns/peerdns"
	defaultClusterDomain = "cluster.local"
	defaultTimeout       = 30 * time.Second
	defaultResync        = 5 * time.Minute
)

// listFlag is a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// command is one command's flag set and the values every command shares.
type command struct {
	fs     *flag.FlagSet
	g      *globals
	usage  string // the usage line, for wrong command lines
	long   string // the usage text, for -h
	stderr io.Writer
	target string
	dryRun bool
}

func newCommand(name string, g *globals, usageLine, usage string, stderr io.Writer) *command {
	c := &command{fs: flag.NewFlagSet(name, flag.ContinueOnError), g: g, usage: usageLine, long: usage, stderr: stderr}
	c.fs.SetOutput(io.Discard) // parse prints the errors, with the usage line
	c.fs.Usage = func() {}
	g.register(c.fs)
	return c
}

// parse parses args; status is -1 when the command should go on, else the exit status.
func (c *command) parse(args []string) int {
	if err := c.fs.Parse(args); err != nil {
		return parseStatus(err, c.stderr, c.usage, c.long)
	}
	if c.fs.NArg() > 0 {
		return c.bad(fmt.Errorf("unexpected argument %q", c.fs.Arg(0)))
	}
	return -1
}

func (c *command) bad(err error) int { return usageError(c.stderr, err, c.usage) }

// targetFlag parses --target; required unless optional.
func (c *command) parsedTarget(optional bool) ([]stubdomain.Target, error) {
	if c.target == "" {
		if optional {
			return stubdomain.Targets, nil
		}
		return nil, errors.New("--target kube-dns|coredns is required")
	}
	t, err := stubdomain.ParseTarget(c.target)
	return []stubdomain.Target{t}, err
}

// peerFlags are the flags that say where the peers are.
type peerFlags struct {
	peers         listFlag
	remoteSecrets string
	clusterDomain string
	timeout       time.Duration
}

func (p *peerFlags) register(fs *flag.FlagSet) {
	fs.Var(&p.peers, "peers", "kubeconfig file or folder of peers, one per context (repeatable)")
	fs.StringVar(&p.remoteSecrets, "remote-secrets", "", "namespace of Istio remote secrets in the local cluster")
	fs.StringVar(&p.clusterDomain, "cluster-domain", defaultClusterDomain, "the clusters' DNS domain")
	fs.DurationVar(&p.timeout, "timeout", defaultTimeout, "how long to wait for every peer to be listed")
}

// check validates the flags and returns the cluster domain, normalized.
func (p *peerFlags) check(needPeers bool) (string, error) {
	domain, err := stubdomain.NormalizeZone(p.clusterDomain)
	if err != nil {
		return "", fmt.Errorf("--cluster-domain: %w", err)
	}
	hasPeers := len(p.peers) > 0 || p.remoteSecrets != ""
	switch {
	case needPeers && !hasPeers:
		return "", errors.New("remote namespaces need peers: give --peers or --remote-secrets")
	case !needPeers && hasPeers:
		return "", errors.New("--peers and --remote-secrets are only used with --remote-namespaces")
	case p.timeout <= 0:
		return "", errors.New("--timeout must be positive")
	}
	return domain, nil
}

func (p *peerFlags) sources() stubdomain.Peers {
	return stubdomain.Peers{Kubeconfigs: p.peers, RemoteSecrets: p.remoteSecrets}
}

func runInstall(ctx context.Context, g *globals, args []string, stdout, stderr io.Writer) int {
	c := newCommand("install", g, installUsageLine, installUsage, stderr)
	var zones listFlag
	var server, service string
	var remote bool
	var pf peerFlags
	c.fs.StringVar(&c.target, "target", "", "kube-dns or coredns")
	c.fs.Var(&zones, "zone", "zone to forward (repeatable; default global)")
	c.fs.StringVar(&server, "server", "", "peerdns server address, IP or IP:PORT")
	c.fs.StringVar(&service, "service", defaultService, "Service whose ClusterIP to forward to, without --server")
	c.fs.BoolVar(&remote, "remote-namespaces", false, "also forward remote-only namespaces")
	c.fs.BoolVar(&c.dryRun, "dry-run", false, "print the diff, write nothing")
	pf.register(c.fs)
	if st := c.parse(args); st >= 0 {
		return st
	}
	if len(zones) == 0 {
		zones = listFlag{defaultZone}
	}
	p, err := installParams(c, zones, server, service, remote, &pf)
	if err != nil {
		return c.bad(err)
	}
	env, err := g.env(stdout, stderr, false)
	if err != nil {
		return failed(stderr, err)
	}
	return failed(stderr, stubdomain.Install(ctx, env, p))
}

// installParams checks install's flags.
func installParams(c *command, zones []string, server, service string, remote bool, pf *peerFlags) (stubdomain.InstallParams, error) {
	p := stubdomain.InstallParams{Service: service, Remote: remote, Peers: pf.sources(), Timeout: pf.timeout, DryRun: c.dryRun}
	targets, err := c.parsedTarget(false)
	if err != nil {
		return p, err
	}
	p.Target = targets[0]
	if p.Zones, err = stubdomain.NormalizeZones(zones); err != nil {
		return p, fmt.Errorf("--zone: %w", err)
	}
	if server != "" {
		if p.Server, err = stubdomain.ParseServer(server); err != nil {
			return p, fmt.Errorf("--server: %w", err)
		}
	} else if _, _, err := stubdomain.ParseServiceRef(service); err != nil {
		return p, fmt.Errorf("--service: %w", err)
	}
	p.ClusterDomain, err = pf.check(remote)
	return p, err
}

func runUninstall(ctx context.Context, g *globals, args []string, stdout, stderr io.Writer) int {
	c := newCommand("uninstall", g, uninstallUsageLine, uninstallUsage, stderr)
	c.fs.StringVar(&c.target, "target", "", "kube-dns or coredns")
	c.fs.BoolVar(&c.dryRun, "dry-run", false, "print the diff, write nothing")
	if st := c.parse(args); st >= 0 {
		return st
	}
	targets, err := c.parsedTarget(false)
	if err != nil {
		return c.bad(err)
	}
	env, err := g.env(stdout, stderr, false)
	if err != nil {
		return failed(stderr, err)
	}
	return failed(stderr, stubdomain.Uninstall(ctx, env, targets[0], c.dryRun))
}

func runStatus(ctx context.Context, g *globals, args []string, stdout, stderr io.Writer) int {
	c := newCommand("status", g, statusUsageLine, statusUsage, stderr)
	p := stubdomain.StatusParams{}
	c.fs.StringVar(&c.target, "target", "", "kube-dns or coredns (default: both)")
	c.fs.StringVar(&p.Service, "service", defaultService, "the peerdns server's Service")
	c.fs.StringVar(&p.ClusterDomain, "cluster-domain", defaultClusterDomain, "the clusters' DNS domain")
	if st := c.parse(args); st >= 0 {
		return st
	}
	var err error
	if p.Targets, err = c.parsedTarget(true); err != nil {
		return c.bad(err)
	}
	if _, _, err := stubdomain.ParseServiceRef(p.Service); err != nil {
		return c.bad(fmt.Errorf("--service: %w", err))
	}
	if p.ClusterDomain, err = stubdomain.NormalizeZone(p.ClusterDomain); err != nil {
		return c.bad(fmt.Errorf("--cluster-domain: %w", err))
	}
	env, err := g.env(stdout, stderr, false)
	if err != nil {
		return failed(stderr, err)
	}
	return failed(stderr, stubdomain.Status(ctx, env, p))
}

func runSyncStubs(ctx context.Context, g *globals, args []string, stdout, stderr io.Writer) int {
	c := newCommand("sync-stubs", g, syncUsageLine, syncUsage, stderr)
	var pf peerFlags
	var watch bool
	var resync time.Duration
	c.fs.StringVar(&c.target, "target", "", "kube-dns or coredns")
	c.fs.BoolVar(&watch, "watch", false, "keep syncing until SIGINT/SIGTERM")
	c.fs.DurationVar(&resync, "resync", defaultResync, "with --watch, sync this often even without a change (0: never)")
	c.fs.BoolVar(&c.dryRun, "dry-run", false, "print the diff, write nothing")
	pf.register(c.fs)
	if st := c.parse(args); st >= 0 {
		return st
	}
	targets, err := c.parsedTarget(false)
	if err != nil {
		return c.bad(err)
	}
	domain, err := pf.check(true)
	if err != nil {
		return c.bad(err)
	}
	if resync < 0 {
		return c.bad(fmt.Errorf("--resync %v: must not be negative", resync))
	}
	env, err := g.env(stdout, stderr, watch)
	if err != nil {
		return failed(stderr, err)
	}
	return failed(stderr, stubdomain.SyncStubs(ctx, env, stubdomain.SyncParams{
		Target: targets[0], ClusterDomain: domain, Peers: pf.sources(),
		Timeout: pf.timeout, Watch: watch, Resync: resync, DryRun: c.dryRun,
	}))
}
