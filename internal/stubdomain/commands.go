package stubdomain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
	"k8s.io/client-go/kubernetes"
)

// Env is what every command works with.
type Env struct {
	Client kubernetes.Interface
	Host   string    // the API server's URL, for messages
	Out    io.Writer // results and diffs
	Err    io.Writer // notes
	Log    *zap.Logger
	// BeforeWrite is passed to Apply (Options.BeforeWrite); tests only.
	BeforeWrite func(ctx context.Context, attempt int)
}

func (e *Env) options(dryRun bool) Options {
	return Options{Client: e.Client, Host: e.Host, DryRun: dryRun, BeforeWrite: e.BeforeWrite}
}

// ErrNotInstalled is returned by sync-stubs for a target peerdns is not installed in.
var ErrNotInstalled = errors.New("peerdns is not installed there; run peerdnsctl install first")

// InstallParams are install's flags, checked: zones normalized, server parsed.
type InstallParams struct {
	Target        Target
	Zones         []string // NormalizeZones
	Server        string   // ParseServer; empty: the ClusterIP of Service
	Service       string   // NAMESPACE/NAME
	Remote        bool     // add remote namespaces' stub domains
	ClusterDomain string
	Peers         Peers // Local and Log are taken from Env
	Timeout       time.Duration
	DryRun        bool
}

// Install makes the target forward the zones (and the remote namespaces) to peerdns.
func Install(ctx context.Context, env *Env, p InstallParams) error {
	server := p.Server
	if server == "" {
		ns, name, err := ParseServiceRef(p.Service)
		if err != nil {
			return err
		}
		if server, err = ServiceAddress(ctx, env.Client, env.Host, ns, name); err != nil {
			return err
		}
	}
	zones := slices.Clone(p.Zones)
	if p.Remote {
		remote, err := remoteNamespaces(ctx, env, p.Peers, p.Timeout)
		if err != nil {
			return err
		}
		for _, z := range RemoteZones(remote, p.ClusterDomain) {
			if !slices.Contains(zones, z) {
				zones = append(zones, z)
			}
		}
	}
	want := &Spec{Zones: zones, Server: server}
	res, err := Apply(ctx, p.Target, func(State) (*Spec, error) { return want, nil }, env.options(p.DryRun))
	if err != nil {
		return err
	}
	env.report(p.Target, res, p.DryRun, fmt.Sprintf("installed: %s forward to %s", strings.Join(zones, ", "), server))
	return nil
}

// Uninstall removes what install added to the target.
func Uninstall(ctx context.Context, env *Env, t Target, dryRun bool) error {
	res, err := Apply(ctx, t, func(State) (*Spec, error) { return nil, nil }, env.options(dryRun))
	if err != nil {
		return err
	}
	env.report(t, res, dryRun, "uninstalled: peerdns's entries removed")
	return nil
}

// remoteNamespaces runs the peers' sources until they are ready and returns the remote-only
// namespaces. A peer that was not listed in time is an error: without its services the list
// would drop namespaces that still exist.
func remoteNamespaces(ctx context.Context, env *Env, peers Peers, timeout time.Duration) ([]string, error) {
	peers.Local, peers.Log = env.Client, env.Log
	r, err := NewRemote(peers)
	if err != nil {
		return nil, err
	}
	r.Start()
	defer r.Stop()
	if err := r.Wait(ctx, timeout); err != nil {
		return nil, fmt.Errorf("remote namespaces: %w", err)
	}
	remote, missing, notes := r.Namespaces()
	env.note(notes...)
	if len(missing) > 0 {
		return nil, fmt.Errorf("remote namespaces: %s: %w", strings.Join(missing, "; "), ErrNotReady)
	}
	return remote, nil
}

// report tells what Apply did: the diff for a dry run, else one line.
func (e *Env) report(t Target, res Result, dryRun bool, done string) {
	e.note(res.Notes...)
	switch {
	case !res.Changed:
		fmt.Fprintf(e.Out, "%s: no change, nothing written\n", t.Ref())
	case dryRun:
		fmt.Fprint(e.Out, res.Diff)
		fmt.Fprintf(e.Err, "%s: dry run, nothing written\n", t.Ref())
	case res.Created:
		fmt.Fprintf(e.Out, "%s: ConfigMap created, %s\n", t.Ref(), done)
	default:
		fmt.Fprintf(e.Out, "%s: %s\n", t.Ref(), done)
	}
}

func (e *Env) note(notes ...string) {
	for _, n := range notes {
		fmt.Fprintln(e.Err, "note:", n)
	}
}
