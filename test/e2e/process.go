package e2e

import (
	"bytes"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// Process is a long-running command of the project (peerdnsctl sync-stubs --watch, say) started
// by StartProcess. It is killed when the test ends unless Stop ended it, and its output is
// logged if the test failed.
type Process struct {
	cmd            *exec.Cmd
	done           chan error
	stdout, stderr bytes.Buffer
	exited         bool
}

// StartProcess starts bin with args.
func StartProcess(t *testing.T, bin string, args ...string) *Process {
	t.Helper()
	p := &Process{cmd: exec.Command(bin, args...), done: make(chan error, 1)}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if !p.exited {
			_ = p.cmd.Process.Kill()
			<-p.done
			p.exited = true
		}
		if t.Failed() {
			t.Logf("%s %q:\nstdout:\n%s\nstderr:\n%s", bin, args, p.stdout.String(), p.stderr.String())
		}
	})
	return p
}

// Stop sends SIGTERM and fails the test unless the process exits with status 0 within 15s.
func (p *Process) Stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		p.exited = true
		if err != nil {
			t.Errorf("after SIGTERM: %v, want exit 0", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("did not exit within 15s of SIGTERM")
	}
}
