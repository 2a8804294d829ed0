package sync

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/peerdns/peerdns/resolver"
)

// DefaultStaticPoll is how often a static file is checked for changes when StaticOptions.Poll
// is zero.
const DefaultStaticPoll = time.Second

// StaticOptions configure a Static source. Only Path is required.
type StaticOptions struct {
	Path string
	// Poll is how often the file is checked for changes; 0 means DefaultStaticPoll.
	Poll time.Duration
	// Resolve is how often gateway hostnames are looked up again; 0 means 30 × Poll.
	Resolve time.Duration
	// Log receives one line per load, rejected reload and hostname failure; nil: zap.NewNop().
	Log *zap.Logger
	// OnError is called, from Run's goroutine, for each reload that failed: a file that became
	// unreadable or invalid. The previous clusters keep being served. The plugin wires it to the
	// Syncer's Reporter with ReportErrors(reporter, "static"). Nil: errors are only logged.
	OnError func(error)
	// Lookup resolves a gateway hostname to addresses; nil means net.DefaultResolver's
	// LookupNetIP for "ip". Tests set a fake.
	Lookup func(ctx context.Context, host string) ([]netip.Addr, error)
}

// Static is the source of a static YAML file (SPEC section 8): clusters that have no API to
// watch, such as VMs. It polls the file with os.Stat, which follows symlinks, so an edit in
// place, an atomic rename and a Kubernetes ConfigMap's "..data" symlink swap are all seen; a
// file deleted and created again is read again. A file that fails to load is logged, passed to
// OnError and the previous clusters are kept: an unreadable file once until it is readable again,
// an invalid one when it has stayed the same for one poll (so that a writer caught between
// truncating and writing the file is not reported). A file whose content is unchanged changes
// nothing.
//
// Gateway hostnames are resolved when Run starts, when they first appear in the file and every
// Resolve interval after that. A hostname that does not resolve leaves its cluster without
// addresses (it serves nothing) until it does; one that stops resolving keeps its last
// addresses. Clusters have Source "static", State Live and Updated set to the time the file
// was last loaded.
type Static struct {
	opts StaticOptions
	log  *zap.Logger
	cur  atomic.Pointer[[]resolver.Cluster] // served clusters; nil until Run's first resolve

	// Owned by NewStatic, then by Run.
	file    []resolver.Cluster // as parsed: hostnames not resolved
	loaded  time.Time          // when file was parsed
	info    os.FileInfo        // the stat that file was read after; nil to force a read
	sum     [sha256.Size]byte  // hash of the content file was parsed from
	readErr string             // the read error last reported, so it is reported once
	invalid error              // a parse error not reported yet: the file may be mid-write
	hosts   map[string]*host   // gateway hostname -> its addresses
}

// NewStatic reads and validates the file once; a missing or invalid file is an error, so that a
// bad Corefile fails at setup with a precise message. It neither resolves hostnames nor starts
// anything: Run does.
func NewStatic(opts StaticOptions) (*Static, error) {
	if opts.Poll <= 0 {
		opts.Poll = DefaultStaticPoll
	}
	if opts.Resolve <= 0 {
		opts.Resolve = 30 * opts.Poll
	}
	if opts.Lookup == nil {
		opts.Lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	s := &Static{opts: opts, log: opts.Log, hosts: make(map[string]*host)}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	if _, err := s.load(); err != nil {
		return nil, err
	}
	if s.invalid != nil {
		return nil, s.invalid
	}
	return s, nil
}

// Name returns "static".
func (s *Static) Name() string { return staticSource }

// Clusters returns the clusters being served; ready is false until Run has resolved the gateway
// hostnames of the first load.
func (s *Static) Clusters() ([]resolver.Cluster, bool) {
	p := s.cur.Load()
	if p == nil {
		return nil, false
	}
	return *p, true
}

// Run resolves the gateway hostnames, makes the clusters ready, and then polls the file and
// re-resolves the hostnames until ctx is done. It must be called once.
func (s *Static) Run(ctx context.Context, changed func()) {
	s.resolve(ctx, false)
	s.swap()
	changed()
	poll := time.NewTicker(s.opts.Poll)
	defer poll.Stop()
	refresh := time.NewTicker(s.opts.Resolve)
	defer refresh.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
			if s.reload(ctx) {
				s.swap()
				changed()
			}
		case <-refresh.C:
			if s.resolve(ctx, true) {
				s.swap()
				changed()
			}
		}
	}
}

// reload loads the file if it changed, reporting a failure, and resolves hostnames it did not
// have before. It returns whether the clusters changed.
func (s *Static) reload(ctx context.Context) bool {
	ok, err := s.load()
	if err != nil {
		s.log.Warn("static file rejected, keeping the previous map",
			zap.String("path", s.opts.Path), zap.Error(err))
		if s.opts.OnError != nil {
			s.opts.OnError(err)
		}
		return false
	}
	if ok {
		s.resolve(ctx, false)
	}
	return ok
}

// load reads and parses the file when its stat or content differs from the last load, and
// returns whether s.file changed. A failure to read that repeats is returned once. A file that
// does not parse is returned at the next call if it is still the same file by then: a writer
// that truncates and rewrites in place, caught between the two, is not reported.
func (s *Static) load() (bool, error) {
	path := s.opts.Path
	data, fresh, err := s.read()
	if err != nil {
		s.info = nil // read again at the next poll
		if err.Error() == s.readErr {
			return false, nil
		}
		s.readErr = err.Error()
		return false, err
	}
	if s.readErr != "" {
		s.readErr = ""
		s.log.Info("static file readable again", zap.String("path", path))
	}
	if !fresh {
		err, s.invalid = s.invalid, nil
		return false, err
	}
	s.invalid = nil
	sum := sha256.Sum256(data)
	if sum == s.sum {
		s.log.Debug("static file replaced, content as loaded", zap.String("path", path))
		return false, nil
	}
	clusters, err := parseStatic(path, data)
	if err != nil {
		s.invalid = err
		return false, nil
	}
	s.file, s.sum, s.loaded = clusters, sum, time.Now()
	s.log.Info("static file loaded", zap.String("path", path),
		zap.Int("clusters", len(clusters)), zap.Int("services", countServices(clusters)))
	return true, nil
}

// read returns the file's content, or fresh false when its stat is the one last read. The stat
// is taken before the read, so that a write during the read is seen at the next poll.
func (s *Static) read() (data []byte, fresh bool, err error) {
	info, err := os.Stat(s.opts.Path)
	if err != nil {
		return nil, false, fmt.Errorf("read static file: %w", err)
	}
	if s.info != nil && sameStat(s.info, info) {
		return nil, false, nil
	}
	if data, err = readStatic(s.opts.Path); err != nil {
		return nil, false, err
	}
	s.info = info
	return data, true, nil
}

// sameStat reports whether two stats of a path show the same file, unchanged.
func sameStat(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size() &&
		a.Mode() == b.Mode()
}

// swap publishes a new slice of the file's clusters with their resolved addresses. Slices
// already handed out are never modified.
func (s *Static) swap() {
	out := make([]resolver.Cluster, len(s.file))
	for i, c := range s.file {
		c.Updated = s.loaded
		if h := s.hosts[c.Gateway.Hostname]; h != nil && c.Gateway.Hostname != "" {
			c.Gateway.Addresses = h.addrs
		}
		out[i] = c
	}
	s.cur.Store(&out)
}
