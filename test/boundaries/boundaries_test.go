// Package boundaries checks the package boundaries of STYLE.md: the resolver stays pure, and the
// sync knows nothing of CoreDNS.
package boundaries

import (
	"go/build"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const module = "github.com/peerdns/peerdns/"

// forbidden lists, per package folder, the import path prefixes its non-test files must not use.
var forbidden = map[string][]string{
	"resolver": {"k8s.io/", "sigs.k8s.io/", "github.com/coredns/", "go.uber.org/zap", "github.com/prometheus/", module},
	"sync":     {"github.com/coredns/", "github.com/prometheus/", module + "plugin"},
}

// allowed are this module's packages each folder may import.
var allowed = map[string][]string{
	"resolver": nil,
	"sync":     {module + "resolver"},
}

func TestPackageBoundaries(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	for dir, bad := range forbidden {
		pkg, err := build.ImportDir(filepath.Join(root, dir), 0)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if len(pkg.Imports) == 0 {
			t.Fatalf("%s: no imports found: is the package there?", dir)
		}
		for _, imp := range pkg.Imports {
			if isAllowed(imp, allowed[dir]) {
				continue
			}
			for _, prefix := range bad {
				if strings.HasPrefix(imp, prefix) {
					t.Errorf("%s imports %s, which STYLE.md keeps out of it", dir, imp)
				}
			}
		}
	}
}

func isAllowed(imp string, list []string) bool {
	for _, a := range list {
		if imp == a {
			return true
		}
	}
	return false
}
