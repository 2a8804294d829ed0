package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/peerdns/peerdns/internal/stubdomain"
	peersync "github.com/peerdns/peerdns/sync"
)

// globals are the flags of every command.
type globals struct {
	kubeconfig string
	context    string
}

// register adds the global flags to fs; before and after the command they set the same values.
// Their defaults are the values so far: registering a flag sets its variable to its default.
func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.kubeconfig, "kubeconfig", g.kubeconfig, "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)")
	fs.StringVar(&g.context, "context", g.context, "kubeconfig context (default: current-context)")
}

// env connects to the cluster the global flags name. Logs (the peers' sources) go to stderr:
// warnings and errors, and with verbose (watch mode) one line per peer change too.
func (g *globals) env(stdout, stderr io.Writer, verbose bool) (*stubdomain.Env, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules() // $KUBECONFIG, else ~/.kube/config
	rules.ExplicitPath = g.kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: g.context}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if clientcmd.IsEmptyConfig(err) || errors.Is(err, clientcmd.ErrEmptyConfig) {
		return nil, errors.New("no cluster: no kubeconfig ($KUBECONFIG, ~/.kube/config) and not running in a pod; give --kubeconfig")
	}
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.UserAgent = "peerdnsctl/" + version
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("client of %s: %w", cfg.Host, err)
	}
	log := newLog(stderr, verbose)
	peersync.RouteKlog(log)
	return &stubdomain.Env{Client: client, Host: cfg.Host, Out: stdout, Err: stderr, Log: log}, nil
}

// newLog writes human-readable lines to w: warnings and up, info too when verbose.
func newLog(w io.Writer, verbose bool) *zap.Logger {
	level := zapcore.WarnLevel
	if verbose {
		level = zapcore.InfoLevel
	}
	enc := zap.NewDevelopmentEncoderConfig()
	enc.TimeKey = ""
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.Lock(zapcore.AddSync(w)), level)
	return zap.New(core)
}
