package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/peerdns/peerdns/resolver"
)

// snapshotVersion is the format of the snapshot file; a file of another version is ignored.
const snapshotVersion = 1

// snapshotDoc is the snapshot file: the clusters of the last published map.
type snapshotDoc struct {
	Version  int                `json:"version"`
	Saved    time.Time          `json:"saved"`
	Clusters []resolver.Cluster `json:"clusters"`
}

// readSnapshot reads a snapshot file. Its clusters come back stale, as last confirmed when the
// file was saved at the latest.
func readSnapshot(path string) ([]resolver.Cluster, time.Time, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, time.Time{}, err
	}
	var doc snapshotDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, time.Time{}, fmt.Errorf("%s: %w", path, err)
	}
	if doc.Version != snapshotVersion {
		return nil, time.Time{}, fmt.Errorf("%s: version %d, want %d", path, doc.Version, snapshotVersion)
	}
	var out []resolver.Cluster
	for _, c := range doc.Clusters {
		if !c.State.Serving() {
			continue
		}
		c.State = resolver.Stale
		if c.Updated.IsZero() || c.Updated.After(doc.Saved) {
			c.Updated = doc.Saved
		}
		out = append(out, c)
	}
	return out, doc.Saved, nil
}

// writeSnapshot writes clusters to path atomically: a reader never sees half a file.
func writeSnapshot(path string, clusters []resolver.Cluster, now time.Time) error {
	data, err := json.Marshal(snapshotDoc{Version: snapshotVersion, Saved: now, Clusters: clusters})
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// loadSnapshot reads the snapshot file at start. A missing file is normal on a first start; a
// broken one is logged and ignored.
func (s *Syncer) loadSnapshot() {
	clusters, saved, err := readSnapshot(s.opts.SnapshotFile)
	switch {
	case os.IsNotExist(err):
		s.log.Info("no snapshot file yet, starting empty", zap.String("path", s.opts.SnapshotFile))
		return
	case err != nil:
		s.log.Warn("snapshot file unreadable, starting empty", zap.Error(err))
		return
	}
	s.saved, s.savedAt = clusters, time.Now()
	s.log.Info("snapshot file read", zap.String("path", s.opts.SnapshotFile),
		zap.Int("clusters", len(clusters)), zap.Int("services", countServices(clusters)),
		zap.Duration("age", time.Since(saved).Round(time.Second)))
}

// snapshotSaver writes the latest published map to the snapshot file, at most once every
// SnapshotInterval, off the builder goroutine.
type snapshotSaver struct {
	path    string
	log     *zap.Logger
	pending chan []resolver.Cluster // buffered, one: the latest map replaces an unwritten one
}

func newSnapshotSaver(path string, log *zap.Logger) *snapshotSaver {
	return &snapshotSaver{path: path, log: log, pending: make(chan []resolver.Cluster, 1)}
}

// save hands the saver the latest map. It never blocks.
func (w *snapshotSaver) save(clusters []resolver.Cluster) {
	for {
		select {
		case w.pending <- clusters:
			return
		default:
		}
		select {
		case <-w.pending: // drop the older map
		default:
		}
	}
}

// run writes maps until ctx is done, then writes the last one it holds.
func (w *snapshotSaver) run(ctx context.Context) {
	failed := false
	for {
		var clusters []resolver.Cluster
		select {
		case <-ctx.Done():
			select {
			case clusters = <-w.pending:
				w.write(clusters, &failed)
			default:
			}
			return
		case clusters = <-w.pending:
		}
		w.write(clusters, &failed)
		select {
		case <-ctx.Done():
		case <-time.After(SnapshotInterval):
		}
	}
}

// write writes one map, logging a failure once until a write succeeds again.
func (w *snapshotSaver) write(clusters []resolver.Cluster, failed *bool) {
	err := writeSnapshot(w.path, clusters, time.Now())
	switch {
	case err != nil && !*failed:
		w.log.Warn("snapshot file not written", zap.String("path", w.path), zap.Error(err))
	case err == nil && *failed:
		w.log.Info("snapshot file written again", zap.String("path", w.path))
	}
	*failed = err != nil
}
