package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// tools are the programs the harness runs and the Debian packages that ship them.
var tools = []struct{ bin, pkg string }{
	{"dnsperf", "dnsperf"},
	{"knotd", "knot"},
	{"taskset", "util-linux"},
}

// ensureTools installs the Debian packages of missing tools: apt-get update first, then one
// install. Installing needs root; without it the error names the command to run.
func ensureTools(ctx context.Context) error {
	var missing []string
	for _, t := range tools {
		if _, err := lookTool(t.bin); err != nil {
			missing = append(missing, t.pkg)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("missing %s and not root: run `sudo apt-get update && sudo apt-get install -y --no-install-recommends %s` first",
			strings.Join(missing, ", "), strings.Join(missing, " "))
	}
	logf("installing %s from Debian", strings.Join(missing, " "))
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	steps := [][]string{
		{"apt-get", "update", "-qq"},
		append([]string{"apt-get", "install", "-y", "-qq", "--no-install-recommends"}, missing...),
	}
	for _, s := range steps {
		cmd := exec.CommandContext(ctx, s[0], s[1:]...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %w\n%s", strings.Join(s, " "), err, out)
		}
	}
	for _, t := range tools {
		if _, err := lookTool(t.bin); err != nil {
			return fmt.Errorf("%s still missing after installing %s", t.bin, t.pkg)
		}
	}
	return nil
}

// lookTool finds a program on PATH or in the sbin folders, where Debian puts knotd.
func lookTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}

// buildServer builds bin/peerdns, the CoreDNS build that serves peerdns, hosts and file.
func buildServer(ctx context.Context, root string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(root, "bin", "peerdns"), "./cmd/peerdns")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/peerdns: %w\n%s", err, out)
	}
	return nil
}

// pinSelf pins every thread of this process to cpu, so that the harness shares the load core
// with dnsperf and never takes time from the server under test.
func pinSelf(cpu int) error {
	return pin(os.Getpid(), cpu)
}

// pin sets the CPU affinity of every thread of pid (taskset -a, which also reaches the worker
// threads a server started before the call) and checks it took.
func pin(pid, cpu int) error {
	out, err := exec.Command("taskset", "-a", "-pc", strconv.Itoa(cpu), strconv.Itoa(pid)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("taskset -a -pc %d %d: %w: %s", cpu, pid, err, out)
	}
	return checkPinned(pid, cpu)
}

// checkPinned reads the allowed CPUs of every thread of pid.
func checkPinned(pid, cpu int) error {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return err
	}
	want := strconv.Itoa(cpu)
	for _, t := range tasks {
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, t.Name()))
		if err != nil {
			continue // the thread ended
		}
		if got := statusField(string(status), "Cpus_allowed_list"); got != want {
			return fmt.Errorf("thread %s of %d may run on CPUs %q, want %s", t.Name(), pid, got, want)
		}
	}
	return nil
}

// loadAverage is the 1-minute load average.
func loadAverage() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return -1
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

func numCPU() int { return runtime.NumCPU() }

// commandVersion returns the first line a program prints for its version flag.
func commandVersion(name string, args ...string) string {
	p, err := lookTool(name)
	if err != nil {
		return "missing"
	}
	out, err := exec.Command(p, args...).CombinedOutput()
	if err != nil && len(out) == 0 {
		return "unknown"
	}
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); strings.Contains(strings.ToLower(l), "version") {
			if !strings.Contains(strings.ToLower(l), strings.TrimSuffix(name, "d")) {
				l = name + " " + strings.TrimPrefix(l, "Version ")
			}
			return l
		}
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

var errNotReady = errors.New("not ready")
