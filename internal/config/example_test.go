package config_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/ongoingai/gateway/internal/config"
)

// Without a config file, Load starts from the built-in defaults and applies
// the environment. Passing the environment as a lookup function keeps the
// process environment out of it; the CLI passes os.LookupEnv.
func ExampleLoad() {
	env := map[string]string{
		"ONGOINGAI_PORT":              "9000",
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
	}
	getenv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	// explicit=false: the default file may be absent.
	cfg, err := config.Load("does-not-exist.yaml", false, getenv)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Server.Addr())
	fmt.Println(cfg.Storage.Driver, cfg.Storage.Path)
	fmt.Println(cfg.Observability.OTel.Enabled, cfg.Observability.OTel.Endpoint)
	// Output:
	// 0.0.0.0:9000
	// sqlite ./data/ongoingai.db
	// true http://collector:4318
}

// A file only needs what differs from the defaults. A built-in provider
// given just an upstream keeps its prefix and format; an extra provider is
// an OpenAI-compatible upstream under its own prefix.
func ExampleLoad_file() {
	dir, err := os.MkdirTemp("", "ongoingai-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "ongoingai.yaml")
	yamlText := `
providers:
  openai:
    upstream: http://localhost:4000
  groq:
    upstream: https://api.groq.com/openai
    prefix: /groq
`
	if err := os.WriteFile(path, []byte(yamlText), 0o600); err != nil {
		fmt.Println(err)
		return
	}

	cfg, err := config.Load(path, true, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range cfg.SortedProviders() {
		fmt.Printf("%-9s %-10s %-7s %s\n", p.Name, p.Prefix, p.Format, p.Upstream)
	}
	// Output:
	// anthropic /anthropic anthropic https://api.anthropic.com
	// groq      /groq      openai  https://api.groq.com/openai
	// openai    /openai    openai  http://localhost:4000
}

// Validate reports every broken rule at once, each naming its field.
func ExampleConfig_Validate() {
	cfg := config.Default()
	cfg.Server.Port = 0
	cfg.Providers["groq"] = config.Provider{Upstream: "api.groq.com", Prefix: "/openai/groq", Format: "openai"}
	cfg.Retention.BodiesDays = 60

	fmt.Println(cfg.Validate())
	// Output:
	// server.port: must be between 1 and 65535
	// providers.groq.upstream: must be an absolute URL with scheme and host
	// providers.groq.prefix: overlaps providers.openai.prefix "/openai"
	// retention.bodies_days: must not exceed retention.traces_days (30)
}

// Masked is the form to print or log: secrets are replaced, their presence
// stays visible.
func ExampleConfig_Masked() {
	cfg := config.Default()
	cfg.Storage.DSN = "postgres://gateway:hunter2@db:5432/gateway"
	cfg.Auth.Keys = []config.StaticKey{{ID: "ci", Token: "sk-live-abc123"}}

	m := cfg.Masked()
	fmt.Println(m.Storage.DSN)
	fmt.Println(m.Auth.Keys[0].ID, m.Auth.Keys[0].Token)
	// Output:
	// postgres://gateway:********@db:5432/gateway
	// ci ********
}
