package sync

import (
	"context"
	"slices"
	gosync "sync"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/peerdns/peerdns/resolver"
)

// The Istio remote-secret format, as `istioctl create-remote-secret` writes it.
const (
	// RemoteSecretLabel marks a Secret of the local cluster as a remote secret.
	RemoteSecretLabel = "istio/multiCluster"
	// RemoteSecretSelector selects remote secrets; only they are listed and watched.
	RemoteSecretSelector = RemoteSecretLabel + "=true"
	// RemoteSecretAnnotation names the cluster a remote secret is for. peerdns reads the
	// cluster names from the data keys, as Istio does; the annotation is informational.
	RemoteSecretAnnotation = "networking.istio.io/cluster"
)

// secretSourceName names the remote_secrets source in logs, metrics and TXT answers.
const secretSourceName = "remote_secret"

// peerSetter is what the discovery of remote secrets drives: a PeerSet, which runs one watched
// peer per spec.
type peerSetter interface {
	// SetPeers replaces the whole set of peers.
	SetPeers(specs []PeerSpec)
	// Discovered says that the first complete list of peers has been set.
	Discovered()
}

// RemoteSecrets is the remote_secrets source (SPEC section 4): peers found in the local
// cluster's Secrets labelled istio/multiCluster=true in one namespace. Each data key of such a
// Secret is a peer's cluster name and its value a kubeconfig for that peer, the format
// `istioctl create-remote-secret` writes; one Secret may hold several peers. Secrets added,
// changed and deleted are picked up live: a peer whose kubeconfig changed (rotated credentials)
// is restarted with the new one, a peer whose entry is gone is stopped.
//
// A kubeconfig from a Secret is trusted less than the operator's own files: whoever may write
// Secrets in that namespace must not be able to make peerdns run a program or read its local
// files. So credential plugins (exec, auth-provider) and file references (tokenFile,
// certificate-authority, client-certificate, client-key) are refused; certificates, keys and
// tokens must be embedded, as istioctl embeds them. The kubeconfig's current-context is used,
// or its only context when it has no current-context.
//
// An entry that cannot be used (not a kubeconfig, refused, a cluster name that is not a DNS
// label) is logged once, naming the Secret, the key and the cause but never the content, passed
// to PeerOptions.OnError, and skipped; the other entries are used. Cluster names are lower-cased. When two Secrets name the
// same cluster, the older Secret wins (then the one whose name sorts first), so that adding a
// conflicting Secret never disturbs a running peer; the conflict is logged as a warning.
//
// RBAC on the local cluster: list and watch Secrets in that namespace only (a Role and a
// RoleBinding); get is not needed. Nothing is read outside the namespace, and only Secrets that
// carry the label are listed.
type RemoteSecrets struct {
	peers     *PeerSet
	discovery *secretDiscovery
}

// NewRemoteSecrets returns the remote_secrets source for the Secrets in namespace of the local
// cluster; opts configure every peer found. It starts nothing: Run does.
func NewRemoteSecrets(local kubernetes.Interface, namespace string, opts PeerOptions) *RemoteSecrets {
	peers := NewPeerSet(secretSourceName, opts)
	return &RemoteSecrets{peers: peers, discovery: newSecretDiscovery(local, namespace, peers, opts)}
}

// Name returns "remote_secret", the Source of its clusters.
func (r *RemoteSecrets) Name() string { return secretSourceName }

// Clusters returns the peers' clusters. They are ready once the Secrets have been listed and
// every peer found then has been listed (or has failed), as the PeerSet decides.
func (r *RemoteSecrets) Clusters() ([]resolver.Cluster, bool) { return r.peers.Clusters() }

// TakeChanges passes on the PeerSet's TakeChanges.
func (r *RemoteSecrets) TakeChanges() (time.Time, bool) { return r.peers.TakeChanges() }

// Run watches the remote secrets and runs their peers until ctx is done. It must be called once.
func (r *RemoteSecrets) Run(ctx context.Context, changed func()) {
	var wg gosync.WaitGroup
	wg.Go(func() { r.discovery.run(ctx) })
	r.peers.Run(ctx, changed)
	wg.Wait()
}

// secretDiscovery watches the remote secrets of one namespace and sets the peers they name.
type secretDiscovery struct {
	namespace string
	peers     peerSetter
	onError   func(error) // PeerOptions.OnError: told of every entry that cannot be used
	log       *zap.Logger
	informer  cache.SharedIndexInformer
	watchLog  *localWatchLog
	signal    chan struct{} // buffered, one: the secrets changed

	// Owned by run.
	entries map[string]secretEntry // "secret/key" → what its value parsed to
	hashes  map[string]string      // peer name → hash, as last set
	dups    string                 // the conflicts last logged
}

