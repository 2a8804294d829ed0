package resolver

import "github.com/miekg/dns"

// Kind is what a lookup found.
type Kind uint8

// The kinds of result. A handler writes the records of every kind but NotAuth (hand the query
// to the next plugin) and may fall through on NameError.
const (
	NotAuth   Kind = iota // outside every zone: not ours to answer
	Success               // NOERROR with records in the answer
	NoData                // NOERROR, no record of that type: SOA in authority
	NameError             // NXDOMAIN: SOA in authority
	NotReady              // no complete map yet: SERVFAIL, never a cacheable negative answer
	Refused               // zone transfer or a class other than IN
)

var kindNames = [...]string{
	NotAuth: "notauth", Success: "success", NoData: "nodata",
	NameError: "nxdomain", NotReady: "notready", Refused: "refused",
}

// String returns the kind's name as metrics label it.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Result is the outcome of one Lookup: a kind plus references into the snapshot that answered.
// It is a small value; copying it is cheap. It is only meaningful with the Resolver that made it.
type Result struct {
	kind   Kind
	name   nameKind
	qtype  uint16
	member int // nameCluster: the cluster's index in svc.members
	snap   *Snapshot
	zone   *zone
	svc    *service
	port   *Port // nameSRV: the port asked for (name and protocol)
	local  bool  // NotAuth: a name under the cluster domain in a local namespace
}

// Kind returns what the lookup found.
func (r Result) Kind() Kind { return r.kind }

// Local reports whether a NotAuth result is for a name under the cluster domain in a namespace
// of the local cluster (Config.RemoteDomain): the local cluster's own DNS answers those names.
func (r Result) Local() bool { return r.local }

// NameError returns a Local result as NXDOMAIN, with the SOA of the remote zone: for a server
// where the local cluster's DNS has already looked the name up and not found it (the
// kubernetes plugin before peerdns in one chain, falling through). Other results are returned
// as they are.
func (r Result) NameError() Result {
	if r.local {
		r.kind, r.local = NameError, false
	}
	return r
}

// Zone returns the zone that matched (fully qualified, lower case), or "" for NotAuth.
func (r Result) Zone() string {
	if r.zone == nil {
		return ""
	}
	return r.zone.name
}

// Rcode returns the response code of the result.
func (r Result) Rcode() int {
	switch r.kind {
	case NameError:
		return dns.RcodeNameError
	case NotReady:
		return dns.RcodeServerFailure
	case Refused:
		return dns.RcodeRefused
	case NotAuth:
		return dns.RcodeNotAuth
	}
	return dns.RcodeSuccess
}

// Authoritative reports whether the reply carries the AA bit.
func (r Result) Authoritative() bool {
	return r.kind == Success || r.kind == NoData || r.kind == NameError
}
