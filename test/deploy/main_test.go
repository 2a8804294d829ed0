package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/peerdns/peerdns/test/e2e"
	"github.com/peerdns/peerdns/test/testbed"
)

// local is the test bed's one cluster: the cluster peerdns is installed in.
var local *testbed.Cluster

// root is the repository's root; helmBin the helm command line scripts/helm.sh built; ctlBin
// the peerdnsctl TestMain built.
var root, helmBin, ctlBin string

// errNoHelm says how to get the helm command line.
var errNoHelm = errors.New("helm not built: run scripts/helm.sh build (make helm)")

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	var err error
	if root, err = findRoot(); err != nil {
		return fail(err)
	}
	if helmBin, err = findHelm(); err != nil {
		return fail(err)
	}
	dir, err := os.MkdirTemp("", "peerdns-deploy-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)
	if err := isolateHelm(dir); err != nil {
		return fail(err)
	}
	if err := e2e.Prepare(dir); err != nil {
		return fail(err)
	}
	if ctlBin, err = e2e.BuildCtl(dir); err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	clusters, err := testbed.StartAll(ctx, testbed.Options{}, "local")
	if err != nil {
		return fail(err) // testbed.ErrNotBuilt says how to build the binaries
	}
	defer testbed.StopAll(clusters...)
	local = clusters[0]
	return m.Run()
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "FAIL:", err)
	return 1
}

// findRoot is the folder above the working directory that holds scripts/helm.sh.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "scripts", "helm.sh")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no scripts/helm.sh above %s", dir)
		}
	}
}

// findHelm is where scripts/helm.sh builds helm: $PEERDNS_HELM_DIR/bin, else .cache/helm/bin.
func findHelm() (string, error) {
	dir := os.Getenv("PEERDNS_HELM_DIR")
	if dir == "" {
		dir = filepath.Join(root, ".cache", "helm")
	}
	bin := filepath.Join(dir, "bin", "helm")
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("%w (%s missing)", errNoHelm, bin)
	}
	return bin, nil
}

// isolateHelm points helm's cache, configuration and data at dir: the tests neither read nor
// leave anything in the user's own.
func isolateHelm(dir string) error {
	for _, v := range []string{"HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"} {
		if err := os.Setenv(v, filepath.Join(dir, "helm", v)); err != nil {
			return err
		}
	}
	return nil
}

// TestMissingHelmFails: without the helm binary the tests fail and say how to build it.
func TestMissingHelmFails(t *testing.T) {
	t.Setenv("PEERDNS_HELM_DIR", t.TempDir())
	_, err := findHelm()
	if !errors.Is(err, errNoHelm) {
		t.Fatalf("findHelm with no binary: %v, want %v", err, errNoHelm)
	}
	if want := "run scripts/helm.sh build (make helm)"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
}

// runHelm runs the helm command line and returns its standard output. Helm reads the chart
// from a child process, which go test's cache does not see; reading the chart's files here
// makes a change to them invalidate a cached result.
func runHelm(t *testing.T, args ...string) string {
	t.Helper()
	out, err := tryHelm(t, args...)
	if err != nil {
		t.Fatalf("helm %q: %v", args, err)
	}
	return out
}

// tryHelm runs the helm command line; its error carries helm's output.
func tryHelm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	readTree(t, filepath.Join(root, "deploy"))
	if _, err := os.Stat(helmBin); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(helmBin, args...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%w\n%s%s", err, out, stderr.String())
	}
	return string(out), nil
}

// readTree reads every file under dir.
func readTree(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		_, err = os.ReadFile(path)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
