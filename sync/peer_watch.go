package sync

import (
	"context"
	"errors"
	"io"
	gosync "sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// watchHooks is what a peerWatch tells its peer. They must return quickly.
type watchHooks struct {
	services func()          // an exported Service changed
	gateway  func()          // the gateway Service changed
	failed   func(err error) // a list or watch failed
}

// peerWatch is one generation of a peer's informers. A peer starts one when it starts and a
// fresh one when it recovers from stale, so that what it goes live with is a fresh list.
type peerWatch struct {
	factories []informers.SharedInformerFactory
	services  []cache.SharedIndexInformer
	gateway   cache.SharedIndexInformer
	gwKey     string
	checkers  []cache.DoneChecker

	started time.Time
	dirty   atomic.Bool   // the services changed since they were last built
	synced  chan struct{} // closed once every informer has listed
	cancel  context.CancelFunc
	wg      gosync.WaitGroup
}

// newPeerWatch sets up the informers of one peer without starting them.
func newPeerWatch(kube kubernetes.Interface, opts PeerOptions, rules exportRules, hooks watchHooks) *peerWatch {
	w := &peerWatch{synced: make(chan struct{}), gwKey: opts.Gateway.String()}
	w.dirty.Store(true)
	tweak := func(o *metav1.ListOptions) {
		o.LabelSelector, o.FieldSelector = rules.labelSelector(), rules.fieldSelector()
	}
	namespaces := rules.namespaces
	if namespaces == nil {
		namespaces = []string{metav1.NamespaceAll}
	}
	for _, ns := range namespaces {
		f := informers.NewSharedInformerFactoryWithOptions(kube, 0, informers.WithTransform(rules.transformService))
		// No namespace index: the map is built from the whole store, and an index would cost
		// another entry per Service.
		inf := f.InformerFor(&corev1.Service{}, func(kube kubernetes.Interface, resync time.Duration) cache.SharedIndexInformer {
			return coreinformers.NewFilteredServiceInformer(kube, ns, resync, cache.Indexers{}, tweak)
		})
		w.add(f, inf, hooks, w.serviceHandler(hooks.services))
		w.services = append(w.services, inf)
	}
	f := informers.NewSharedInformerFactoryWithOptions(kube, 0,
		informers.WithNamespace(opts.Gateway.Namespace),
		informers.WithTransform(transformGateway),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = "metadata.name=" + opts.Gateway.Name
		}))
	w.gateway = f.Core().V1().Services().Informer()
	w.add(f, w.gateway, hooks, gatewayHandler(hooks.gateway))
	return w
}

// add registers an informer's handlers; neither call fails on an informer not started.
func (w *peerWatch) add(f informers.SharedInformerFactory, inf cache.SharedIndexInformer, hooks watchHooks, h cache.ResourceEventHandler) {
	_ = inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		if !routineWatchEnd(err) {
			hooks.failed(err)
		}
	})
	reg, _ := inf.AddEventHandler(h)
	w.factories = append(w.factories, f)
	w.checkers = append(w.checkers, inf.HasSyncedChecker(), reg.HasSyncedChecker())
}

// routineWatchEnd reports whether err is a watch ending that the reflector handles by itself.
func routineWatchEnd(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		apierrors.IsResourceExpired(err) || apierrors.IsGone(err)
}

// serviceHandler marks the services dirty and signals, for events that change the map.
func (w *peerWatch) serviceHandler(signal func()) cache.ResourceEventHandler {
	mark := func() {
		w.dirty.Store(true)
		signal()
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if c, ok := obj.(*cachedService); ok && c.exported {
				mark()
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := oldObj.(*cachedService)
			n, ok2 := newObj.(*cachedService)
			if !ok1 || !ok2 || !o.sameAnswer(n) {
				mark()
			}
		},
		DeleteFunc: func(obj any) {
			if c, ok := unwrap(obj).(*cachedService); !ok || c.exported {
				mark()
			}
		},
	}
}

// gatewayHandler signals every change of the gateway Service that matters to the map.
func gatewayHandler(signal func()) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { signal() },
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := oldObj.(*cachedGateway)
			n, ok2 := newObj.(*cachedGateway)
			if !ok1 || !ok2 || !o.info.equal(n.info) {
				signal()
			}
		},
		DeleteFunc: func(any) { signal() },
	}
}

// start runs the informers until stop, and closes synced once all have listed.
func (w *peerWatch) start(ctx context.Context) {
	ctx, w.cancel = context.WithCancel(ctx)
	w.started = time.Now()
	for _, f := range w.factories {
		f.Start(ctx.Done())
	}
	w.wg.Go(func() {
		for _, c := range w.checkers {
			select {
			case <-ctx.Done():
				return
			case <-c.Done():
			}
		}
		close(w.synced)
	})
}

// stop ends the informers and waits for them.
func (w *peerWatch) stop() {
	if w.cancel == nil {
		return
	}
	w.cancel()
	for _, f := range w.factories {
		f.Shutdown()
	}
	w.wg.Wait()
}

// isSynced reports whether every informer has listed.
func (w *peerWatch) isSynced() bool {
	select {
	case <-w.synced:
		return true
	default:
		return false
	}
}

// cachedServices returns the exported services of the cache, in no order.
func (w *peerWatch) cachedServices() []*cachedService {
	var out []*cachedService
	for _, inf := range w.services {
		for _, obj := range inf.GetStore().List() {
			if c, ok := obj.(*cachedService); ok && c.exported {
				out = append(out, c)
			}
		}
	}
	return out
}

// cachedGateway returns the gateway Service, or nil when it does not exist.
func (w *peerWatch) cachedGateway() *cachedGateway {
	obj, ok, err := w.gateway.GetStore().GetByKey(w.gwKey)
	if err != nil || !ok {
		return nil
	}
	c, _ := obj.(*cachedGateway)
	return c
}
