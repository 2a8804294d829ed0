package sync

import (
	"context"
	"slices"
	gosync "sync"
	"sync/atomic"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/peerdns/peerdns/resolver"
)

// namespacesSourceName names the local namespaces source in logs and metrics.
const namespacesSourceName = "local_namespaces"

// LocalNamespaces watches the names of the local cluster's namespaces, for remote namespaces
// (SPEC section 1): peerdns answers <svc>.<ns>.svc.<cluster-domain> only for namespaces that
// exist in a peer but not locally, since local ones belong to the local cluster DNS.
//
// It is a Source without clusters: Clusters returns none, and is ready once the namespaces have
// been listed, so that the first map waits for them and never answers for a local namespace by
// mistake. Every change of the set of names signals changed.
//
// A namespace counts as local from its creation until it is gone from the API, Terminating
// included: while it terminates, its services may still be running and the local cluster DNS
// still answers for them.
//
// RBAC on the local cluster: list and watch Namespaces (a ClusterRole).
type LocalNamespaces struct {
	log      *zap.Logger
	informer cache.SharedIndexInformer
	watchLog *localWatchLog
	signal   chan struct{} // buffered, one: a namespace was added or deleted
	names    atomic.Pointer[[]string]
}

// NewLocalNamespaces returns the source of the local cluster's namespaces. It starts nothing:
// Run does.
func NewLocalNamespaces(local kubernetes.Interface, log *zap.Logger) *LocalNamespaces {
	if log == nil {
		log = zap.NewNop()
	}
	log = log.With(zap.String("source", namespacesSourceName))
	n := &LocalNamespaces{
		log:      log,
		informer: informers.NewSharedInformerFactory(local, 0).Core().V1().Namespaces().Informer(),
		watchLog: &localWatchLog{log: log, what: "namespaces"},
		signal:   make(chan struct{}, 1),
	}
	// Neither call fails on an informer that has not started.
	_ = n.informer.SetTransform(trimNamespace)
	_ = n.informer.SetWatchErrorHandler(n.watchLog.handle)
	_, _ = n.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { n.notify() },
		DeleteFunc: func(any) { n.notify() },
	})
	return n
}

// Name returns "local_namespaces".
func (n *LocalNamespaces) Name() string { return namespacesSourceName }

// Clusters returns no clusters; ready is whether the namespaces have been listed.
func (n *LocalNamespaces) Clusters() ([]resolver.Cluster, bool) {
	return nil, n.names.Load() != nil
}

// Namespaces returns the names of the local namespaces, sorted; nil until they have been listed.
// The slice is shared: callers must not modify it.
func (n *LocalNamespaces) Namespaces() []string {
	if p := n.names.Load(); p != nil {
		return *p
	}
	return nil
}

// Run lists and then watches the namespaces until ctx is done. It must be called once.
func (n *LocalNamespaces) Run(ctx context.Context, changed func()) {
	var wg gosync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { n.informer.RunWithContext(ctx) })
	select {
	case <-ctx.Done():
		return
	case <-n.informer.HasSyncedChecker().Done():
	}
	select { // the first update below covers the events of the initial list
	case <-n.signal:
	default:
	}
	n.update()
	n.log.Info("local namespaces listed", zap.Int("namespaces", len(n.Namespaces())))
	changed()
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.signal:
			if n.update() {
				changed()
			}
		}
	}
}

// notify is called by the informer for every event; it only signals.
func (n *LocalNamespaces) notify() {
	n.watchLog.ok()
	select {
	case n.signal <- struct{}{}:
	default:
	}
}

// update swaps in the cached names, and reports whether they changed.
func (n *LocalNamespaces) update() bool {
	names := n.informer.GetStore().ListKeys() // a namespace's key is its name
	slices.Sort(names)
	if old := n.names.Load(); old != nil && slices.Equal(*old, names) {
		return false
	}
	n.names.Store(&names)
	n.log.Debug("local namespaces changed", zap.Int("namespaces", len(names)))
	return true
}

// trimNamespace is the informer's transform: only the name is read, so only the name (and the
// resource version) is kept.
func trimNamespace(obj any) (any, error) {
	ns, ok := obj.(*corev1.Namespace)
	if !ok {
		return obj, nil
	}
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: ns.Name, UID: ns.UID, ResourceVersion: ns.ResourceVersion,
	}}, nil
}
