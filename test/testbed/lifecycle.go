package testbed

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// serviceCIDR is the range kube-apiserver takes ClusterIPs from. Nothing
// connects to these addresses: no proxy runs.
const serviceCIDR = "10.96.0.0/16"

// Restart starts the cluster's processes again on the same ports, data,
// certificates and tokens, killing them first if they run, and returns when
// the API server is ready: a peer that went away comes back as it was.
func (c *Cluster) Restart(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return fmt.Errorf("cluster %s: restart after stop", c.Name)
	}
	c.killLocked()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	start := time.Now()
	if err := c.startLocked(ctx); err != nil {
		c.killLocked()
		return fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	c.logf("ready at %s after %v", c.URL, time.Since(start).Round(time.Millisecond))
	return nil
}

func (c *Cluster) startLocked(ctx context.Context) error {
	log, err := os.OpenFile(c.logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	// The children hold their own copies of the descriptor.
	defer log.Close()
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(c.ports.etcdClient)
	c.logf("starting etcd at %s", etcdURL)
	if c.etcd, err = startProcess(c.bins.etcd, c.etcdArgs(etcdURL), log); err != nil {
		return err
	}
	if err := c.waitHealthy(ctx, c.etcd, etcdURL+"/health", nil); err != nil {
		return err
	}
	c.logf("starting kube-apiserver at %s", c.URL)
	if c.api, err = startProcess(c.bins.apiserver, c.apiserverArgs(etcdURL), log); err != nil {
		return err
	}
	return c.waitHealthy(ctx, c.api, c.URL+"/readyz", c.httpClient())
}

func (c *Cluster) etcdArgs(clientURL string) []string {
	peerURL := "http://127.0.0.1:" + strconv.Itoa(c.ports.etcdPeer)
	return []string{
		"--name=" + c.Name,
		"--data-dir=" + filepath.Join(c.Dir, "etcd"),
		"--listen-client-urls=" + clientURL,
		"--advertise-client-urls=" + clientURL,
		"--listen-peer-urls=" + peerURL,
		"--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=" + c.Name + "=" + peerURL,
		"--unsafe-no-fsync",
		"--log-level=warn",
	}
}

func (c *Cluster) apiserverArgs(etcdURL string) []string {
	file := func(name string) string { return filepath.Join(c.Dir, name) }
	return []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(c.ports.api),
		"--tls-cert-file=" + file(servingCert),
		"--tls-private-key-file=" + file(servingKey),
		"--token-auth-file=" + file(tokenFile),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + file(saKeyFile),
		"--service-account-signing-key-file=" + file(saKeyFile),
		"--service-cluster-ip-range=" + serviceCIDR,
		"--disable-admission-plugins=ServiceAccount",
		"--endpoint-reconciler-type=none",
	}
}

// httpClient trusts the cluster's CA and presents the admin token.
func (c *Cluster) httpClient() *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.CA)
	return &http.Client{
		Timeout: 2 * time.Second,
		Transport: &bearer{token: c.tokens[adminUser], next: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool},
		}},
	}
}

type bearer struct {
	token string
	next  http.RoundTripper
}

func (b *bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(req)
}

// waitHealthy polls url until it answers 200, p exits, or ctx ends.
func (c *Cluster) waitHealthy(ctx context.Context, p *process, url string, client *http.Client) error {
	if client == nil {
		client = &http.Client{Timeout: 2 * time.Second}
	}
	defer client.CloseIdleConnections()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	last := errors.New("no answer yet")
	for {
		if code, err := get(ctx, client, url); err != nil {
			last = err
		} else if code == http.StatusOK {
			return nil
		} else {
			last = fmt.Errorf("status %d", code)
		}
		select {
		case <-p.done:
			return exitError(p, c.LogTail(20))
		case <-ctx.Done():
			return fmt.Errorf("%s not healthy: %w (last: %v)", url, ctx.Err(), last)
		case <-tick.C:
		}
	}
}

func get(ctx context.Context, client *http.Client, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}
