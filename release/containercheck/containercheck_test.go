// Package containercheck lints the repository's container files: the
// Dockerfile (parsed by BuildKit's own parser) and docker-compose.yml
// (loaded and validated by compose-go, the loader docker compose uses).
// It is a module of its own so that these tools' dependencies stay out of
// the gateway's go.mod; `make container-check` runs it.
package containercheck

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// repo is the repository root.
const repo = "../.."

// pinned is an image reference with its digest: the digest is what a
// build uses, the tag only says what it was.
var pinned = regexp.MustCompile(`^[a-z0-9./-]+(:[A-Za-z0-9._-]+)?@sha256:[0-9a-f]{64}$`)

// versions reads versions.env: NAME=value lines, comments and blanks.
func versions(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(repo, "versions.env"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("versions.env: %q is not NAME=value", line)
		}
		out[k] = v
	}
	return out
}

type instruction struct {
	cmd   string // lower case
	args  []string
	flags []string
	line  int
}

func dockerfile(t *testing.T) []instruction {
	t.Helper()
	f, err := os.Open(filepath.Join(repo, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("Dockerfile does not parse: %v", err)
	}
	var out []instruction
	for _, n := range res.AST.Children {
		ins := instruction{cmd: strings.ToLower(n.Value), flags: n.Flags, line: n.StartLine}
		for a := n.Next; a != nil; a = a.Next {
			ins.args = append(ins.args, a.Value)
		}
		out = append(out, ins)
	}
	return out
}

// The rules that matter for this image: every base image pinned by digest
// through an ARG whose default is versions.env's value, the final stage
// running as a non-root user, the OCI labels present, a health check in
// exec form (the runtime image has no shell).
func TestDockerfile(t *testing.T) {
	want := versions(t)
	if len(want) == 0 {
		t.Fatal("versions.env pins nothing")
	}
	for k, v := range want {
		if !pinned.MatchString(v) {
			t.Errorf("versions.env %s=%s is not IMAGE:TAG@sha256:DIGEST", k, v)
		}
	}

	ins := dockerfile(t)
	args := map[string]string{}
	var froms []instruction
	lastFrom := -1
	for i, in := range ins {
		switch in.cmd {
		case "arg":
			for _, a := range in.args {
				if k, v, ok := strings.Cut(a, "="); ok && lastFrom < 0 {
					args[k] = v
				}
			}
		case "from":
			froms = append(froms, in)
			lastFrom = i
		}
	}
	for k, v := range want {
		if args[k] != v {
			t.Errorf("Dockerfile ARG %s defaults to %q; versions.env says %q", k, args[k], v)
		}
	}
	if len(froms) == 0 {
		t.Fatal("no FROM")
	}
	stages := map[string]bool{}
	for _, f := range froms {
		image := f.args[0]
		if m := regexp.MustCompile(`^\$\{?([A-Z_]+)\}?$`).FindStringSubmatch(image); m != nil {
			if _, ok := want[m[1]]; !ok {
				t.Errorf("Dockerfile:%d: FROM %s: the ARG is not pinned in versions.env", f.line, image)
			}
		} else if !stages[image] && !pinned.MatchString(image) {
			t.Errorf("Dockerfile:%d: FROM %s is not pinned by digest", f.line, image)
		}
		if len(f.args) >= 3 && strings.EqualFold(f.args[1], "AS") {
			stages[f.args[2]] = true
		}
	}

	var user string
	labels := map[string]bool{}
	var health instruction
	for _, in := range ins[lastFrom:] {
		switch in.cmd {
		case "user":
			user = in.args[0]
		case "label":
			for i := 0; i+1 < len(in.args); i += 3 { // key, value, "="
				labels[in.args[i]] = true
			}
		case "healthcheck":
			health = in
		}
	}
	uid, _, _ := strings.Cut(user, ":")
	if uid == "" || uid == "0" || uid == "root" {
		t.Errorf("the final stage runs as %q: want a non-root USER", user)
	}
	for _, l := range []string{"org.opencontainers.image.version", "org.opencontainers.image.revision", "org.opencontainers.image.source"} {
		if !labels[l] {
			t.Errorf("the final stage has no LABEL %s (has %v)", l, labels)
		}
	}
	if health.cmd == "" || len(health.args) < 2 || health.args[0] != "CMD" || !strings.HasPrefix(health.args[1], "/") {
		t.Errorf("HEALTHCHECK = %v: want CMD in exec form (the runtime image has no shell)", health.args)
	}
}

// docker-compose.yml loads and validates as docker compose would, with its
// variables at their defaults, and keeps the properties the README states.
func TestCompose(t *testing.T) {
	opts, err := cli.NewProjectOptions([]string{filepath.Join(repo, "docker-compose.yml")},
		cli.WithName("ongoingai"), cli.WithResolvedPaths(false))
	if err != nil {
		t.Fatal(err)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	gw, ok := project.Services["gateway"]
	if !ok {
		t.Fatal("no gateway service")
	}
	if gw.Build == nil || gw.HealthCheck == nil || len(gw.HealthCheck.Test) < 2 || gw.HealthCheck.Test[1] != "/usr/local/bin/ongoingai" {
		t.Errorf("gateway: build %v, health check %v: want built here, checked by ongoingai healthcheck", gw.Build, gw.HealthCheck)
	}
	for _, p := range gw.Ports {
		if p.HostIP != "127.0.0.1" {
			t.Errorf("gateway port %v is published beyond loopback while auth is off by default", p)
		}
	}
	if dep, ok := gw.DependsOn["postgres"]; !ok || dep.Condition != "service_healthy" {
		t.Errorf("gateway depends_on = %v: want postgres healthy first", gw.DependsOn)
	}
}
