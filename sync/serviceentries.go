package sync

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"

	"github.com/peerdns/peerdns/resolver"
)

// ServiceEntriesSource names the serviceentries source in logs, metrics and TXT answers.
const ServiceEntriesSource = "serviceentries"

// PriorityAnnotation on a ServiceEntry sets its cluster's priority, an integer (lower first,
// like a static cluster's priority); without it the priority is 0.
const PriorityAnnotation = "peerdns.io/priority"

// DefaultServiceEntriesDiscover is how often the local cluster is asked whether it serves the
// ServiceEntry resource, while it does not.
const DefaultServiceEntriesDiscover = 30 * time.Second

// ServiceEntriesOptions configure a ServiceEntries source. The zero value of every field works.
type ServiceEntriesOptions struct {
	// Zones are the zones answered, fully qualified and lower case; empty: "global.". Only
	// hosts <svc>.<ns>.<zone> of one of them are read.
	Zones []string
	// Discover is how often discovery is asked again while the ServiceEntry resource is not
	// served; zero: DefaultServiceEntriesDiscover.
	Discover time.Duration
	// Resolve is how often endpoint hostnames are looked up again; zero: 30s.
	Resolve time.Duration
	// Lookup resolves endpoint hostnames; nil: net.DefaultResolver.
	Lookup func(ctx context.Context, host string) ([]netip.Addr, error)
	// Log receives the source's lines; nil: zap.NewNop().
	Log *zap.Logger
}

// ServiceEntries is the serviceentries source (SPEC section 4): Istio ServiceEntry objects
// (networking.istio.io, version v1, else v1beta1, else v1alpha3: the one discovery prefers) in
// every namespace of the local cluster, read with the dynamic client, as the old
// istio-coredns-plugin read them for Istio's *.global names.
//
// Each ServiceEntry with at least one host <svc>.<ns>.<zone> in a zone is one cluster, Source
// "serviceentries", named "<namespace>-<name>" (shortened with a hash suffix when it would be
// longer than a DNS label or shared), serving one service per such host. Its addresses are the
// entry's spec.addresses (IP addresses; a CIDR of a single address counts as that address,
// a wider one is skipped), or else its endpoints' addresses: IPs, and with resolution DNS
// hostnames, looked up when they appear and every Resolve. SRV carries spec.ports; when
// answered with the endpoints, on the port the endpoints map each port to (Istio's 15443).
// The endpoints' common locality, if any, is the cluster's.
//
// Other hosts (outside the zones, wildcards, names of another form) are left out and logged at
// debug level; an entry with a malformed field is skipped with a warning naming it and the
// field. Both are logged once per change of the entry.
//
// The source is ready after the first list. When the local cluster does not serve the
// ServiceEntry resource (Istio's CRDs are not installed), it says so in a warning, is ready with
// no clusters, and asks again every Discover, so that a CRD installed later is picked up. When
// the version it watches stops being served (the CRD deleted, or re-created with other
// versions), it drops the entries and looks for the resource again in the same way.
//
// RBAC on the local cluster: list and watch serviceentries.networking.istio.io (a ClusterRole).
type ServiceEntries struct {
	opts     ServiceEntriesOptions
	client   dynamic.Interface
	disc     discovery.DiscoveryInterface
	log      *zap.Logger
	cur      atomic.Pointer[[]resolver.Cluster] // nil until ready
	signal   chan struct{}                      // buffered, one: an entry changed
	watchLog *localWatchLog

	chMu   gosync.Mutex
	oldest time.Time // the oldest change not yet taken

	// Owned by Run.
	informer cache.SharedIndexInformer
	hosts    *hostAddrs
	logged   map[string]string // entry key → the problems and notes last logged
}

