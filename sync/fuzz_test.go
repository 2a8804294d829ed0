package sync

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadStatic checks that no file content makes LoadStatic panic, and that what it accepts
// is a map the resolver can take.
func FuzzLoadStatic(f *testing.F) {
	demo, err := os.ReadFile(demoFile)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(demo)
	f.Add([]byte("clusters: []\n"))
	f.Add([]byte(hostnameFile))
	f.Add([]byte("clusters:\n- name: a\n  gateway: &g {addresses: [203.0.113.1]}\n- name: b\n  gateway: *g\n"))
	f.Add([]byte("clusters:\n- name: East\n  gateway: {addresses: [300.1.2.3], port: 0}\n  services: [{name: 9, ports: [{port: x}]}]\n"))
	f.Add([]byte("clusters: &a [*a]\n"))
	f.Add([]byte("clusters: [\n"))
	path := filepath.Join(f.TempDir(), "peers.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		clusters, err := LoadStatic(path)
		if err != nil {
			return
		}
		for _, c := range clusters {
			if !isLabel(c.Name) || (len(c.Gateway.Addresses) == 0) == (c.Gateway.Hostname == "") {
				t.Fatalf("accepted an invalid cluster %+v", c)
			}
		}
	})
}
