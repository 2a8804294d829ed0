package e2e

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// corefileBlocks returns the fenced code blocks of a Markdown text whose info string starts
// with "corefile" (``` or ~~~ fences, as CoreDNS's plugin READMEs write them).
func corefileBlocks(markdown string) []string {
	var blocks []string
	var fence string // the open fence, "" outside a block
	var keep bool
	var b strings.Builder
	for line := range strings.Lines(markdown) {
		trimmed := strings.TrimSpace(line)
		switch {
		case fence == "" && (strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~")):
			fence = trimmed[:len(trimmed)-len(strings.TrimLeft(trimmed, trimmed[:1]))]
			info := strings.Fields(strings.TrimPrefix(trimmed, fence))
			keep = len(info) > 0 && strings.EqualFold(info[0], "corefile")
			b.Reset()
		case fence != "" && strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, fence[:1]) == "":
			if keep {
				blocks = append(blocks, b.String())
			}
			fence = ""
		case fence != "":
			b.WriteString(line)
		}
	}
	return blocks
}

// example is a Corefile from the docs, rewritten to run under a test.
type example struct {
	text   string   // the Corefile, with "{port}" for the DNS port
	zones  []string // the zones peerdns serves, fully qualified
	static bool     // it has a static source, so it is ready at once
}

// adaptEnv says what to substitute in a documented Corefile.
type adaptEnv struct {
	static     string               // path for "static" ("" keeps the documented one)
	kubeconfig string               // path for "kubeconfig" (a folder without peers)
	local      string               // path for "local_kubeconfig" (an unreachable cluster)
	snapshot   string               // path for "snapshot_file"
	port       func() int           // a free port for health, ready, prometheus, pprof
	ports      map[string]int       // the same documented address gets the same port
	logf       func(string, ...any) // notes on what was changed
}

// adapt rewrites a documented Corefile so that it runs here: every server block listens on the
// test's port on 127.0.0.1 only, the HTTP endpoints move to free loopback ports, file paths point
// at the test's files, and the kubernetes plugin (which needs a cluster) is left out. A bare
// "peerdns { … }" fragment is wrapped in a server block for zone global.
func adapt(block string, env adaptEnv) example {
	lines := strings.Split(strings.TrimSpace(block), "\n")
	if first := significant(lines); len(first) > 0 && (first[0] == "peerdns" || first[len(first)-1] != "{") {
		lines = append(append([]string{"global {"}, lines...), "}")
	}
	var ex example
	var out []string
	var keys []string
	depth, skipTo, peerdnsAt := 0, -1, -1
	for _, line := range lines {
		toks := tokens(line)
		indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
		emit := func(s string) { out = append(out, indent+s) }
		opens, closes := count(toks, "{"), count(toks, "}")
		was := depth
		depth += opens - closes
		switch {
		case skipTo >= 0:
			if depth <= skipTo {
				skipTo = -1
			}
			continue
		case len(toks) == 0:
			continue
		case was == 0 && opens > 0:
			emit(serverKeys(toks, &keys) + " {")
			out = append(out, "    bind 127.0.0.1")
			continue
		case was <= peerdnsAt:
			peerdnsAt = -1
		}
		if peerdnsAt >= 0 {
			emit(ex.option(toks, env))
			continue
		}
		if was != 1 {
			emit(strings.Join(toks, " "))
			continue
		}
		switch d := toks[0]; d {
		case "bind":
			if strings.Join(toks, " ") != "bind 127.0.0.1" {
				env.logf("dropped %q: the test binds 127.0.0.1", strings.TrimSpace(line))
			}
		case "kubernetes":
			env.logf("dropped the kubernetes plugin: no cluster here")
			if opens > closes {
				skipTo = was
			}
		case "health", "ready", "prometheus", "pprof":
			emit(d + " " + env.endpoint(toks) + braceOf(toks))
		case "peerdns":
			for _, z := range toks[1:] {
				if z != "{" {
					ex.zones = append(ex.zones, dns.Fqdn(strings.ToLower(z)))
				}
			}
			if opens > closes {
				peerdnsAt = was
			}
			emit(strings.Join(toks, " "))
		default:
			emit(strings.Join(toks, " "))
		}
	}
	if len(ex.zones) == 0 {
		ex.zones = keys
	}
	ex.text = strings.Join(out, "\n") + "\n"
	return ex
}

// option rewrites one line of the peerdns block.
func (ex *example) option(toks []string, env adaptEnv) string {
	set := func(path string) string {
		if path == "" || len(toks) < 2 {
			return strings.Join(toks, " ")
		}
		return strings.Join(append([]string{toks[0], path}, toks[2:]...), " ")
	}
	switch toks[0] {
	case "static":
		ex.static = true
		return set(env.static)
	case "kubeconfig":
		return set(env.kubeconfig)
	case "local_kubeconfig":
		return set(env.local)
	case "snapshot_file":
		return set(env.snapshot)
	}
	return strings.Join(toks, " ")
}

// endpoint returns the loopback address that stands in for a directive's documented address.
func (env adaptEnv) endpoint(toks []string) string {
	key := strings.Join(toks, " ")
	if _, ok := env.ports[key]; !ok {
		env.ports[key] = env.port()
	}
	return fmt.Sprintf("127.0.0.1:%d", env.ports[key])
}

// serverKeys rewrites server block keys ("global:1053", "dns://.:53", "mesh") to listen on the
// test's port, recording their zones.
func serverKeys(toks []string, zones *[]string) string {
	var keys []string
	for _, k := range toks {
		if k == "{" {
			break
		}
		for k := range strings.SplitSeq(k, ",") {
			if k == "" {
				continue
			}
			scheme, host := "", k
			if i := strings.Index(k, "://"); i >= 0 {
				scheme, host = k[:i+3], k[i+3:]
			}
			if i := strings.LastIndex(host, ":"); i >= 0 {
				host = host[:i]
			}
			*zones = append(*zones, dns.Fqdn(strings.ToLower(host)))
			keys = append(keys, scheme+host+":{port}")
		}
	}
	return strings.Join(keys, " ")
}

// tokens splits a Corefile line into words, dropping a comment.
func tokens(line string) []string {
	if i := strings.Index(line, "#"); i >= 0 {
		line = line[:i]
	}
	return strings.Fields(line)
}

// significant returns the tokens of the first line that has any.
func significant(lines []string) []string {
	for _, l := range lines {
		if toks := tokens(l); len(toks) > 0 {
			return toks
		}
	}
	return nil
}

func count(toks []string, s string) int {
	n := 0
	for _, t := range toks {
		if t == s {
			n++
		}
	}
	return n
}

func braceOf(toks []string) string {
	if slices.Contains(toks, "{") {
		return " {"
	}
	return ""
}

// unreachableKubeconfig is a kubeconfig of a cluster nobody runs: a source pointed at it starts
// and stays syncing.
const unreachableKubeconfig = `apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: none, user: {token: none}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
`

// testEnv returns the substitutions for a test, with its files in dir.
func testEnv(t *testing.T, dir, static string) adaptEnv {
	return adaptEnv{
		static:     static,
		kubeconfig: t.TempDir(),
		local:      writeFile(t, dir, "local.kubeconfig", unreachableKubeconfig),
		snapshot:   filepath.Join(dir, "snapshot.json"),
		port:       func() int { return freePort(t) },
		ports:      map[string]int{},
		logf:       t.Logf,
	}
}
