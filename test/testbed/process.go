package testbed

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// process is one running binary in its own process group, so that killing
// the group leaves nothing behind.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited
	err  error         // the exit status, set before done is closed
}

// startProcess runs bin with args, appending its output to log. The child
// dies with the test binary's thread that started it (Pdeathsig), so a test
// that panics or times out leaves no server running.
func startProcess(bin string, args []string, log *os.File) (*process, error) {
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = childEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{name: bin, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// childEnv is the test's environment without etcd's configuration
// variables, which etcd would read as flags.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ETCD_") {
			env = append(env, kv)
		}
	}
	return env
}

// exited reports whether the process has ended, and how.
func (p *process) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// kill sends SIGKILL to the process group and waits for the process to be
// reaped, so its ports are free when kill returns.
func (p *process) kill() {
	if p == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
}

// Ports are drawn at random below Linux's ephemeral range (32768 and up), so
// that an outgoing connection can never hold the port a killed cluster needs
// back on Restart. Ports handed out in this process are not handed out again.
const (
	portMin = 20000
	portMax = 32768
)

var (
	portsMu sync.Mutex
	portsIn = map[int]bool{}
)

// freePorts returns n distinct loopback ports that nothing listens on now.
func freePorts(n int) ([]int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	var ports []int
	for tries := 0; len(ports) < n; tries++ {
		if tries > 1000 {
			return nil, errors.New("no free loopback port found")
		}
		port := portMin + rand.IntN(portMax-portMin)
		if portsIn[port] || !canListen(port) {
			continue
		}
		portsIn[port] = true
		ports = append(ports, port)
	}
	return ports, nil
}

func canListen(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

// errPortTaken tells Start to draw new ports: something else bound one of
// them between the check and the server's own bind.
var errPortTaken = errors.New("port taken")

// exitError describes a process that ended while it should be serving.
func exitError(p *process, log string) error {
	_, err := p.exited()
	if strings.Contains(log, "address already in use") {
		return fmt.Errorf("%s exited: %w", p.name, errPortTaken)
	}
	return fmt.Errorf("%s exited (%v)", p.name, err)
}

// A cluster's folder is named dirPrefix+name+random in the temporary folder
// and holds ownerFile, the process id of the test binary that made it.
const (
	dirPrefix = "testbed-"
	ownerFile = "owner.pid"
)

// removeOrphans removes the folders of clusters whose test binary died
// without stopping them (a timeout or a crash): their processes died with
// it, but their data, over 100 MB each, would stay.
func removeOrphans() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(string(b))
		if err == nil && pid > 0 && syscall.Kill(pid, 0) == syscall.ESRCH {
			_ = os.RemoveAll(dir)
		}
	}
}
