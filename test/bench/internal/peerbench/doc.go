// Package peerbench holds what the sync benchmarks (test/bench/propagation, test/bench/scale)
// share: building and running the real peerdns server, asking it questions over UDP with
// miekg/dns, reading its Prometheus metrics and its resident memory, making Services in the
// real API servers of test/testbed in bulk, and writing results into a section of
// BENCHMARKS.md.
//
// Everything here runs on loopback only, and every wait has a deadline.
package peerbench
