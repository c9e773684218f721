package e2e

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"

	"github.com/ongoingai/gateway/internal/app"
	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/fakeupstream"
	"github.com/ongoingai/gateway/internal/pricing"
	"github.com/ongoingai/gateway/internal/testdb"
	"github.com/ongoingai/gateway/internal/trace"
)

// Pricing stories: Claude Code writes most of its prompt cache with the
// 1-hour lifetime, OpenAI flex and Anthropic fast mode change the price of
// the whole request, and each trace says which prices it used.

// expectUSD compares a cost to the nano-dollar, the precision the stores
// keep.
func expectUSD(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Round(got*1e9) != math.Round(want*1e9) {
		t.Errorf("%s = %.9f, want %.9f", what, got, want)
	}
}

func TestAnthropicOneHourCacheWritesArePricedAtTwiceInput(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver)
		client := g.anthropic(fakeupstream.HeaderInputTokens, "100", fakeupstream.HeaderCachedTokens, "1000",
			fakeupstream.HeaderCacheWriteTokens, "3000", fakeupstream.HeaderCacheWrite1hTokens, "2000",
			fakeupstream.HeaderEvents, "10")
		// Claude Code's default model, with its 1M-context variant suffix.
		if _, err := client.Messages.New(context.Background(), messageParams("claude-opus-5-5[1m]")); err != nil {
			t.Fatal(err)
		}
		stream := client.Messages.NewStreaming(context.Background(), messageParams("claude-opus-5-5"))
		for stream.Next() {
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		for _, r := range g.traces(2) {
			expectUsage(t, r, 100+1000+3000, 10, 1000, 3000, 0)
			expect(t, "cache_write_1h_tokens", r.CacheWrite1hTokens, int64(2000))
			expect(t, "priced", r.Priced, true)
			expect(t, "pricing_version", r.PricingVersion, pricing.Default().Version())
			// 100 × $4 + 1000 × $0.20 + 1000 × $5 (5m) + 2000 × $8 (1h) + 10 × $20 per 1M
			expectUSD(t, "estimated_cost_usd", r.EstimatedCostUSD, 0.0218)
		}
	})
}

func TestServiceTiersAndFastModeChangeThePrice(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver)
		flex := g.openai(fakeupstream.HeaderInputTokens, "1000", fakeupstream.HeaderEvents, "10",
			fakeupstream.HeaderServiceTier, "flex")
		stream := flex.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
			Model:    "gpt-5.4",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
		})
		for stream.Next() {
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		r := g.oneTrace()
		// Flex halves (1000 × $2.50 + 10 × $15) per 1M.
		expectUSD(t, "flex cost", r.EstimatedCostUSD, 0.001325)
		var meta map[string]any
		if err := json.Unmarshal(r.Metadata, &meta); err != nil || meta["service_tier"] != "flex" {
			t.Errorf("metadata %s does not record the flex tier (%v)", r.Metadata, err)
		}

		fast := g.anthropic(fakeupstream.HeaderInputTokens, "100", fakeupstream.HeaderEvents, "10",
			fakeupstream.HeaderSpeed, "fast")
		if _, err := fast.Messages.New(context.Background(), messageParams("claude-opus-4-6")); err != nil {
			t.Fatal(err)
		}
		r = g.traces(2)[0]
		// Fast mode on Opus 4.6 is 6×: 100 × $30 + 10 × $150 per 1M.
		expectUSD(t, "fast-mode cost", r.EstimatedCostUSD, 0.0045)
		if err := json.Unmarshal(r.Metadata, &meta); err != nil || meta["speed"] != "fast" {
			t.Errorf("metadata %s does not record fast mode (%v)", r.Metadata, err)
		}
	})
}

// Time to first token waits for generated content; message_start, sent at
// once, only marks the first byte.
func TestTimeToFirstTokenWaitsForContent(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver)
		client := g.anthropic(fakeupstream.HeaderFirstTokenDelay, "300ms", fakeupstream.HeaderEvents, "3")
		stream := client.Messages.NewStreaming(context.Background(), messageParams("claude-sonnet-4-6"))
		for stream.Next() {
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		r := g.oneTrace()
		if r.TimeToFirstTokenMS < 300 {
			t.Errorf("time_to_first_token_ms = %d, want at least the 300 ms before the first text", r.TimeToFirstTokenMS)
		}
		if r.TimeToFirstByteMS >= r.TimeToFirstTokenMS {
			t.Errorf("time_to_first_byte_ms = %d, not before time_to_first_token_ms %d", r.TimeToFirstByteMS, r.TimeToFirstTokenMS)
		}
		if r.TimeToFirstTokenUS/1000 != r.TimeToFirstTokenMS {
			t.Errorf("time_to_first_token_us %d disagrees with _ms %d", r.TimeToFirstTokenUS, r.TimeToFirstTokenMS)
		}
	})
}