// NewServiceEntries returns the serviceentries source of the local cluster that client and disc
// reach. It starts nothing: Run does.
func NewServiceEntries(client dynamic.Interface, disc discovery.DiscoveryInterface, opts ServiceEntriesOptions) *ServiceEntries {
	if len(opts.Zones) == 0 {
		opts.Zones = []string{resolver.DefaultZone}
	}
	if opts.Discover <= 0 {
		opts.Discover = DefaultServiceEntriesDiscover
	}
	if opts.Resolve <= 0 {
		opts.Resolve = DefaultPeerResolve
	}
	if opts.Lookup == nil {
		opts.Lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	log := opts.Log
	if log == nil {
		log = zap.NewNop()
	}
	log = log.With(zap.String("source", ServiceEntriesSource))
	return &ServiceEntries{
		opts: opts, client: client, disc: disc, log: log,
		signal:   make(chan struct{}, 1),
		watchLog: &localWatchLog{log: log, what: "serviceentries." + serviceEntryGroup},
		hosts:    newHostAddrs(opts.Lookup, log),
		logged:   make(map[string]string),
	}
}

// Name returns "serviceentries".
func (s *ServiceEntries) Name() string { return ServiceEntriesSource }

// Clusters returns one cluster per ServiceEntry that serves a name in the zones; ready once the
// entries have been listed, or the resource was found not to be served.
func (s *ServiceEntries) Clusters() ([]resolver.Cluster, bool) {
	p := s.cur.Load()
	if p == nil {
		return nil, false
	}
	return *p, true
}

// TakeChanges returns the time of the oldest change not yet taken, and resets it.
func (s *ServiceEntries) TakeChanges() (oldest time.Time, ok bool) {
	s.chMu.Lock()
	defer s.chMu.Unlock()
	oldest, s.oldest = s.oldest, time.Time{}
	return oldest, !oldest.IsZero()
}

// Run finds the served version of the resource, then lists and watches the entries until ctx is
// done. When that version stops being served (the CRD deleted, or replaced by one that serves
// other versions) it drops the entries and looks for the resource again. It must be called once.
func (s *ServiceEntries) Run(ctx context.Context, changed func()) {
	for {
		gvr, ok := s.discover(ctx, changed)
		if !ok || !s.watch(ctx, gvr, changed) {
			return
		}
		s.log.Warn("ServiceEntry version no longer served: entries dropped, looking for the resource again",
			zap.String("version", gvr.Version))
		s.cur.Store(&[]resolver.Cluster{})
		changed()
	}
}

// watch lists and watches the entries of version gvr until ctx is done (false) or the local
// cluster no longer serves that version (true).
func (s *ServiceEntries) watch(ctx context.Context, gvr schema.GroupVersionResource, changed func()) bool {
	wctx, cancel := context.WithCancel(ctx)
	gone := make(chan struct{})
	var goneOnce gosync.Once
	s.informer = dynamicinformer.NewFilteredDynamicInformer(s.client, gvr, metav1.NamespaceAll, 0,
		cache.Indexers{}, nil).Informer()
	// Neither call fails on an informer that has not started.
	_ = s.informer.SetTransform(s.transform)
	_ = s.informer.SetWatchErrorHandler(func(r *cache.Reflector, err error) {
		s.watchLog.handle(r, err)
		if apierrors.IsNotFound(err) && !s.stillServed(gvr) {
			goneOnce.Do(func() { close(gone) })
		}
	})
	_, _ = s.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { s.notify() },
		UpdateFunc: func(old, cur any) { s.notifyUpdate(old, cur) },
		DeleteFunc: func(any) { s.notify() },
	})
	var wg gosync.WaitGroup
	defer func() { cancel(); wg.Wait() }() // the informer has stopped when watch returns
	wg.Go(func() { s.informer.RunWithContext(wctx) })
	select {
	case <-ctx.Done():
		return false
	case <-gone:
		return true
	case <-s.informer.HasSyncedChecker().Done():
	}
	select { // the first rebuild below covers the events of the initial list
	case <-s.signal:
	default:
	}
	s.TakeChanges()
	s.rebuild(ctx)
	s.log.Info("service entries listed", zap.String("version", gvr.Version),
		zap.Int("clusters", len(*s.cur.Load())))
	changed()
	return s.follow(ctx, gone, changed)
}

