package plugin

import (
	"fmt"

	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	peersync "github.com/peerdns/peerdns/sync"
)

// newSources makes the sources of the map that cfg configures, in the order the map prefers
// them when two give the same cluster: static files, kubeconfig peers, remote secrets, the local
// cluster's namespaces, then its ServiceEntries.
func newSources(cfg *config, log *zap.Logger, rep metricsReporter) ([]peersync.Source, error) {
	var sources []peersync.Source
	for _, path := range cfg.static {
		src, err := peersync.NewStatic(peersync.StaticOptions{
			Path: path, Log: log, OnError: peersync.ReportErrors(rep, "static"),
		})
		if err != nil {
			return nil, err
		}
		sources = append(sources, src)
	}
	peers, err := peerOptions(cfg, log)
	if err != nil {
		return nil, err
	}
	if len(cfg.kubeconfig) > 0 || cfg.remoteSecrets != "" || cfg.remoteDomain != "" || cfg.serviceEntries {
		peersync.RouteKlog(log) // client-go's own lines, in our format and at debug level
	}
	for _, path := range cfg.kubeconfig {
		opts := peers
		opts.OnError = peersync.ReportErrors(rep, "kubeconfig")
		src, err := peersync.NewKubeconfig(path, opts)
		if err != nil {
			return nil, err
		}
		sources = append(sources, src)
	}
	if cfg.remoteSecrets != "" || cfg.remoteDomain != "" {
		local, err := localClient(cfg)
		if err != nil {
			return nil, err
		}
		if cfg.remoteSecrets != "" {
			opts := peers
			opts.OnError = peersync.ReportErrors(rep, "remote_secret")
			sources = append(sources, peersync.NewRemoteSecrets(local, cfg.remoteSecrets, opts))
		}
		if cfg.remoteDomain != "" {
			sources = append(sources, peersync.NewLocalNamespaces(local, log))
		}
	}
	if cfg.serviceEntries {
		src, err := serviceEntries(cfg, log)
		if err != nil {
			return nil, err
		}
		sources = append(sources, src)
	}
	return sources, nil
}

// serviceEntries is the serviceentries source: the Istio ServiceEntries of the local cluster,
// read with the dynamic client. Nothing is contacted until it runs.
func serviceEntries(cfg *config, log *zap.Logger) (*peersync.ServiceEntries, error) {
	rc, err := peersync.LocalConfig(cfg.localKubeconfig, cfg.localContext)
	if err != nil {
		return nil, fmt.Errorf("serviceentries reads the local cluster: %w", err)
	}
	client, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("serviceentries: local cluster client: %w", err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("serviceentries: local cluster discovery client: %w", err)
	}
	return peersync.NewServiceEntries(client, disc, peersync.ServiceEntriesOptions{Zones: cfg.zones, Log: log}), nil
}

// peerOptions are the options every peer cluster is watched with.
func peerOptions(cfg *config, log *zap.Logger) (peersync.PeerOptions, error) {
	opts := peersync.PeerOptions{
		Gateway: cfg.gateway, Namespaces: cfg.namespaces, StaleGrace: cfg.staleGrace, Log: log,
	}
	if cfg.exportSelector != "" {
		sel, err := labels.Parse(cfg.exportSelector)
		if err != nil {
			return opts, fmt.Errorf("export_selector %q: %w", cfg.exportSelector, err)
		}
		opts.ExportSelector = sel
	}
	return opts, nil
}

// localClient is the client of the local cluster, which remote secrets and remote namespaces
// are read from.
func localClient(cfg *config) (kubernetes.Interface, error) {
	client, err := peersync.LocalClient(cfg.localKubeconfig, cfg.localContext)
	if err != nil {
		return nil, fmt.Errorf("remote_secrets and remote_namespaces read the local cluster: %w", err)
	}
	return client, nil
}
