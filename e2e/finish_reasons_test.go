package e2e

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"

	"github.com/ongoingai/gateway/internal/fakeupstream"
	"github.com/ongoingai/gateway/internal/trace"
)

// storedMetadata is the trace metadata document the gateway writes.
type storedMetadata struct {
	RequestID     string   `json:"request_id"`
	FinishReasons []string `json:"finish_reasons"`
}

// A team wants to know why its calls stopped: a natural end, a token
// limit, a tool call. Each stored trace says so in its metadata, in the
// provider's own words, beside the request id, for plain and streamed
// calls of both dialects; a stream the client abandons never got one.
func TestTracesRecordWhyTheModelStopped(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver)
		ctx := context.Background()

		// An OpenAI chat completion.
		res, err := g.openai("X-Request-Id", "fr-openai").Chat.Completions.New(ctx, chatParams("gpt-4o-mini"))
		if err != nil {
			t.Fatal(err)
		}
		expect(t, "client sees the finish reason", res.Choices[0].FinishReason, "stop")

		// The same, streamed (the gateway also asks for usage, and hides it).
		stream := g.openai("X-Request-Id", "fr-openai-stream", fakeupstream.HeaderEvents, "8").
			Chat.Completions.NewStreaming(ctx, chatParams("gpt-4o-mini"))
		var streamed string
		for stream.Next() {
			if c := stream.Current(); len(c.Choices) > 0 && c.Choices[0].FinishReason != "" {
				streamed = c.Choices[0].FinishReason
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		expect(t, "client sees the streamed finish reason", streamed, "stop")

		// An Anthropic message, streamed.
		astream := g.anthropic("X-Request-Id", "fr-anthropic-stream", fakeupstream.HeaderEvents, "6").
			Messages.NewStreaming(ctx, messageParams("claude-sonnet-4"))
		var stopReason string
		for astream.Next() {
			if ev := astream.Current(); ev.Type == "message_delta" {
				stopReason = string(ev.Delta.StopReason)
			}
		}
		if err := astream.Err(); err != nil {
			t.Fatal(err)
		}
		expect(t, "client sees the stop reason", stopReason, "end_turn")

		// A Responses API stream: the API has no finish reason, so its
		// terminal status stands in.
		rstream := g.openai("X-Request-Id", "fr-responses-stream").Responses.NewStreaming(ctx, responses.ResponseNewParams{
			Model: "gpt-4.1",
			Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")},
		})
		for rstream.Next() {
		}
		if err := rstream.Err(); err != nil {
			t.Fatal(err)
		}

		// A stream the user abandons before the model is done.
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		cstream := g.openai("X-Request-Id", "fr-cancelled", fakeupstream.HeaderEvents, "50", fakeupstream.HeaderHangAfter, "3").
			Chat.Completions.NewStreaming(cctx, chatParams("gpt-4o-mini"))
		for n := 0; n < 3 && cstream.Next(); {
			if c := cstream.Current(); len(c.Choices) > 0 && c.Choices[0].Delta.Content != "" {
				n++
			}
		}
		cancel()
		cstream.Close()

		want := map[string][]string{
			"fr-openai":           {"stop"},
			"fr-openai-stream":    {"stop"},
			"fr-anthropic-stream": {"end_turn"},
			"fr-responses-stream": {"completed"},
			"fr-cancelled":        nil,
		}
		for _, r := range g.traces(len(want)) {
			var md storedMetadata
			if err := json.Unmarshal(r.Metadata, &md); err != nil {
				t.Fatalf("trace %s: metadata %s is not JSON: %v", r.RequestPath, r.Metadata, err)
			}
			reasons, ok := want[md.RequestID]
			if !ok {
				t.Fatalf("trace %s with unexpected metadata %s", r.RequestPath, r.Metadata)
			}
			delete(want, md.RequestID)
			if !slices.Equal(md.FinishReasons, reasons) {
				t.Errorf("%s: metadata.finish_reasons = %q, want %q (metadata %s)", md.RequestID, md.FinishReasons, reasons, r.Metadata)
			}
			if reasons == nil {
				// Nothing said, nothing stored: not even an empty list.
				expect(t, "cancelled stream's outcome", r.Outcome, trace.OutcomeClientCancelled)
				if strings.Contains(string(r.Metadata), "finish_reasons") {
					t.Errorf("%s: metadata %s names finish reasons it never saw", md.RequestID, r.Metadata)
				}
			}
		}
		if len(want) != 0 {
			t.Errorf("no trace for %v", want)
		}
	})
}
