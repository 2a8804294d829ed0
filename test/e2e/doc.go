// Package e2e checks peerdns from the outside, the way an operator meets it: it builds
// cmd/peerdns once, starts the real binary on free loopback ports with Corefiles and static peers
// files written by each test, and asks it questions with the real dig (Debian bind9-dnsutils).
//
// The tests assert the contract of SPEC sections 1 and 2 (names, answers, flags, TTLs, negative
// answers with the zone's SOA, truncation, refusals), reloads of the peers file, and survival of
// garbage on the wire. They also start every Corefile of the READMEs and Corefile.example.
//
// Everything is in _test.go files so that nothing here links into the product; this package has
// its own test binary so that its build cost stays away from the unit tests of other packages.
package e2e
