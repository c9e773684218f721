package main

import (
	"strconv"
	"strings"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	g := startServe(t, nil)
	// The configured address: the port from the environment, host 0.0.0.0
	// dialled on loopback, as inside the container.
	r := runCLI(t, map[string]string{"ONGOINGAI_PORT": strconv.Itoa(g.port)}, "", "healthcheck")
	r.expect(t, 0)
	if !strings.Contains(r.stdout, `"status":"ok"`) {
		t.Errorf("stdout = %q", r.stdout)
	}
	runCLI(t, nil, "", "healthcheck", "--url", g.base+"/api/health").expect(t, 0)

	r = runCLI(t, nil, "", "healthcheck", "--url", "http://"+closedAddr(t)+"/api/health")
	r.expect(t, 1)
	if !strings.Contains(r.stderr, "ongoingai healthcheck: ") {
		t.Errorf("stderr = %q", r.stderr)
	}
	r = runCLI(t, nil, "", "healthcheck", "--url", g.base+"/api/nope")
	r.expect(t, 1)
	if !strings.Contains(r.stderr, "answered 404") {
		t.Errorf("stderr = %q", r.stderr)
	}
}
