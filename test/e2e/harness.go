package e2e

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// digMissing is the message when dig is not installed. The tests fail rather than skip: a
// contract that silently stops being checked is worse than a red build.
const digMissing = "dig not found: install Debian package bind9-dnsutils (make test does this)"

// testVersion is the version stamped into the binary under test, as a release build does.
const testVersion = "v0.0.0-e2e"

var (
	repoRoot  string // the module's root folder
	serverBin string // cmd/peerdns, built once by prepare
	digBin    string // the real dig
)

// prepare finds dig and the module's root and builds cmd/peerdns into dir. A TestMain calls it
// once, before m.Run.
func prepare(dir string) error {
	var err error
	if digBin, err = exec.LookPath("dig"); err != nil {
		return errors.New(digMissing)
	}
	if repoRoot, err = findRoot(); err != nil {
		return err
	}
	serverBin, err = build(repoRoot, dir, "peerdns")
	return err
}

// build compiles cmd/<name> of the module at root into dir, without the race detector: the
// binary is the thing under test, not the test's own code, and a race build of CoreDNS is slow
// to make and to run.
func build(root, dir, name string) (string, error) {
	bin := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-ldflags", "-X main.version="+testVersion, "-o", bin, "./cmd/"+name)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build cmd/%s: %w\n%s", name, err, out)
	}
	return bin, nil
}

// peerdns returns the path of the server binary. The first call also looks at every file the
// binary is built from or reads: go test caches a passing result until the test binary or a
// file that a test looked at (once TestMain handed over to m.Run) changes, and the server is
// built by TestMain, not linked into the test, so without this a change to plugin/ would leave
// a stale cached "ok".
func peerdns(t *testing.T) string {
	t.Helper()
	statOnce.Do(func() { statSources(repoRoot) })
	return serverBin
}

var statOnce sync.Once

// statSources stats every file of the module outside hidden folders and bin/: the sources, and
// the example files the server reads. Errors (a file removed meanwhile) do not matter here.
func statSources(root string) {
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return nil
		case d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "bin"):
			return filepath.SkipDir
		case !d.IsDir():
			os.Stat(path)
		}
		return nil
	})
}

// findRoot walks up from the test's folder to the one holding go.mod.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the test folder")
		}
		dir = parent
	}
}