// newSecretDiscovery builds the informer; run starts it.
func newSecretDiscovery(client kubernetes.Interface, namespace string, peers peerSetter, opts PeerOptions) *secretDiscovery {
	log := opts.Log
	if log == nil {
		log = zap.NewNop()
	}
	log = log.With(zap.String("source", secretSourceName), zap.String("namespace", namespace))
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithNamespace(namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = RemoteSecretSelector }))
	d := &secretDiscovery{
		namespace: namespace,
		peers:     peers,
		onError:   opts.OnError,
		log:       log,
		informer:  factory.Core().V1().Secrets().Informer(),
		watchLog:  &localWatchLog{log: log, what: "secrets in namespace " + namespace},
		signal:    make(chan struct{}, 1),
	}
	d.setupInformer()
	return d
}

// setupInformer trims what the informer caches and makes its events signal.
func (d *secretDiscovery) setupInformer() {
	// Neither call fails on an informer that has not started.
	_ = d.informer.SetTransform(trimRemoteSecret)
	_ = d.informer.SetWatchErrorHandler(d.watchLog.handle)
	_, _ = d.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { d.notify() },
		UpdateFunc: func(any, any) { d.notify() },
		DeleteFunc: func(any) { d.notify() },
	})
}

// notify is called by the informer for every event; it only signals.
func (d *secretDiscovery) notify() {
	d.watchLog.ok()
	select {
	case d.signal <- struct{}{}:
	default:
	}
}

// run lists the secrets, sets the first peers, says so, and then follows the changes until ctx
// is done.
func (d *secretDiscovery) run(ctx context.Context) {
	var wg gosync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { d.informer.RunWithContext(ctx) })
	select {
	case <-ctx.Done():
		return
	case <-d.informer.HasSyncedChecker().Done():
	}
	select { // the first sync below covers the events of the initial list
	case <-d.signal:
	default:
	}
	d.sync()
	d.peers.Discovered()
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.signal:
			d.sync()
		}
	}
}

// sync sets the peers of the cached secrets, when they differ from the last ones set.
func (d *secretDiscovery) sync() {
	specs := d.specs(d.cachedSecrets())
	added, updated, removed := d.diff(specs)
	if d.hashes != nil && len(added)+len(updated)+len(removed) == 0 {
		return
	}
	first := d.hashes == nil
	d.hashes = make(map[string]string, len(specs))
	for _, s := range specs {
		d.hashes[s.Name] = s.Hash
	}
	d.peers.SetPeers(specs)
	if first {
		d.log.Info("remote secrets listed", zap.Int("peers", len(specs)), zap.Strings("added", added))
		return
	}
	d.log.Info("remote secrets changed", zap.Int("peers", len(specs)),
		zap.Strings("added", added), zap.Strings("updated", updated), zap.Strings("removed", removed))
}

// diff compares specs (sorted by name) with the peers last set.
func (d *secretDiscovery) diff(specs []PeerSpec) (added, updated, removed []string) {
	seen := make(map[string]bool, len(specs))
	for _, s := range specs {
		seen[s.Name] = true
		switch hash, ok := d.hashes[s.Name]; {
		case !ok:
			added = append(added, s.Name)
		case hash != s.Hash:
			updated = append(updated, s.Name)
		}
	}
	for name := range d.hashes {
		if !seen[name] {
			removed = append(removed, name)
		}
	}
	slices.Sort(removed)
	return added, updated, removed
}

// cachedSecrets returns the informer's secrets, which must not be modified.
func (d *secretDiscovery) cachedSecrets() []*corev1.Secret {
	objs := d.informer.GetStore().List()
	secrets := make([]*corev1.Secret, 0, len(objs))
	for _, obj := range objs {
		if s, ok := obj.(*corev1.Secret); ok {
			secrets = append(secrets, s)
		}
	}
	return secrets
}

// trimRemoteSecret is the informer's transform: it keeps what the discovery reads (name,
// creation time, the label and, for a labelled Secret, its data) and drops the rest, managed
// fields and last-applied annotations included.
func trimRemoteSecret(obj any) (any, error) {
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return obj, nil
	}
	t := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{
		Name:              s.Name,
		Namespace:         s.Namespace,
		UID:               s.UID,
		ResourceVersion:   s.ResourceVersion,
		CreationTimestamp: s.CreationTimestamp,
	}}
	if v, ok := s.Labels[RemoteSecretLabel]; ok {
		t.Labels = map[string]string{RemoteSecretLabel: v}
		if v == "true" {
			t.Data = s.Data
		}
	}
	return t, nil
}
