package sync

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"go.uber.org/zap"

	"github.com/peerdns/peerdns/resolver"
)

// DefaultKubeconfigPoll is how often a kubeconfig path is checked for changes.
const DefaultKubeconfigPoll = time.Second

// Kubeconfig is the `kubeconfig PATH` source (SPEC section 4): a kubeconfig file, or a folder of
// them, each context a peer cluster named after the context (in lower case). The path is
// polled every second, following symlinks, so an edit, an atomic rename and a Kubernetes
// Secret's "..data" symlink swap are seen; in a folder, names starting with "." and
// sub-folders are skipped. A file added brings its peers, a file removed takes its peers away,
// a context whose credentials changed restarts its peer.
//
// A file that cannot be used (unreadable, not a kubeconfig, a context without a server) is
// logged once with an error that names it, and passed to OnError; its previous peers, if it
// had any, are kept, and the other files' peers are unaffected. A file that fails to parse is
// reported when it has stayed the same for one poll, so that a writer caught between truncating
// and writing it is not. A context name given by two files is taken from the first file in
// name order; the conflict is logged.
type Kubeconfig struct {
	path string
	dir  bool
	poll time.Duration
	set  *PeerSet
	opts PeerOptions
	log  *zap.Logger

	// Owned by Run.
	files   map[string]*kubeFile
	listErr string // the folder's read error last logged
	last    string // the peers last given to the set, as "name=hash" lines
	given   bool   // the set was given peers once
	dups    string // the conflicts last logged
}

// kubeFile is what is known of one kubeconfig file.
type kubeFile struct {
	info    os.FileInfo // the stat of the last read; nil: read again
	specs   []PeerSpec  // its peers as last read successfully
	good    bool        // it was read successfully once
	failed  string      // the error last reported
	pending error       // a parse error not reported yet: the file may be mid-write
}

// NewKubeconfig returns the source of path, a file or a folder; an error if it does not exist.
// It starts nothing: Run reads the path and runs the peers.
func NewKubeconfig(path string, opts PeerOptions) (*Kubeconfig, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	opts = opts.withDefaults()
	return &Kubeconfig{
		path: path, dir: info.IsDir(), poll: DefaultKubeconfigPoll,
		set: NewPeerSet(kubeconfigSource, opts), opts: opts,
		log:   opts.Log.With(zap.String("source", kubeconfigSource)),
		files: make(map[string]*kubeFile),
	}, nil
}

// Name returns "kubeconfig".
func (k *Kubeconfig) Name() string { return kubeconfigSource }

// Clusters returns the peers' clusters; ready once the path was read and every peer listed once
// (or failed for a definitive cause).
func (k *Kubeconfig) Clusters() ([]resolver.Cluster, bool) { return k.set.Clusters() }

// TakeChanges passes on the PeerSet's TakeChanges.
func (k *Kubeconfig) TakeChanges() (time.Time, bool) { return k.set.TakeChanges() }

// Run reads the path, runs its peers and follows the path's changes until ctx is done. It must
// be called once.
func (k *Kubeconfig) Run(ctx context.Context, changed func()) {
	k.scan()
	k.set.Discovered()
	var wg gosync.WaitGroup
	wg.Go(func() { k.set.Run(ctx, changed) })
	defer wg.Wait()
	tick := time.NewTicker(k.poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			k.scan()
		}
	}
}

// scan reads the files that changed and gives the set their peers.
func (k *Kubeconfig) scan() {
	paths, err := k.list()
	if err != nil {
		if err.Error() != k.listErr {
			k.listErr = err.Error()
			k.log.Warn("kubeconfig folder unreadable, keeping its peers", zap.Error(err))
			k.opts.reportError(err)
		}
		return
	}
	k.listErr = ""
	next := make(map[string]*kubeFile, len(paths))
	for _, path := range paths {
		f := k.files[path]
		if f == nil {
			f = &kubeFile{}
		}
		k.read(path, f)
		next[path] = f
	}
	for path, f := range k.files {
		if next[path] == nil && len(f.specs) > 0 {
			k.log.Info("kubeconfig file removed, its peers leave", zap.String("path", path))
		}
	}
	k.files = next
	k.setPeers(paths)
}

// list returns the kubeconfig files of the path, sorted.
func (k *Kubeconfig) list() ([]string, error) {
	if !k.dir {
		return []string{k.path}, nil
	}
	entries, err := os.ReadDir(k.path)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig folder: %w", err)
	}
	var paths []string
	for _, e := range entries {
		path := filepath.Join(k.path, e.Name())
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if info, err := os.Stat(path); err != nil || info.IsDir() {
			continue // a sub-folder, or a symlink caught mid-swap
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// read reads one file if its stat changed, and reports what cannot be used.
func (k *Kubeconfig) read(path string, f *kubeFile) {
	info, err := os.Stat(path)
	if err != nil {
		f.info = nil
		k.fail(path, f, fmt.Errorf("kubeconfig %s: %w", path, err))
		return
	}
	if f.info != nil && sameStat(f.info, info) {
		if f.pending != nil {
			k.fail(path, f, f.pending)
			f.pending = nil
		}
		return
	}
	f.info = info
	specs, err := kubeconfigPeers(path)
	if err != nil {
		f.pending = err
		return
	}
	f.pending = nil
	if f.failed != "" {
		f.failed = ""
		k.log.Info("kubeconfig file usable again", zap.String("path", path))
	}
	if !f.good || specKey(specs) != specKey(f.specs) {
		k.log.Info("kubeconfig file loaded", zap.String("path", path), zap.Strings("contexts", specNames(specs)))
	}
	f.specs, f.good = specs, true
}

// fail logs and reports err for a file, once until it changes.
func (k *Kubeconfig) fail(path string, f *kubeFile, err error) {
	if err.Error() == f.failed {
		return
	}
	f.failed = err.Error()
	msg := "kubeconfig file rejected"
	if len(f.specs) > 0 {
		msg = "kubeconfig file rejected, keeping its previous peers"
	}
	k.log.Warn(msg, zap.String("path", path), zap.Error(err))
	k.opts.reportError(err)
}

// setPeers gives the set the peers of every file, when they changed. A name two files give is
// taken from the first.
func (k *Kubeconfig) setPeers(paths []string) {
	var specs []PeerSpec
	from := make(map[string]string)
	var dups []string
	for _, path := range paths {
		for _, spec := range k.files[path].specs {
			if first, ok := from[spec.Name]; ok {
				dups = append(dups, fmt.Sprintf("%s: %s kept, %s ignored", spec.Name, first, path))
				continue
			}
			from[spec.Name] = path
			specs = append(specs, spec)
		}
	}
	if d := strings.Join(dups, "; "); d != k.dups {
		k.dups = d
		if d != "" {
			k.log.Warn("context named in more than one kubeconfig file, the first kept", zap.Strings("conflicts", dups))
		}
	}
	if key := specKey(specs); key != k.last || !k.given {
		k.last, k.given = key, true
		k.set.SetPeers(specs)
	}
}

// specKey identifies a list of peers: names and credentials.
func specKey(specs []PeerSpec) string {
	var b strings.Builder
	for _, s := range specs {
		b.WriteString(s.Name + "=" + s.Hash + "\n")
	}
	return b.String()
}

func specNames(specs []PeerSpec) []string {
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	return slices.Clip(names)
}
