package resolver

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/miekg/dns"
)

// randomCluster makes cluster c of a small random world: a few namespaces and services, so that
// clusters often share services.
func randomCluster(rng *rand.Rand, c int) Cluster {
	in := Cluster{
		Name: fmt.Sprintf("c%d", c), Source: "static", Priority: rng.IntN(3),
		Locality: Locality{Region: []string{"us-east1", "eu-west1"}[rng.IntN(2)]},
		State:    []State{Live, Live, Stale, Syncing, Revoked}[rng.IntN(5)],
	}
	for range rng.IntN(3) {
		in.Gateway.Addresses = append(in.Gateway.Addresses, netip.AddrFrom4([4]byte{203, 0, 113, byte(rng.IntN(8))}))
	}
	if rng.IntN(3) == 0 {
		in.Gateway.Addresses = append(in.Gateway.Addresses, netip.MustParseAddr("2001:db8::1"))
	}
	in.Gateway.Down = randomDown(rng, in.Gateway.Addresses)
	for range rng.IntN(6) {
		in.Services = append(in.Services, Service{
			Name: fmt.Sprintf("s%d", rng.IntN(6)), Namespace: fmt.Sprintf("n%d", rng.IntN(3)),
			Ports: []Port{{Name: "grpc", Port: uint16(1 + rng.IntN(3)), Protocol: "TCP"}},
		})
	}
	return in
}

// randomDown returns a random subset of addrs, sometimes with an address the gateway lacks, as
// health checks would mark them down.
func randomDown(rng *rand.Rand, addrs []netip.Addr) []netip.Addr {
	var down []netip.Addr
	for _, a := range addrs {
		if rng.IntN(3) == 0 {
			down = append(down, a)
		}
	}
	if rng.IntN(8) == 0 {
		down = append(down, netip.AddrFrom4([4]byte{203, 0, 113, byte(rng.IntN(8))}))
	}
	slices.SortFunc(down, netip.Addr.Compare)
	return slices.Compact(down)
}

// answers renders the answer of every name of the small world, for comparing two snapshots.
func answers(t *testing.T, r *Resolver) []string {
	t.Helper()
	var out []string
	for _, name := range worldNames() {
		for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeSRV, dns.TypeTXT} {
			r.turn.Store(0)
			res := r.Lookup(name, qtype, dns.ClassINET)
			m := new(dns.Msg)
			r.Answer(m, dns.Question{Name: name, Qtype: qtype, Qclass: dns.ClassINET}, res, netip.Addr{})
			m.Ns = nil // the SOA serial is the generation, which differs
			out = append(out, fmt.Sprint(name, qtype, res.Kind(), m.Answer, m.Extra))
		}
	}
	return out
}

func worldNames() []string {
	names := []string{"global."}
	for n := range 3 {
		names = append(names, fmt.Sprintf("n%d.global.", n))
		for s := range 6 {
			svc := fmt.Sprintf("s%d.n%d.global.", s, n)
			names = append(names, svc, "_grpc._tcp."+svc, "_tcp."+svc, "c1."+svc, "c3."+svc)
		}
	}
	return names
}

// Every snapshot built from the previous one answers exactly like one built from nothing.
func TestIncrementalBuildMatchesFullBuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	inc := New(Config{Locality: Locality{Region: "us-east1"}})
	clusters := make([]Cluster, 5)
	for i := range clusters {
		clusters[i] = randomCluster(rng, i)
	}
	for step := range 300 {
		switch i := rng.IntN(len(clusters)); rng.IntN(5) {
		case 0: // a new service list
			clusters[i].Services = randomCluster(rng, i).Services
		case 4: // health checks only
			clusters[i].Gateway.Down = randomDown(rng, clusters[i].Gateway.Addresses)
		case 1: // state, gateway or priority
			svcs := clusters[i].Services
			clusters[i] = randomCluster(rng, i)
			clusters[i].Services = svcs
		case 2: // unchanged
		default: // everything
			clusters[i] = randomCluster(rng, i)
		}
		m := Map{Clusters: slices.Clone(clusters)}
		if _, err := inc.Publish(m); err != nil {
			t.Fatal(err)
		}
		full := New(inc.cfg)
		full.now = inc.now
		if _, err := full.Publish(m); err != nil {
			t.Fatal(err)
		}
		got, want := answers(t, inc), answers(t, full)
		if !slices.Equal(got, want) {
			for j := range got {
				if got[j] != want[j] {
					t.Fatalf("step %d: incremental answers\n%s\nfull build answers\n%s", step, got[j], want[j])
				}
			}
		}
		if a, b := inc.Snapshot().Services(), full.Snapshot().Services(); a != b {
			t.Fatalf("step %d: %d services, full build %d", step, a, b)
		}
		if a, b := inc.Snapshot().FailOpen(), full.Snapshot().FailOpen(); a != b {
			t.Fatalf("step %d: %d services fail open, full build %d", step, a, b)
		}
	}
}
