package plugin

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coredns/caddy"

	peersync "github.com/peerdns/peerdns/sync"
)

func TestParseServiceEntries(t *testing.T) {
	c := caddy.NewTestController("dns", "peerdns global mesh.example.com {\n serviceentries\n}")
	cfg, err := parse(c)
	if err != nil {
		t.Fatalf("serviceentries alone: %v, want it to count as a source", err)
	}
	if !cfg.serviceEntries || !slices.Equal(cfg.zones, []string{"global.", "mesh.example.com."}) {
		t.Errorf("serviceEntries %v zones %v, want true for global. and mesh.example.com.", cfg.serviceEntries, cfg.zones)
	}
	_, err = parse(caddy.NewTestController("dns", "peerdns {\n serviceentries all\n}"))
	if want := "Testfile:2 - Error during parsing: Wrong argument count or unexpected line ending after 'all'"; err == nil || err.Error() != want {
		t.Errorf("serviceentries with an argument: %v, want %s", err, want)
	}
}

// The serviceentries source reads the local cluster: without local_kubeconfig and outside a pod
// there is none, and setup says so; with one, the source is made and contacts nothing yet.
func TestServiceEntriesSource(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	cfg := &config{zones: []string{"global."}, serviceEntries: true}
	_, err := newSources(cfg, nil, metricsReporter{})
	if err == nil || !strings.Contains(err.Error(), "serviceentries reads the local cluster: no local cluster") {
		t.Errorf("without a local cluster: %v, want an error that says serviceentries needs one", err)
	}
	path := filepath.Join(t.TempDir(), "local.yaml")
	kubeconfig := "apiVersion: v1\nkind: Config\nclusters: [{name: local, cluster: {server: \"https://127.0.0.1:1\"}}]\n" +
		"users: [{name: u, user: {token: t}}]\ncontexts: [{name: local, context: {cluster: local, user: u}}]\ncurrent-context: local\n"
	if err := os.WriteFile(path, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.localKubeconfig = path
	sources, err := newSources(cfg, nil, metricsReporter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sources) != 1 || sources[0].Name() != peersync.ServiceEntriesSource {
		t.Errorf("sources %v, want the serviceentries source", sources)
	}
}
