package peerbench

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/miekg/dns"
)

// Want is a condition on a reply.
type Want func(r *dns.Msg) bool

// Addrs holds when the reply is NOERROR with exactly these A addresses.
func Addrs(ips ...string) Want {
	slices.Sort(ips)
	return func(r *dns.Msg) bool {
		var got []string
		for _, rr := range r.Answer {
			if a, ok := rr.(*dns.A); ok {
				got = append(got, a.A.String())
			}
		}
		slices.Sort(got)
		return r.Rcode == dns.RcodeSuccess && slices.Equal(got, ips)
	}
}

// NXDomain holds when the reply is NXDOMAIN.
func NXDomain(r *dns.Msg) bool { return r.Rcode == dns.RcodeNameError }

// Poller asks one question again and again over UDP, as fast as Every allows.
type Poller struct {
	Addr    string        // the server
	Every   time.Duration // the pause between two questions
	Timeout time.Duration // how long one question waits for its reply
}

// Await asks name's A record until want holds and returns when that was (the moment the reply
// arrived), or an error when ctx ends first; the last reply is in the error.
func (p Poller) Await(ctx context.Context, name string, want Want) (time.Time, error) {
	c := &dns.Client{Timeout: p.Timeout}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeA)
	var last string
	for {
		r, _, err := c.ExchangeContext(ctx, m, p.Addr)
		at := time.Now()
		switch {
		case err == nil && want(r):
			return at, nil
		case err != nil:
			last = err.Error()
		default:
			last = dns.RcodeToString[r.Rcode] + fmt.Sprint(r.Answer)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("%s: %w (last reply: %s)", name, ctx.Err(), last)
		case <-time.After(p.Every):
		}
	}
}
