package resolver

import (
	"net/netip"
	"time"
)

// Map is everything a snapshot is built from: the union of what the sources say.
type Map struct {
	Clusters []Cluster
	// LocalNamespaces are the namespaces of the local cluster. With Config.RemoteDomain set,
	// names in them are never answered under the cluster domain: they are the local DNS's.
	LocalNamespaces []string
}

// Cluster is one peer cluster (or group of VMs) as the sources describe it: plain values, no API
// objects. Sources build Clusters; Build turns a set of them into a Snapshot.
type Cluster struct {
	Name     string    // DNS label, unique across all sources
	Source   string    // where it came from: "static", "kubeconfig", "remote_secret", ...
	State    State     // only Live and Stale clusters are served
	Updated  time.Time // when its source last confirmed this data; TXT shows the age
	Gateway  Gateway   // where traffic for its services enters
	Locality Locality  // for ordering
	Priority int       // lower first, after locality
	Services []Service // what it exports
}

// Gateway is the entry point of a cluster.
type Gateway struct {
	Addresses []netip.Addr // resolved addresses; a cluster without any serves nothing
	Hostname  string       // the name the addresses were resolved from, if any (shown in TXT)
	Port      uint16       // a fixed port for every service (Istio's 15443); 0: the service's port
	// Down lists the addresses failing health checks, sorted; nil: all healthy. Answers leave
	// them out, except that a name whose addresses of one family are all down is answered
	// with all of them (fail open): a health check never empties an answer.
	Down []netip.Addr
}

// Locality says where a cluster (or the server) runs.
type Locality struct {
	Region string
	Zone   string
}

// Service is one exported service.
type Service struct {
	Name      string
	Namespace string
	Ports     []Port
}

// Port is one port of a service, for SRV answers.
type Port struct {
	Name     string // SRV label without the underscore; unnamed ports get no SRV record
	Port     uint16
	Protocol string // TCP, UDP or SCTP
}

// State is a cluster's sync state (SPEC section 3).
type State uint8

// The states of a cluster. The zero value is Live so that static clusters need not say it.
const (
	Live    State = iota // listed and current
	Stale                // its source is unreachable; the last known services are served
	Syncing              // not listed yet; nothing served
	Revoked              // stale for longer than the grace period; nothing served
)

var stateNames = [...]string{Live: "live", Stale: "stale", Syncing: "syncing", Revoked: "revoked"}

// String returns the state's lower-case name, as TXT answers and metrics show it.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// Serving reports whether clusters in state s appear in answers.
func (s State) Serving() bool { return s == Live || s == Stale }
