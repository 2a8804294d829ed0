package stockcoredns

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	// coreDNSVersion is the stock CoreDNS release built with the plugin: the one go.mod requires.
	coreDNSVersion = "v1.15.0"
	// module is this repository's module, and pluginPkg the package plugin.cfg names.
	module    = "github.com/peerdns/peerdns"
	pluginPkg = module + "/plugin"
	// cfgAnchor is the plugin.cfg line the README puts peerdns after, and cfgLine peerdns's own.
	cfgAnchor = "kubernetes:kubernetes"
	cfgLine   = "peerdns:" + pluginPkg
	// buildTags and ldflags are those of CoreDNS's Makefile (GOTAGS, STRIP_FLAGS), built with
	// CGO_ENABLED=0 as it does.
	buildTags = "grpcnotrace"
	ldflags   = "-s -w"
	// recipe changes whenever the steps below change in a way that makes older binaries stale.
	recipe = "stockcoredns/1 " + coreDNSVersion + " tags=" + buildTags + " ldflags=" + ldflags
)

// The files a build leaves in its cache folder: the binary, and the generated chain and import
// list that the test reads.
const (
	binName        = "coredns"
	directivesFile = "zdirectives.go"
	importsFile    = "zplugin.go"
)

// keyPattern matches the names of cache folders of built binaries (see cacheKey).
var keyPattern = regexp.MustCompile(`^[0-9a-f]{20}$`)

// built is a stock CoreDNS with the plugin, in its cache folder.
type built struct {
	dir        string // the cache folder
	bin        string // the coredns binary
	directives string // its core/dnsserver/zdirectives.go
	imports    string // its core/plugin/zplugin.go
}

// stockBinary returns CoreDNS built with this working tree's plugin, from the cache when the
// plugin's sources, go.mod and go.sum are unchanged since the last build, else built now.
func stockBinary(t *testing.T, root string) built {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("the go command is not in PATH: the test builds CoreDNS with it")
	}
	cache := filepath.Join(root, ".cache", "stockcoredns")
	key := cacheKey(t, root)
	b := builtIn(filepath.Join(cache, key))
	if b.complete() {
		t.Logf("stock CoreDNS with the plugin from the cache: %s", b.dir)
		return b
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	removeStale(cache, key)
	start := time.Now()
	ctx, cancel := buildContext(t)
	defer cancel()
	src, err := os.MkdirTemp(cache, "build-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(src)
	if err := build(ctx, t, root, src); err != nil {
		if ctx.Err() != nil {
			t.Fatalf("building stock CoreDNS did not finish before the test's deadline (it took %v "+
				"so far): a build of CoreDNS with a cold Go build cache takes 4.5 minutes on 2 idle "+
				"cores and over 12 on busy ones; give go test a longer -timeout, such as -timeout "+
				"30m\n%v", time.Since(start).Round(time.Second), err)
		}
		t.Fatalf("building stock CoreDNS %s with %s, as plugin/README.md tells users to: %v",
			coreDNSVersion, cfgLine, err)
	}
	b, err = publish(src, cache, key)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built stock CoreDNS with the plugin in %v: %s", time.Since(start).Round(time.Second), b.dir)
	return b
}

func builtIn(dir string) built {
	return built{
		dir:        dir,
		bin:        filepath.Join(dir, binName),
		directives: filepath.Join(dir, directivesFile),
		imports:    filepath.Join(dir, importsFile),
	}
}

// complete reports whether every file of the build is there.
func (b built) complete() bool {
	for _, f := range []string{b.bin, b.directives, b.imports} {
		if st, err := os.Stat(f); err != nil || !st.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// buildContext ends a minute before the test's deadline, so that a build too slow for the
// -timeout fails with a message that says so instead of go test's panic.
func buildContext(t *testing.T) (context.Context, context.CancelFunc) {
	deadline, ok := t.Deadline()
	if !ok {
		return context.WithCancel(t.Context())
	}
	return context.WithDeadline(t.Context(), deadline.Add(-time.Minute))
}

// build follows plugin/README.md in src: CoreDNS's source with the plugin.cfg line, go get of
// the plugin's module, go generate, and go build as CoreDNS's Makefile runs it.
func build(ctx context.Context, t *testing.T, root, src string) error {
	from, err := coreDNSSource(ctx, t.TempDir())
	if err != nil {
		return err
	}
	if err := copyTree(from, src); err != nil {
		return fmt.Errorf("copy CoreDNS's source from %s: %w", from, err)
	}
	if err := addPluginLine(filepath.Join(src, "plugin.cfg")); err != nil {
		return err
	}
	// The module is not published under the version the test builds, so a replace makes this
	// working tree the module, and go get takes it by that version: a user's plain
	// "go get github.com/peerdns/peerdns/plugin" resolves the published one the same way.
	steps := [][]string{
		{"mod", "edit", "-require=" + module + "@v0.0.0", "-replace=" + module + "=" + root},
		{"get", module + "@v0.0.0"},
		{"generate"},
		{"build", "-buildvcs=false", "-tags=" + buildTags, "-ldflags=" + ldflags, "-o", binName, "."},
	}
	for _, args := range steps {
		if err := goRun(ctx, src, args...); err != nil {
			return err
		}
	}
	return nil
}

// coreDNSSource returns the folder of CoreDNS's source in the module cache, downloading it
// through GOPROXY when it is not there yet. It runs in dir, outside any module, so that no
// go.mod or go.sum is touched.
func coreDNSSource(ctx context.Context, dir string) (string, error) {
	cmd := goCommand(ctx, dir, "mod", "download", "-json", "github.com/coredns/coredns@"+coreDNSVersion)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var mod struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &mod); jerr != nil && err == nil {
		err = jerr
	}
	if err != nil || mod.Error != "" || mod.Dir == "" {
		return "", fmt.Errorf("get CoreDNS %s's source from the module cache or GOPROXY: %v %s\n%s%s",
			coreDNSVersion, err, mod.Error, out, stderr.Bytes())
	}
	return mod.Dir, nil
}

// copyTree copies the files of from into to, writable (the module cache's are read-only).
func copyTree(from, to string) error {
	return filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		dst := filepath.Join(to, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(dst, 0o755)
		case !d.Type().IsRegular():
			return fmt.Errorf("%s: not a regular file", path)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return copyFile(path, dst, 0o644|info.Mode().Perm()&0o111)
	})
}

func copyFile(from, to string, perm fs.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// addPluginLine inserts cfgLine into plugin.cfg right after cfgAnchor, as the README says.
func addPluginLine(cfg string) error {
	data, err := os.ReadFile(cfg)
	if err != nil {
		return fmt.Errorf("CoreDNS's plugin.cfg: %w", err)
	}
	lines := strings.Split(string(data), "\n")
	i := slices.Index(lines, cfgAnchor)
	if i < 0 {
		return fmt.Errorf("%s has no line %q, after which plugin/README.md puts %q", cfg, cfgAnchor, cfgLine)
	}
	if slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "peerdns:") }) {
		return fmt.Errorf("%s already names a peerdns plugin", cfg)
	}
	lines = slices.Insert(lines, i+1, cfgLine)
	return os.WriteFile(cfg, []byte(strings.Join(lines, "\n")), 0o644)
}

