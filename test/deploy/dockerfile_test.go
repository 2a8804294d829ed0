package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// No container engine runs here, so the image is not built; these tests hold the Dockerfile to
// what it must agree with: go.mod's Go version, cmd/peerdns's version variable, the paths and
// ports of the manifests, and the build context .dockerignore leaves.

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct{ cmd, args string }

func readDockerfile(t *testing.T) []instruction {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur string
	for line := range strings.SplitSeq(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur == "") {
			continue
		}
		cur += " " + strings.TrimSuffix(trimmed, `\`)
		if strings.HasSuffix(trimmed, `\`) {
			continue
		}
		cmd, args, _ := strings.Cut(strings.TrimSpace(cur), " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.Join(strings.Fields(args), " ")})
		cur = ""
	}
	return out
}

// all returns the arguments of every instruction cmd.
func all(ins []instruction, cmd string) []string {
	var args []string
	for _, i := range ins {
		if i.cmd == cmd {
			args = append(args, i.args)
		}
	}
	return args
}

// TestDockerfileGoVersion: the builder's Go is go.mod's (its major.minor).
func TestDockerfileGoVersion(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)(\.\d+)?$`).FindSubmatch(data)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	froms := all(readDockerfile(t), "FROM")
	if len(froms) != 2 {
		t.Fatalf("FROM %q, want a build stage and a final one", froms)
	}
	want := "golang:" + string(m[1]) + "-bookworm AS build"
	if !strings.HasSuffix(froms[0], want) {
		t.Errorf("build stage FROM %s, want the image %s (go.mod: go %s%s)", froms[0], want, m[1], m[2])
	}
	if froms[1] != "gcr.io/distroless/static-debian12:nonroot" {
		t.Errorf("final stage FROM %s, want distroless static nonroot", froms[1])
	}
}

// TestDockerfileBuild: a static, trimmed build of cmd/peerdns and cmd/peerdnsctl with their
// version stamped through main.version, copied to the paths ENTRYPOINT and the sync-stubs
// Deployment run.
func TestDockerfileBuild(t *testing.T) {
	ins := readDockerfile(t)
	build := slices.IndexFunc(ins, func(i instruction) bool { return i.cmd == "RUN" && strings.Contains(i.args, "go build") })
	if build < 0 {
		t.Fatal("no RUN with go build")
	}
	run := ins[build].args
	for _, want := range []string{
		"CGO_ENABLED=0", "-trimpath", `-ldflags "-s -w -X main.version=$VERSION"`, "-o /out/ ./cmd/peerdns ./cmd/peerdnsctl",
	} {
		if !strings.Contains(run, want) {
			t.Errorf("go build %q lacks %q", run, want)
		}
	}
	for _, cmd := range []string{"peerdns", "peerdnsctl"} {
		main, err := os.ReadFile(filepath.Join(root, "cmd", cmd, "main.go"))
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`(?m)^package main$`).Match(main) || !regexp.MustCompile(`(?m)^var version = "`).Match(main) {
			t.Errorf("cmd/%s/main.go has no package-level `var version` in package main for -X main.version", cmd)
		}
	}
	if !slices.Contains(all(ins, "ARG"), "VERSION=v0.1.0-dev") {
		t.Errorf("ARG %q: want VERSION with a default", all(ins, "ARG"))
	}
	if got := all(ins, "COPY"); !slices.Contains(got, "--from=build /out/peerdns /out/peerdnsctl /") {
		t.Errorf("COPY %q: the binaries do not reach /peerdns and /peerdnsctl", got)
	}
	var entry []string
	if err := json.Unmarshal([]byte(one(t, "ENTRYPOINTs", all(ins, "ENTRYPOINT"))), &entry); err != nil || !slices.Equal(entry, []string{"/peerdns"}) {
		t.Errorf("ENTRYPOINT %q (%v), want [\"/peerdns\"]", entry, err)
	}
}

// TestDockerfileMatchesManifests: the image's user, default arguments and ports are the
// Deployment's.
func TestDockerfileMatchesManifests(t *testing.T) {
	ins := readDockerfile(t)
	o := typed(t, readDocuments(t, manifestsFile))
	d := one(t, "Deployments", o.deployments)
	srv := o.server(t)
	sc := d.Spec.Template.Spec.SecurityContext
	if want := itoa(*sc.RunAsUser) + ":" + itoa(*sc.RunAsGroup); one(t, "USERs", all(ins, "USER")) != want {
		t.Errorf("USER %q, the Deployment runs as %s", all(ins, "USER"), want)
	}
	var cmd []string
	if err := json.Unmarshal([]byte(one(t, "CMDs", all(ins, "CMD"))), &cmd); err != nil || !slices.Equal(cmd, srv.Args) {
		t.Errorf("CMD %q (%v), the Deployment's args %q", cmd, err, srv.Args)
	}
	var exposed, ports []string
	for _, e := range strings.Fields(one(t, "EXPOSEs", all(ins, "EXPOSE"))) {
		if !strings.Contains(e, "/") {
			e += "/tcp"
		}
		exposed = append(exposed, e)
	}
	for _, p := range srv.Ports {
		ports = append(ports, itoa(p.ContainerPort)+"/"+strings.ToLower(string(p.Protocol)))
	}
	slices.Sort(exposed)
	slices.Sort(ports)
	if !slices.Equal(exposed, ports) {
		t.Errorf("EXPOSE %q, the container's ports %q", exposed, ports)
	}
}

// TestDockerignoreKeepsSources: .dockerignore leaves in the build context go.mod, go.sum and
// every folder of this module that cmd/peerdns and cmd/peerdnsctl are built from.
func TestDockerignoreKeepsSources(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var ignored []string
	for line := range strings.SplitSeq(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			ignored = append(ignored, strings.Trim(line, "/"))
		}
	}
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if .Module}}{{if .Module.Main}}{{.Dir}}{{end}}{{end}}", "./cmd/peerdns", "./cmd/peerdnsctl")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	needed := []string{"go.mod", "go.sum"}
	for dir := range strings.FieldsSeq(string(out)) {
		rel, err := filepath.Rel(root, dir)
		if err != nil {
			t.Fatal(err)
		}
		needed = append(needed, filepath.ToSlash(rel))
	}
	if len(needed) < 4 {
		t.Fatalf("go list found only %q", needed)
	}
	for _, n := range needed {
		for _, pattern := range ignored {
			top, _, _ := strings.Cut(n, "/")
			if m, _ := filepath.Match(pattern, top); m || pattern == n {
				t.Errorf(".dockerignore %q leaves out %s, which the binaries are built from", pattern, n)
			}
		}
	}
}