// A Responses API stream whose response.completed repeats a 1 MiB output,
// four times the framer's cap: the usage at its end is read as the event
// streams past, so the trace is exact, not estimated.
func TestResponsesStreamWithAOneMebibyteCompletedEventKeepsItsUsage(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver)
		client := g.openai(fakeupstream.HeaderContentBytes, "1MiB", fakeupstream.HeaderEvents, "16",
			fakeupstream.HeaderInputTokens, "42", fakeupstream.HeaderCachedTokens, "2")
		stream := client.Responses.NewStreaming(context.Background(), responses.ResponseNewParams{
			Model: "gpt-5.4",
			Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("write a lot")},
		})
		var completed int
		for stream.Next() {
			if ev := stream.Current(); ev.Type == "response.completed" {
				completed = len(ev.RawJSON())
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if completed < 1<<20 {
			t.Fatalf("response.completed is %d bytes, want at least 1 MiB", completed)
		}
		r := g.oneTrace()
		expect(t, "outcome", r.Outcome, trace.OutcomeOK)
		expect(t, "tokens_estimated", r.TokensEstimated, false)
		expectUsage(t, r, 42, 16, 2, 0, 0)
		var meta struct {
			FinishReasons []string `json:"finish_reasons"`
		}
		if err := json.Unmarshal(r.Metadata, &meta); err != nil || len(meta.FinishReasons) != 1 || meta.FinishReasons[0] != "completed" {
			t.Errorf("metadata %s: want the finish reason read from the big event (%v)", r.Metadata, err)
		}
		// 40 × $2.50 + 2 × $0.25 + 16 × $15 per 1M
		expectUSD(t, "estimated_cost_usd", r.EstimatedCostUSD, 0.0003405)
	})
}

// An operator prices a model the catalog does not know with
// pricing.catalog_file, and changes the price without a restart: the file is
// read again on reload (SIGHUP), an invalid file leaves the prices in use.
func TestCatalogFilePricesNewModelsAndReloads(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		path := filepath.Join(t.TempDir(), "prices.json")
		write := func(input string) {
			t.Helper()
			doc := `{"version": "ops-` + input + `", "unit": "USD per 1M tokens", "models": [` +
				`{"provider": "openai", "model": "acme-coder", "input": "` + input + `", "output": "4.00",` +
				` "source": "https://example.com/acme", "checked": "2026-12-01"}]}`
			if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		write("1.00")
		g := startGateway(t, driver, func(c *config.Config) { c.Pricing.CatalogFile = path })
		call := func() trace.Record {
			t.Helper()
			n := len(g.fake.Requests())
			client := g.openai(fakeupstream.HeaderInputTokens, "1000", fakeupstream.HeaderEvents, "10")
			if _, err := client.Chat.Completions.New(context.Background(), chatParams("acme-coder")); err != nil {
				t.Fatal(err)
			}
			return g.traces(n + 1)[0]
		}
		r := call()
		expect(t, "priced from the file", r.Priced, true)
		expect(t, "pricing_version", r.PricingVersion, pricing.Default().Version()+"+file.ops-1.00")
		expectUSD(t, "cost at 1.00/4.00", r.EstimatedCostUSD, 0.00104) // 1000 × $1 + 10 × $4 per 1M

		write("2.00")
		if err := g.app.ReloadPrices(); err != nil {
			t.Fatal(err)
		}
		r = call()
		expect(t, "pricing_version after reload", r.PricingVersion, pricing.Default().Version()+"+file.ops-2.00")
		expectUSD(t, "cost at 2.00/4.00", r.EstimatedCostUSD, 0.00204)

		write("two")
		if err := g.app.ReloadPrices(); err == nil || !strings.Contains(err.Error(), `model "acme-coder": input: "two"`) {
			t.Fatalf("reload of an invalid file: %v", err)
		}
		r = call()
		expectUSD(t, "previous prices kept", r.EstimatedCostUSD, 0.00204)
	})
}

// A gateway whose catalog file is invalid does not start, and says which
// entry is wrong.
func TestInvalidCatalogFileStopsStartup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prices.json")
	os.WriteFile(path, []byte(`{"version": "x", "unit": "USD per 1M tokens", "models": [{"provider": "openai", "model": "m", "input": "1", "output": "1", "source": "https://example.com", "checked": "yesterday"}]}`), 0o600)
	cfg := config.Default()
	cfg.Storage.Path = testdb.SQLitePath(t)
	cfg.Pricing.CatalogFile = path
	_, err := app.New(context.Background(), cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "pricing.catalog_file "+path) || !strings.Contains(err.Error(), `model "m": checked "yesterday"`) {
		t.Fatalf("app.New error = %v", err)
	}
}
