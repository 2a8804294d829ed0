package testbed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Options tune a cluster. The zero value is a cluster with only an admin.
type Options struct {
	// Users are extra identities the API server accepts, each with a bearer
	// token of its own (Cluster.Token). They belong to no group, so they may
	// do nothing until RBAC grants it.
	Users []string
	// Timeout bounds each start and restart, on top of the caller's context.
	// Zero means one minute.
	Timeout time.Duration
}

// Cluster is one running etcd and kube-apiserver on loopback. Its exported
// fields never change, across Kill and Restart included.
type Cluster struct {
	// Name is the cluster's name, which also names the cluster and the
	// context in its kubeconfigs.
	Name string
	// URL is the API server's address, https://127.0.0.1:PORT.
	URL string
	// Kubeconfig is the path of the admin's kubeconfig file, with the CA and
	// token embedded so that it can be copied or put in a Secret as it is.
	Kubeconfig string
	// CA is the PEM certificate of the authority that signed the API
	// server's certificate; each cluster has its own.
	CA []byte
	// Dir holds the cluster's data, credentials and log; Stop removes it.
	Dir string

	bins    binaries
	ports   ports
	tokens  map[string]string
	timeout time.Duration
	client  kubernetes.Interface
	logPath string

	mu      sync.Mutex
	etcd    *process
	api     *process
	stopped bool
}

type ports struct{ etcdClient, etcdPeer, api int }

// Start starts a cluster and returns when its API server is ready. name
// should be a DNS label; it names the kubeconfig contexts. Stop the cluster
// when done: it is not tied to ctx, which only bounds the start.
func Start(ctx context.Context, name string, opts Options) (*Cluster, error) {
	bins, err := findBinaries()
	if err != nil {
		return nil, err
	}
	c := &Cluster{Name: name, bins: bins, timeout: opts.Timeout}
	if c.timeout == 0 {
		c.timeout = time.Minute
	}
	if err := c.prepare(opts); err != nil {
		c.remove()
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	for attempt := 0; ; attempt++ {
		err = c.Restart(ctx)
		if !errors.Is(err, errPortTaken) || attempt == 2 {
			break
		}
		if err = c.fresh(); err != nil {
			break
		}
	}
	if err != nil {
		err = fmt.Errorf("%w\n%s", err, c.LogTail(40))
		c.remove()
		return nil, err
	}
	return c, nil
}

// prepare makes the cluster's folder, credentials and admin client.
func (c *Cluster) prepare(opts Options) error {
	removeOrphans()
	dir, err := os.MkdirTemp("", dirPrefix+c.Name+"-")
	if err != nil {
		return err
	}
	c.Dir = dir
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		return err
	}
	c.logPath = filepath.Join(dir, "cluster.log")
	if c.CA, c.tokens, err = writeCredentials(dir, c.Name, opts.Users); err != nil {
		return err
	}
	return c.fresh()
}

// fresh gives the cluster an empty etcd data folder and new ports, for its
// first start and for another try when a port was taken.
func (c *Cluster) fresh() error {
	data := filepath.Join(c.Dir, "etcd")
	if err := os.RemoveAll(data); err != nil {
		return err
	}
	if err := os.Mkdir(data, 0o700); err != nil {
		return err
	}
	return c.drawPorts()
}

// drawPorts picks the cluster's ports and everything that names them.
func (c *Cluster) drawPorts() error {
	p, err := freePorts(3)
	if err != nil {
		return err
	}
	c.ports = ports{etcdClient: p[0], etcdPeer: p[1], api: p[2]}
	c.URL = fmt.Sprintf("https://127.0.0.1:%d", c.ports.api)
	c.Kubeconfig = filepath.Join(c.Dir, "kubeconfig")
	if err := clientcmd.WriteToFile(c.kubeconfig(adminUser, c.tokens[adminUser]), c.Kubeconfig); err != nil {
		return err
	}
	c.client, err = kubernetes.NewForConfig(c.Config())
	return err
}

// StartAll starts one cluster per name, side by side. If any fails, it
// stops the others and returns every error.
func StartAll(ctx context.Context, opts Options, names ...string) ([]*Cluster, error) {
	clusters := make([]*Cluster, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() { clusters[i], errs[i] = Start(ctx, name, opts) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		StopAll(clusters...)
		return nil, err
	}
	return clusters, nil
}

// StopAll stops every cluster given; nil entries are skipped.
func StopAll(clusters ...*Cluster) {
	for _, c := range clusters {
		if c != nil {
			c.Stop()
		}
	}
}

// Config is a client configuration for the admin, with client-side rate
// limits raised far enough for tests that create thousands of objects.
func (c *Cluster) Config() *rest.Config {
	return &rest.Config{
		Host:            c.URL,
		BearerToken:     c.tokens[adminUser],
		TLSClientConfig: rest.TLSClientConfig{CAData: c.CA},
		QPS:             1000,
		Burst:           2000,
	}
}

// Client is a clientset for the admin, who may do anything.
func (c *Cluster) Client() kubernetes.Interface { return c.client }

// Token is the bearer token of one of Options.Users, or of "admin"; empty
// for a user the cluster does not know.
func (c *Cluster) Token(user string) string { return c.tokens[user] }

// Kill ends the cluster's processes at once, as a crash would: clients get
// connection refused until Restart. Data, ports and credentials are kept.
func (c *Cluster) Kill() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.killLocked()
	c.logf("killed")
}

func (c *Cluster) killLocked() {
	c.api.kill()
	c.etcd.kill()
	c.api, c.etcd = nil, nil
}

// Stop kills the cluster and removes its folder. It may be called more than
// once; a stopped cluster cannot be restarted.
func (c *Cluster) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return
	}
	c.stopped = true
	c.killLocked()
	c.remove()
}

func (c *Cluster) remove() {
	if c.Dir != "" {
		_ = os.RemoveAll(c.Dir)
	}
}

// LogTail returns the last lines of the cluster's log, which holds the
// output of etcd and kube-apiserver, and a line for each start and kill.
func (c *Cluster) LogTail(lines int) string {
	b, err := os.ReadFile(c.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return fmt.Sprintf("--- last %d lines of %s:\n%s", len(all), c.logPath, strings.Join(all, "\n"))
}

// logf appends a line of the harness's own to the cluster's log.
func (c *Cluster) logf(format string, args ...any) {
	f, err := os.OpenFile(c.logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "--- testbed %s %s: %s\n", time.Now().Format(time.TimeOnly), c.Name, fmt.Sprintf(format, args...))
}
