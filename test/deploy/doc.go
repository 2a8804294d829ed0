// Package deploy checks what deploy/ ships against the real things that will read it: the Helm
// chart with Helm's own code (the helm command line built by scripts/helm.sh from the Go module
// proxy: `helm lint --strict`, `helm template`, a real `helm install` and `helm uninstall`), every
// object of the plain manifests and of a render with non-default values with a real
// kube-apiserver (server-side apply, dry run, Pod Security "restricted" admission), the shipped
// Corefiles with the built server (cmd/peerdns) reading peers through the manifests' own
// least-privilege identity, and the Dockerfile for agreement with go.mod and the manifests.
//
// deploy/peerdns.yaml is the chart's default render (`make manifests`); a test fails when it is
// not current. One test-bed cluster (test/testbed) starts once per test binary, in TestMain. The
// tests fail, never skip, when helm, dig or the test bed's binaries are missing.
//
// Apart from this file, everything is in _test.go files: nothing here is part of the product.
package deploy
