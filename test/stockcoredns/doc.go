// Package stockcoredns checks the promise of plugin/README.md, "Building CoreDNS with peerdns":
// a user who adds the one line
//
//	peerdns:github.com/peerdns/peerdns/plugin
//
// to stock CoreDNS's plugin.cfg, right after kubernetes:kubernetes, and builds it, gets a
// CoreDNS whose -plugins lists peerdns, which has peerdns in its chain right after kubernetes,
// and which answers for the peers.
//
// The test copies CoreDNS's source (the version of coreDNSVersion) out of the Go module cache,
// inserts that line, points the copy's go.mod at this working tree (a replace stands in for
// the published module), runs go get, go generate and go build with the tags and flags of
// CoreDNS's Makefile (but with the go command at hand: the Makefile would switch to the Go
// release named in CoreDNS's .go-version, downloading it), then starts the stock binary with a Corefile serving global from deploy/examples/peers.yaml
// and asks it questions over UDP.
//
// The build is a whole CoreDNS, every upstream plugin and cloud SDK included: with a cold Go
// build cache, about 6 minutes of CPU and 1.4 GB of memory, so about 4.5 minutes on 2 idle cores
// and 13 when other work competes for them; with a warm cache, 10 to 20 seconds after an edit of
// the plugin. The binary is kept in .cache/stockcoredns/ (git-ignored), keyed by a hash of the
// source files the plugin is built from, go.mod and go.sum, so a run with nothing changed takes
// under a second. Because a cold build may not fit go test's default 10-minute timeout, make
// test passes -timeout; run on its own, give it one too:
//
//	go test -timeout 30m ./test/stockcoredns
//
// When the deadline comes near, the build is stopped and the test fails saying so, rather than
// go test's panic. Anything the test needs that is missing (the go command, CoreDNS's source
// from the module proxy, the kubernetes line in plugin.cfg, the example peers file) fails the
// test with the cause; nothing is skipped, except the whole package in -short mode, as the
// other end-to-end packages do.
//
// The test is in _test.go files; nothing imports this package.
package stockcoredns
