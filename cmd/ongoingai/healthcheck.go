package main

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/ongoingai/gateway/internal/app"
)

// healthcheckCmd is the container's health probe: the image has no shell
// and no HTTP client of its own (distroless), so the binary asks itself.
func healthcheckCmd(c *cli, args []string) int {
	f := newFlags("healthcheck", "ongoingai healthcheck [--config FILE] [--url URL] [--timeout DURATION]",
		"Asks a running gateway's GET /api/health (by default on this machine at the\n"+
			"configured port) and exits 0 when it answers 200, 1 otherwise: for container\n"+
			"health checks (the image has no curl or wget).")
	cf := f.configFlag()
	url := f.String("url", "", "ask `URL` instead of the configured address's /api/health")
	timeout := f.Duration("timeout", 3*time.Second, "give up after `DURATION`")
	if code, done := f.parse(c, args); done {
		return code
	}
	if code, done := f.noArgs(c); done {
		return code
	}
	if *url == "" {
		cfg, ok := c.loadConfig("healthcheck", cf)
		if !ok {
			return exitFail
		}
		*url = app.HealthURL(cfg.Server)
	}
	client := &http.Client{Timeout: *timeout}
	resp, err := client.Get(*url)
	if err != nil {
		fmt.Fprintf(c.stderr, "ongoingai healthcheck: %v\n", err)
		return exitFail
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(c.stderr, "ongoingai healthcheck: %s answered %d: %s\n", *url, resp.StatusCode, body)
		return exitFail
	}
	fmt.Fprintf(c.stdout, "%s\n", body)
	return exitOK
}
