package stubdomain

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// State is what peerdns has installed in a target.
type State struct {
	Installed bool
	Zones     []string // in the order they are written
	Server    string   // where they forward to
	// Reconciled: the ConfigMap is labelled for the addon manager to put it back as shipped.
	Reconciled bool
}

// addonModeLabel tells Kubernetes's addon manager whether it puts an addon's object back as
// shipped (Reconcile) or leaves edits alone (EnsureExists).
const addonModeLabel = "addonmanager.kubernetes.io/mode"

// revertNote warns that the addon manager will undo an edit of t's ConfigMap.
func revertNote(t Target) string {
	return fmt.Sprintf("%s is labelled %s=Reconcile: the addon manager puts it back as shipped, "+
		"peerdns's entries with it, within a minute; ship it labelled EnsureExists "+
		"(deploy/README.md, known traps)", t.Ref(), addonModeLabel)
}

// Change returns what peerdns wants installed, given what is installed now; a nil Spec means
// nothing (uninstall). Apply calls it again after a conflict, with the state it re-read.
type Change func(current State) (*Spec, error)

// Options tell Apply where and how to write.
type Options struct {
	Client kubernetes.Interface
	// Host is the API server's URL, for messages.
	Host string
	// DryRun computes the change and its diff, and writes nothing.
	DryRun bool
	// BeforeWrite, when set, is called after the ConfigMap has been read and edited and before
	// it is written, with the attempt number (0 for the first). Tests use it to change the
	// ConfigMap in between and so force a conflict.
	BeforeWrite func(ctx context.Context, attempt int)
}

// Result says what Apply did.
type Result struct {
	Changed  bool     // the ConfigMap differs: it was written, or would be (DryRun)
	Created  bool     // the ConfigMap did not exist: it was created, or would be
	Diff     string   // unified diff of what changed, empty when nothing did
	Notes    []string // entries found and left alone, for the operator
	Attempts int      // writes tried: more than one after conflicts
}

// ErrNotFound is returned when the target's ConfigMap does not exist and cannot be made here
// (CoreDNS's Corefile is not peerdns's to create).
var ErrNotFound = errors.New("ConfigMap not found")

// Apply reads t's ConfigMap, edits it as change says and writes it back when it differs, with
// its resourceVersion. On a conflict (someone else wrote in between) it starts over from a
// fresh read, so that both changes survive. A kube-dns ConfigMap that does not exist is
// created.
func Apply(ctx context.Context, t Target, change Change, opts Options) (Result, error) {
	var res Result
	attempt := 0
	err := retry.OnError(retry.DefaultRetry, func(err error) bool {
		return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)
	}, func() error {
		res = Result{Attempts: attempt}
		err := applyOnce(ctx, t, change, opts, attempt, &res)
		attempt++
		return err
	})
	return res, err
}

// applyOnce is one read, edit and write.
func applyOnce(ctx context.Context, t Target, change Change, opts Options, attempt int, res *Result) error {
	cm, exists, err := read(ctx, t, opts)
	if err != nil {
		return err
	}
	st, err := stateOf(t, cm)
	if err != nil {
		return err
	}
	want, err := change(st)
	if err != nil || (!exists && want == nil) {
		return err
	}
	if !exists && t == CoreDNS {
		name, _ := t.configMap()
		return fmt.Errorf("ConfigMap %s/%s at %s: %w; is the cluster DNS kube-dns? (--target kube-dns)", Namespace, name, opts.Host, ErrNotFound)
	}
	edited := cm.DeepCopy()
	if res.Notes, err = edit(t, edited, want); err != nil {
		return err
	}
	if want != nil && st.Reconciled {
		res.Notes = append(res.Notes, revertNote(t))
	}
	if maps.Equal(cm.Data, edited.Data) && maps.Equal(cm.Annotations, edited.Annotations) {
		return nil
	}
	res.Changed, res.Created = true, !exists
	res.Diff = diff(t, cm, edited, exists)
	if opts.DryRun {
		return nil
	}
	if opts.BeforeWrite != nil {
		opts.BeforeWrite(ctx, attempt)
	}
	res.Attempts = attempt + 1
	return write(ctx, t, edited, exists, opts)
}

// read gets t's ConfigMap; one that does not exist is returned empty, with exists false.
func read(ctx context.Context, t Target, opts Options) (*corev1.ConfigMap, bool, error) {
	name, _ := t.configMap()
	cm, err := opts.Client.CoreV1().ConfigMaps(Namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: Namespace, Name: name}}, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("read ConfigMap %s/%s at %s: %w", Namespace, name, opts.Host, err)
	}
	return cm, true, nil
}

// write creates or updates the ConfigMap; an update carries the resourceVersion it was read at.
func write(ctx context.Context, t Target, cm *corev1.ConfigMap, exists bool, opts Options) error {
	name, _ := t.configMap()
	cms := opts.Client.CoreV1().ConfigMaps(Namespace)
	var err error
	verb := "update"
	if exists {
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: fieldManager})
	} else {
		verb = "create"
		_, err = cms.Create(ctx, cm, metav1.CreateOptions{FieldManager: fieldManager})
	}
	if err != nil {
		return fmt.Errorf("%s ConfigMap %s/%s at %s: %w", verb, Namespace, name, opts.Host, err)
	}
	return nil
}

// fieldManager is peerdnsctl's name in the ConfigMap's managedFields.
const fieldManager = "peerdnsctl"

// stateOf reads what peerdns installed in t's ConfigMap.
func stateOf(t Target, cm *corev1.ConfigMap) (State, error) {
	var st State
	var err error
	if t == KubeDNS {
		st, err = kubeDNSState(cm)
	} else {
		st, err = coreDNSState(cm)
	}
	st.Reconciled = strings.EqualFold(cm.Labels[addonModeLabel], "Reconcile")
	return st, err
}

// edit makes peerdns's part of t's ConfigMap exactly want, in place.
func edit(t Target, cm *corev1.ConfigMap, want *Spec) ([]string, error) {
	if t == KubeDNS {
		return editKubeDNS(cm, want)
	}
	return editCoreDNS(cm, want)
}

// Read returns what peerdns installed in t's ConfigMap, and whether the ConfigMap exists.
func Read(ctx context.Context, t Target, opts Options) (State, bool, error) {
	cm, exists, err := read(ctx, t, opts)
	if err != nil || !exists {
		return State{}, exists, err
	}
	st, err := stateOf(t, cm)
	return st, true, err
}