// stillServed asks discovery whether gvr is still the version to read. An error of discovery
// itself counts as served: the informer keeps retrying, as for any other failure.
func (s *ServiceEntries) stillServed(gvr schema.GroupVersionResource) bool {
	cur, err := s.servedVersion()
	switch {
	case errors.Is(err, errNotServed):
		return false
	case err != nil:
		return true
	}
	return cur == gvr
}

// follow rebuilds at every change of the entries, and whenever a looked up endpoint hostname
// resolves to other addresses, until ctx is done (false) or gone is closed (true).
func (s *ServiceEntries) follow(ctx context.Context, gone <-chan struct{}, changed func()) bool {
	resolve := time.NewTicker(s.opts.Resolve)
	defer resolve.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-gone:
			return true
		case <-s.signal:
		case <-resolve.C:
			if !s.hosts.refresh(ctx, nil) {
				continue
			}
		}
		if s.rebuild(ctx) {
			changed()
		}
	}
}

// notify is called by the informer for every event; it only records the time and signals.
func (s *ServiceEntries) notify() {
	s.watchLog.ok()
	s.chMu.Lock()
	if s.oldest.IsZero() {
		s.oldest = time.Now()
	}
	s.chMu.Unlock()
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// notifyUpdate signals an update that changed the entry: relists deliver unchanged ones.
func (s *ServiceEntries) notifyUpdate(old, cur any) {
	o, ok1 := old.(*cachedEntry)
	c, ok2 := cur.(*cachedEntry)
	if ok1 && ok2 && o.rv != "" && o.rv == c.rv {
		s.watchLog.ok()
		return
	}
	s.notify()
}

// rebuild swaps in the clusters of the cached entries, logs what changed in how they were read,
// and reports whether the clusters changed.
func (s *ServiceEntries) rebuild(ctx context.Context) bool {
	entries := s.cachedEntries()
	var hostnames []string
	for _, e := range entries {
		if len(e.spec.problems) == 0 && len(e.spec.services) > 0 && len(e.spec.vips) == 0 {
			hostnames = append(hostnames, e.spec.hostnames...)
		}
	}
	slices.Sort(hostnames)
	if fresh := s.hosts.track(slices.Compact(hostnames)); len(fresh) > 0 {
		s.hosts.refresh(ctx, fresh)
	}
	s.logEntries(entries)
	clusters := s.clusters(entries)
	if old := s.cur.Load(); old != nil && slices.EqualFunc(*old, clusters, sameEntryCluster) {
		return false
	}
	s.cur.Store(&clusters)
	s.log.Debug("service entries changed", zap.Int("clusters", len(clusters)))
	return true
}

// cachedEntries returns the informer's entries, sorted by key; they must not be modified.
func (s *ServiceEntries) cachedEntries() []*cachedEntry {
	objs := s.informer.GetStore().List()
	out := make([]*cachedEntry, 0, len(objs))
	for _, obj := range objs {
		if e, ok := obj.(*cachedEntry); ok {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b *cachedEntry) int { return strings.Compare(a.key(), b.key()) })
	return out
}

// cachedEntry is what the informer keeps of one ServiceEntry.
type cachedEntry struct {
	namespace, name, rv string
	seen                time.Time // when this version was read: TXT shows its age
	spec                entrySpec
}

// GetObjectMeta gives the informer the entry's key and resource version.
func (e *cachedEntry) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Namespace: e.namespace, Name: e.name, ResourceVersion: e.rv}
}

func (e *cachedEntry) key() string { return e.namespace + "/" + e.name }

// transform is the informer's transform: it reads each ServiceEntry into a cachedEntry. A
// version already cached (a relist delivers every entry again) is kept as it is.
func (s *ServiceEntries) transform(obj any) (any, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil // a tombstone or a value already transformed
	}
	if old, ok, _ := s.informer.GetStore().GetByKey(u.GetNamespace() + "/" + u.GetName()); ok {
		if e, ok := old.(*cachedEntry); ok && e.rv != "" && e.rv == u.GetResourceVersion() {
			return e, nil
		}
	}
	return &cachedEntry{
		namespace: u.GetNamespace(), name: u.GetName(), rv: u.GetResourceVersion(),
		seen: time.Now(), spec: readServiceEntry(u, s.opts.Zones),
	}, nil
}
