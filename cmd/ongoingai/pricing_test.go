package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ongoingai/gateway/internal/config"
)

// pricing check reads the traces of the window and names what the catalog
// in use cannot price, on both stores.
func TestPricingCheck(t *testing.T) {
	for _, driver := range []string{config.DriverSQLite, config.DriverPostgres} {
		t.Run(driver, func(t *testing.T) {
			env, open := reportEnv(t, driver)
			st := open()
			batch := records(0,
				seedTrace{at: 1, provider: "openai", model: "gpt-4o", status: 200, in: 10, out: 5, nanos: 75},
				seedTrace{at: 2, provider: "openai", model: "acme-coder", status: 200, in: 100, out: 50, unpriced: true},
				seedTrace{at: 3, provider: "openai", model: "acme-coder", status: 200, in: 200, out: 60, unpriced: true},
				seedTrace{at: 4, provider: "anthropic", model: "claude-mystery-1", status: 200, in: 7, out: 3, unpriced: true},
				// Recorded unpriced, priced by today's catalog.
				seedTrace{at: 5, provider: "anthropic", model: "claude-opus-5-5", status: 200, in: 1, out: 1, unpriced: true},
			)
			if err := st.InsertTraces(t.Context(), batch); err != nil {
				t.Fatal(err)
			}
			st.Close()
			window := []string{"--from", day0().Format("2006-01-02"), "--to", day0().AddDate(0, 0, 1).Format("2006-01-02")}

			r := runCLI(t, env, "", append([]string{"pricing", "check", "--json"}, window...)...)
			r.expect(t, 1)
			var got pricingCheck
			if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
				t.Fatalf("%v\n%s", err, r.stdout)
			}
			want := []unpricedModel{
				{Model: "acme-coder", Provider: "openai", Requests: 2, InputTokens: 300, OutputTokens: 110},
				{Model: "claude-mystery-1", Provider: "anthropic", Requests: 1, InputTokens: 7, OutputTokens: 3},
			}
			if got.Traces != 5 || got.NowPriced != 1 || len(got.Unpriced) != 2 || got.Unpriced[0] != want[0] || got.Unpriced[1] != want[1] {
				t.Fatalf("check = %+v", got)
			}

			r = runCLI(t, env, "", append([]string{"pricing", "check"}, window...)...)
			r.expect(t, 1)
			for _, line := range []string{"2 models are not priced (recorded at $0):", "acme-coder", "claude-mystery-1",
				"1 traces were recorded unpriced for models the catalog prices now"} {
				if !strings.Contains(r.stdout, line) {
					t.Errorf("text output lacks %q:\n%s", line, r.stdout)
				}
			}

			// A catalog file pricing both: nothing left to report.
			file := writeFile(t, "prices.json", `{"version": "ops", "unit": "USD per 1M tokens", "models": [`+
				`{"provider": "openai", "model": "acme-coder", "input": "1", "output": "2", "source": "https://example.com", "checked": "2026-12-01"},`+
				`{"provider": "anthropic", "model": "claude-mystery-1", "input": "1", "output": "2", "source": "https://example.com", "checked": "2026-12-01"}]}`)
			cfg := writeFile(t, "c.yaml", "pricing:\n  catalog_file: "+file+"\n")
			r = runCLI(t, env, "", append([]string{"pricing", "check", "--config", cfg}, window...)...)
			r.expect(t, 0)
			if !strings.Contains(r.stdout, "every model is priced") {
				t.Errorf("stdout=%s", r.stdout)
			}
		})
	}
}