// goRun runs the go command in dir and returns its output in the error when it fails.
func goRun(ctx context.Context, dir string, args ...string) error {
	out, err := goCommand(ctx, dir, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("go %s (in %s): %w\n%s", strings.Join(args, " "), dir, err, tail(out, 60))
	}
	return nil
}

// goCommand is the go command with the environment of a user's build of CoreDNS: no workspace
// of ours, no extra plugins from COREDNS_PLUGINS (which go generate appends to the chain), and
// cgo off as CoreDNS's Makefile has it.
func goCommand(ctx context.Context, dir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "COREDNS_PLUGINS=")
	})
	cmd.Env = append(env, "GOWORK=off", "CGO_ENABLED=0")
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// tail keeps the last n lines of out.
func tail(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %d lines]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// publish moves the binary and the generated files of the build in src into the cache folder
// named key. Another run that built the same key first wins; its files are equally good.
func publish(src, cache, key string) (built, error) {
	tmp, err := os.MkdirTemp(cache, "publish-")
	if err != nil {
		return built{}, err
	}
	defer os.RemoveAll(tmp)
	moves := map[string]string{
		binName: binName,
		filepath.Join("core", "dnsserver", directivesFile): directivesFile,
		filepath.Join("core", "plugin", importsFile):       importsFile,
	}
	for from, to := range moves {
		if err := os.Rename(filepath.Join(src, from), filepath.Join(tmp, to)); err != nil {
			return built{}, fmt.Errorf("keep the build's %s: %w", from, err)
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return built{}, err
	}
	b := builtIn(filepath.Join(cache, key))
	if err := os.Rename(tmp, b.dir); err != nil && !b.complete() {
		return built{}, fmt.Errorf("keep the build in %s: %w", b.dir, err)
	}
	return b, nil
}

// removeStale deletes the binaries of other keys (builds of earlier states of the tree, about
// 100 MB each) and the leftovers of builds that were killed over an hour ago.
func removeStale(cache, key string) {
	entries, _ := os.ReadDir(cache)
	for _, e := range entries {
		name := e.Name()
		stale := keyPattern.MatchString(name) && name != key
		if strings.HasPrefix(name, "build-") || strings.HasPrefix(name, "publish-") {
			info, err := e.Info()
			stale = err == nil && time.Since(info.ModTime()) > time.Hour
		}
		if stale {
			os.RemoveAll(filepath.Join(cache, name))
		}
	}
}

// cacheKey hashes what the built binary depends on besides CoreDNS's fixed release: the files
// of this module's packages that the plugin is built from, go.mod, go.sum, the version of the
// go command and the build recipe. Reading the files here also tells go test's result cache to rerun the test
// when one of them changes.
func cacheKey(t *testing.T, root string) string {
	t.Helper()
	cmd := goCommand(t.Context(), root, "list", "-deps", "-tags="+buildTags, "-f",
		`{{if .Module}}{{if eq .Module.Path "`+module+`"}}{{.Dir}}{{range .GoFiles}}`+
			"\t{{.}}{{end}}{{range .EmbedFiles}}\t{{.}}{{end}}\n{{end}}{{end}}", "./plugin")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("list the packages the plugin is built from: go list: %v\n%s", err, stderr.Bytes())
	}
	files := []string{filepath.Join(root, "go.mod"), filepath.Join(root, "go.sum")}
	for line := range strings.Lines(string(out)) {
		fields := strings.Split(strings.TrimSpace(line), "\t")
		for _, f := range fields[1:] {
			files = append(files, filepath.Join(fields[0], f))
		}
	}
	if len(files) < 3 {
		t.Fatalf("go list found no source files of %s in %s", pluginPkg, root)
	}
	goVersion, err := goCommand(t.Context(), root, "env", "GOVERSION").Output()
	if err != nil {
		t.Fatalf("go env GOVERSION: %v", err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s", recipe, goVersion)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, f)
		fmt.Fprintf(h, "%s %d\n", filepath.ToSlash(rel), len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil))[:20]
}
