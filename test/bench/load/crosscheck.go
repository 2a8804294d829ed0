package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// checkResult is what each server answers to each kind of query, and where they disagree.
type checkResult struct {
	Kinds    []string            `json:"kinds"`
	Answers  map[string][]string `json:"answers"` // server → one summary per kind
	Warnings []string            `json:"warnings"`
}

// checkKinds are the kinds of question in the mixes, each with one example of a service.
var checkKinds = []struct {
	title string
	line  func(i, services int) string
}{
	{"A (hit)", hitA},
	{"AAAA (NODATA)", nodataAAAA},
	{"search-path junk", searchJunk},
	{"unknown service", unknownService},
	{"SRV", srvQuery},
}

// crossCheck asks every server the same questions about a few services (one served by two
// clusters) and compares the answers: same rcode and the same records, whatever their order.
func crossCheck(servers []*server, services int) checkResult {
	res := checkResult{Answers: map[string][]string{}}
	samples := []int{0, 1, services / 2, services - 1}
	for _, k := range checkKinds {
		res.Kinds = append(res.Kinds, k.title)
		var ref string
		var refServer string
		summaries := map[string]string{}
		for _, i := range samples {
			name, qtype := splitLine(k.line(i, services))
			for _, s := range servers {
				got := describeAnswer(s.port, name, qtype)
				if i == samples[0] {
					summaries[s.kind.name] = got.summary
				}
				if s.kind.noSRV && qtype == dns.TypeSRV {
					continue
				}
				if refServer == "" || s.kind.name == refServer {
					ref, refServer = got.records, s.kind.name
					continue
				}
				if got.records != ref {
					res.Warnings = append(res.Warnings, fmt.Sprintf("%s %s: %s answers %q, %s answers %q",
						name, dns.TypeToString[qtype], refServer, ref, s.kind.name, got.records))
				}
			}
			refServer = ""
		}
		for _, s := range servers {
			res.Answers[s.kind.name] = append(res.Answers[s.kind.name], summaries[s.kind.name])
		}
	}
	return res
}

// splitLine splits a query file line "NAME TYPE".
func splitLine(line string) (string, uint16) {
	name, typ, _ := strings.Cut(line, " ")
	return name, dns.StringToType[typ]
}

type answerDesc struct {
	summary string // for the table: "NOERROR, 1 answer, AA"
	records string // for the comparison: rcode and sorted answer data
}

func describeAnswer(port int, name string, qtype uint16) answerDesc {
	m, err := query(port, name, qtype)
	if err != nil {
		return answerDesc{summary: "no answer", records: "error"}
	}
	rcode := dns.RcodeToString[m.Rcode]
	var data []string
	for _, rr := range m.Answer {
		data = append(data, strings.TrimPrefix(rr.String(), rr.Header().String()))
	}
	slices.Sort(data)
	parts := []string{rcode, fmt.Sprintf("%d answer", len(m.Answer))}
	if len(m.Answer) != 1 {
		parts[1] += "s"
	}
	if soa := hasSOA(m.Ns); soa {
		parts = append(parts, "SOA")
	}
	if len(m.Extra) > 0 {
		parts = append(parts, fmt.Sprintf("%d additional", len(m.Extra)))
	}
	if m.Authoritative {
		parts = append(parts, "AA")
	}
	return answerDesc{summary: strings.Join(parts, ", "), records: rcode + " " + strings.Join(data, "; ")}
}

func hasSOA(rrs []dns.RR) bool {
	for _, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeSOA {
			return true
		}
	}
	return false
}
