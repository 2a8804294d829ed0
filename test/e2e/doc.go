// Package e2e checks peerdns from the outside, the way an operator meets it: it builds
// cmd/peerdns once, starts the real binary on free loopback ports with Corefiles and static peers
// files written by each test, and asks it questions with the real dig (Debian bind9-dnsutils).
//
// The tests assert the contract of SPEC sections 1 and 2 (names, answers, flags, TTLs, negative
// answers with the zone's SOA, truncation, refusals), reloads of the peers file, and survival of
// garbage on the wire. They also start every Corefile of the READMEs and Corefile.example.
//
// The tests are in _test.go files; the harness (harness.go, server.go, dig.go) is not, so that
// the end-to-end tests of other packages (test/multicluster) drive the same binary the same way,
// through the small exported surface of export.go. Nothing in the product imports this package;
// it has its own test binary so that its build cost stays away from the unit tests of others.
package e2e
