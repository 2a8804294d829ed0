package sync

import (
	"errors"
	"fmt"
	"io"
	gosync "sync"

	"go.uber.org/zap"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

// userAgent is what peerdns calls itself in every request to an API server, so that audit logs
// and API priority and fairness can tell it apart.
const userAgent = "peerdns"

// LocalConfig returns the configuration for the local cluster: the cluster peerdns runs in,
// where the remote_secrets, local namespaces and serviceentries sources read.
//
// With a kubeconfigPath (the Corefile's `local_kubeconfig PATH [CONTEXT]`) it is that file's
// context, or its current-context when context is empty; the file is used as kubectl would use
// it, credential plugins included, since it is the operator's own. Without one it is the
// in-cluster configuration of the pod's ServiceAccount. Errors say which of these was tried and
// what is missing.
func LocalConfig(kubeconfigPath, context string) (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if kubeconfigPath == "" {
		cfg, err = inClusterConfig(context)
	} else {
		cfg, err = localKubeconfig(kubeconfigPath, context)
	}
	if err != nil {
		return nil, err
	}
	cfg.UserAgent = userAgent
	return cfg, nil
}

// inClusterConfig returns the pod's ServiceAccount configuration.
func inClusterConfig(context string) (*rest.Config, error) {
	if context != "" {
		return nil, fmt.Errorf("local cluster context %q given without a local_kubeconfig path", context)
	}
	cfg, err := rest.InClusterConfig()
	switch {
	case errors.Is(err, rest.ErrNotInCluster):
		return nil, errors.New("no local cluster: not running in a pod (KUBERNETES_SERVICE_HOST unset) and no local_kubeconfig given")
	case err != nil:
		return nil, fmt.Errorf("no local cluster: in-cluster configuration: %w", err)
	}
	return cfg, nil
}

// localKubeconfig returns the configuration of one context of a kubeconfig file.
func localKubeconfig(path, context string) (*rest.Config, error) {
	file, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("local kubeconfig: %w", err)
	}
	if err := clientcmd.ResolveLocalPaths(file); err != nil {
		return nil, fmt.Errorf("local kubeconfig %s: %w", path, err)
	}
	if context == "" {
		context = file.CurrentContext
	}
	switch {
	case context == "":
		return nil, fmt.Errorf("local kubeconfig %s: no current-context set and no context given", path)
	case file.Contexts[context] == nil:
		return nil, fmt.Errorf("local kubeconfig %s: no context %q", path, context)
	}
	cfg, err := clientcmd.NewNonInteractiveClientConfig(*file, context, &clientcmd.ConfigOverrides{}, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("local kubeconfig %s context %q: %w", path, context, err)
	}
	return cfg, nil
}

// localWatchLog reports an informer's list and watch failures on the local cluster: each
// distinct failure once, as a warning that names what was watched (the most common cause is
// RBAC), until the informer delivers data again. client-go retries with backoff on its own;
// routine watch expiries and closes are not failures.
type localWatchLog struct {
	log  *zap.Logger
	what string // e.g. "secrets in namespace istio-system"

	mu   gosync.Mutex
	last string
}

// handle is the informer's WatchErrorHandler.
func (w *localWatchLog) handle(_ *cache.Reflector, err error) {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
		w.log.Debug("local watch closed, resuming", zap.String("watching", w.what), zap.Error(err))
		return
	}
	w.mu.Lock()
	repeated := err.Error() == w.last
	w.last = err.Error()
	w.mu.Unlock()
	if !repeated {
		w.log.Warn("cannot list or watch the local cluster, retrying",
			zap.String("watching", w.what), zap.Error(err))
	}
}

// ok records that data arrived, so that the next failure is reported again.
func (w *localWatchLog) ok() {
	w.mu.Lock()
	w.last = ""
	w.mu.Unlock()
}

// LocalClient returns a client of the local cluster, configured as LocalConfig says.
func LocalClient(kubeconfigPath, context string) (kubernetes.Interface, error) {
	cfg, err := LocalConfig(kubeconfigPath, context)
	if err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("local cluster client: %w", err)
	}
	return client, nil
}
