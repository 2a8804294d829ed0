package e2e

import (
	"slices"
	"strings"
	"testing"
)

// check is one expectation about a reply.
type check func(t *testing.T, r *reply)

// with returns base followed by more, in a new slice.
func with(base []check, more ...check) []check { return slices.Concat(base, more) }

// expect runs checks against a reply, printing dig's output once if any fails.
func expect(t *testing.T, r *reply, checks ...check) {
	t.Helper()
	for _, c := range checks {
		c(t, r)
	}
	if t.Failed() {
		t.Logf("dig output:\n%s", r.raw)
	}
}

func status(want string) check {
	return func(t *testing.T, r *reply) {
		t.Helper()
		if r.status != want {
			t.Errorf("status %s, want %s", r.status, want)
		}
	}
}

// authoritative: the AA flag is set.
func authoritative(t *testing.T, r *reply) {
	t.Helper()
	if !r.flags["aa"] {
		t.Errorf("AA flag not set")
	}
}

// answerAddrs: the answer holds exactly these addresses (any order).
func answerAddrs(want ...string) check {
	return func(t *testing.T, r *reply) {
		t.Helper()
		slices.Sort(want)
		if got := addrs(r.answer); !slices.Equal(got, want) {
			t.Errorf("answer addresses %v, want %v", got, want)
		}
	}
}

func noAnswer(t *testing.T, r *reply) {
	t.Helper()
	if len(r.answer) != 0 {
		t.Errorf("answer has %d records, want none", len(r.answer))
	}
}

// zoneSOA: the authority section carries the SOA of zone global (a negative answer, RFC 2308).
func zoneSOA(t *testing.T, r *reply) {
	t.Helper()
	s := soa(r.authority)
	if s == nil {
		t.Errorf("no SOA in the authority section")
		return
	}
	if !strings.EqualFold(s.Hdr.Name, "global.") {
		t.Errorf("SOA owner %s, want the zone global.", s.Hdr.Name)
	}
}

// negativeTTL: the SOA of a negative answer says how long to cache it: its minimum is the
// negative TTL and its own TTL no more than that.
func negativeTTL(want uint32) check {
	return func(t *testing.T, r *reply) {
		t.Helper()
		s := soa(r.authority)
		if s == nil {
			t.Errorf("no SOA in the authority section")
			return
		}
		if s.Minttl != want || s.Hdr.Ttl > want {
			t.Errorf("negative SOA minimum %d ttl %d, want minimum %d and ttl <= %d", s.Minttl, s.Hdr.Ttl, want, want)
		}
	}
}

// ttl: every record of the answer has this TTL.
func ttl(want uint32) check {
	return func(t *testing.T, r *reply) {
		t.Helper()
		for _, rr := range r.answer {
			if rr.Header().Ttl != want {
				t.Errorf("TTL %d, want %d: %s", rr.Header().Ttl, want, rr)
			}
		}
	}
}

// owner: every record of the answer is owned by exactly this name, case included.
func owner(want string) check {
	return func(t *testing.T, r *reply) {
		t.Helper()
		if len(r.answer) == 0 {
			t.Errorf("empty answer, want records owned by %s", want)
		}
		for _, rr := range r.answer {
			if rr.Header().Name != want {
				t.Errorf("owner %q, want %q", rr.Header().Name, want)
			}
		}
	}
}

// answerTypes: the answer holds records of exactly these types.
func answerTypes(want ...string) check {
	return func(t *testing.T, r *reply) {
		t.Helper()
		slices.Sort(want)
		if got := types(r.answer); !slices.Equal(got, want) {
			t.Errorf("answer types %v, want %v", got, want)
		}
	}
}

// answerCount: the answer holds n records.
func answerCount(n int) check {
	return func(t *testing.T, r *reply) {
		t.Helper()
		if len(r.answer) != n {
			t.Errorf("%d records in the answer, want %d", len(r.answer), n)
		}
	}
}

// hasFlag: a header flag is set or clear.
func hasFlag(name string, set bool) check {
	return func(t *testing.T, r *reply) {
		t.Helper()
		if r.flags[name] != set {
			t.Errorf("flag %s set=%v, want %v", name, r.flags[name], set)
		}
	}
}
