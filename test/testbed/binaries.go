package testbed

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrNotBuilt means the kube-apiserver and etcd binaries are not where
// scripts/testbed.sh puts them.
var ErrNotBuilt = errors.New("kube-apiserver not built: run scripts/testbed.sh build (make test does this)")

type binaries struct{ apiserver, etcd string }

// BinDir is the folder scripts/testbed.sh builds into: $PEERDNS_TESTBED_DIR/bin
// when that is set, else .cache/testbed/bin at the root of the repository
// that holds the working directory.
func BinDir() (string, error) {
	if dir := os.Getenv("PEERDNS_TESTBED_DIR"); dir != "" {
		return filepath.Join(dir, "bin"), nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "scripts", "testbed.sh")); err == nil {
			return filepath.Join(dir, ".cache", "testbed", "bin"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w (no scripts/testbed.sh above the working directory)", ErrNotBuilt)
		}
		dir = parent
	}
}

func findBinaries() (binaries, error) {
	dir, err := BinDir()
	if err != nil {
		return binaries{}, err
	}
	b := binaries{apiserver: filepath.Join(dir, "kube-apiserver"), etcd: filepath.Join(dir, "etcd")}
	for _, path := range []string{b.apiserver, b.etcd} {
		if _, err := os.Stat(path); err != nil {
			return binaries{}, fmt.Errorf("%w (%s missing)", ErrNotBuilt, path)
		}
	}
	return b, nil
}
