package fakeupstream_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	anthropicoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/ongoingai/gateway/internal/fakeupstream"
)

// These tests drive the fake with the official SDKs, unchanged: if an SDK
// can decode it, so can the gateway's clients.

// start runs a fake upstream on a real socket for the test's lifetime.
func start(t *testing.T, opts fakeupstream.Options) (*fakeupstream.Server, *httptest.Server) {
	t.Helper()
	fake := fakeupstream.New(opts)
	hs := httptest.NewServer(fake)
	t.Cleanup(func() {
		fake.Close()
		hs.Close()
	})
	return fake, hs
}

func openAIClient(hs *httptest.Server, headers map[string]string) *openai.Client {
	opts := []option.RequestOption{
		option.WithBaseURL(hs.URL + "/v1/"),
		option.WithAPIKey("sk-test-key"),
		option.WithMaxRetries(0),
		option.WithHTTPClient(hs.Client()),
	}
	for k, v := range headers {
		opts = append(opts, option.WithHeader(k, v))
	}
	client := openai.NewClient(opts...)
	return &client
}

func anthropicClient(hs *httptest.Server, headers map[string]string) *anthropic.Client {
	opts := []anthropicoption.RequestOption{
		anthropicoption.WithBaseURL(hs.URL),
		anthropicoption.WithAPIKey("sk-ant-test"),
		anthropicoption.WithMaxRetries(0),
		anthropicoption.WithHTTPClient(hs.Client()),
	}
	for k, v := range headers {
		opts = append(opts, anthropicoption.WithHeader(k, v))
	}
	client := anthropic.NewClient(opts...)
	return &client
}

// usageHeaders is one set of usage controls every dialect test reuses:
// 4 content events and 3 reasoning tokens make 7 output tokens.
var usageHeaders = map[string]string{
	fakeupstream.HeaderInputTokens:      "42",
	fakeupstream.HeaderCachedTokens:     "10",
	fakeupstream.HeaderCacheWriteTokens: "5",
	fakeupstream.HeaderReasoningTokens:  "3",
	fakeupstream.HeaderEvents:           "4",
}

const wantOutput = 4 + 3

func check[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func chatParams() openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    "gpt-4o",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
	}
}

func TestChatCompletion(t *testing.T) {
	_, hs := start(t, fakeupstream.Options{})
	client := openAIClient(hs, usageHeaders)

	res, err := client.Chat.Completions.New(context.Background(), chatParams())
	if err != nil {
		t.Fatal(err)
	}
	check(t, "model", res.Model, "gpt-4o")
	check(t, "object", string(res.Object), "chat.completion")
	check(t, "choices", len(res.Choices), 1)
	check(t, "content", res.Choices[0].Message.Content, fakeupstream.Text(4))
	check(t, "finish_reason", res.Choices[0].FinishReason, "stop")
	u := res.Usage
	check(t, "prompt_tokens", u.PromptTokens, 42)
	check(t, "completion_tokens", u.CompletionTokens, wantOutput)
	check(t, "total_tokens", u.TotalTokens, 42+wantOutput)
	check(t, "cached_tokens", u.PromptTokensDetails.CachedTokens, 10)
	check(t, "cache_write_tokens", u.PromptTokensDetails.CacheWriteTokens, 5)
	check(t, "reasoning_tokens", u.CompletionTokensDetails.ReasoningTokens, 3)
}

func TestChatCompletionDefaults(t *testing.T) {
	_, hs := start(t, fakeupstream.Options{})
	res, err := openAIClient(hs, nil).Chat.Completions.New(context.Background(), chatParams())
	if err != nil {
		t.Fatal(err)
	}
	check(t, "content", res.Choices[0].Message.Content, fakeupstream.Text(fakeupstream.DefaultStreamEvents))
	check(t, "prompt_tokens", res.Usage.PromptTokens, fakeupstream.DefaultInputTokens)
	check(t, "completion_tokens", res.Usage.CompletionTokens, fakeupstream.DefaultStreamEvents)
}

func TestOptionsSetDefaults(t *testing.T) {
	_, hs := start(t, fakeupstream.Options{InputTokens: 100, StreamEvents: 2, ReasoningTokens: 1, CachedTokens: 50})
	res, err := openAIClient(hs, nil).Chat.Completions.New(context.Background(), chatParams())
	if err != nil {
		t.Fatal(err)
	}
	check(t, "content", res.Choices[0].Message.Content, fakeupstream.Text(2))
	check(t, "prompt_tokens", res.Usage.PromptTokens, 100)
	check(t, "cached_tokens", res.Usage.PromptTokensDetails.CachedTokens, 50)
	check(t, "completion_tokens", res.Usage.CompletionTokens, 3)
}

func TestResponseModel(t *testing.T) {
	_, hs := start(t, fakeupstream.Options{})
	for _, tc := range []struct{ header, want string }{
		{"", "gpt-4o"},
		{"dated", "gpt-4o-2024-08-06"},
		{"gpt-4o-mini-2024-07-18", "gpt-4o-mini-2024-07-18"},
	} {
		headers := map[string]string{}
		if tc.header != "" {
			headers[fakeupstream.HeaderResponseModel] = tc.header
		}
		res, err := openAIClient(hs, headers).Chat.Completions.New(context.Background(), chatParams())
		if err != nil {
			t.Fatal(err)
		}
		check(t, "model for "+strconv.Quote(tc.header), res.Model, tc.want)
	}

	msg, err := anthropicClient(hs, map[string]string{fakeupstream.HeaderResponseModel: "dated"}).
		Messages.New(context.Background(), messageParams())
	if err != nil {
		t.Fatal(err)
	}
	check(t, "anthropic model", string(msg.Model), "claude-sonnet-4-5-20250514")
}

func TestChatStreamWithUsage(t *testing.T) {
	_, hs := start(t, fakeupstream.Options{})
	params := chatParams()
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := openAIClient(hs, usageHeaders).Chat.Completions.NewStreaming(context.Background(), params)
	defer stream.Close()

	var chunks []openai.ChatCompletionChunk
	acc := openai.ChatCompletionAccumulator{}
	for stream.Next() {
		chunk := stream.Current()
		chunks = append(chunks, chunk)
		acc.AddChunk(chunk)
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	// role chunk, 4 content chunks, finish chunk, usage chunk
	if len(chunks) != 7 {
		t.Fatalf("got %d chunks, want 7", len(chunks))
	}
	var text strings.Builder
	for i, c := range chunks[:len(chunks)-1] {
		check(t, "object", string(c.Object), "chat.completion.chunk")
		check(t, "model", c.Model, "gpt-4o")
		check(t, "usage raw of chunk "+strconv.Itoa(i), c.JSON.Usage.Raw(), "null")
		if len(c.Choices) != 1 {
			t.Fatalf("chunk %d has %d choices", i, len(c.Choices))
		}
		text.WriteString(c.Choices[0].Delta.Content)
	}
	check(t, "first delta role", chunks[0].Choices[0].Delta.Role, "assistant")
	check(t, "finish_reason", chunks[5].Choices[0].FinishReason, "stop")
	check(t, "streamed text", text.String(), fakeupstream.Text(4))

	last := chunks[len(chunks)-1]
	check(t, "usage chunk choices", len(last.Choices), 0)
	check(t, "prompt_tokens", last.Usage.PromptTokens, 42)
	check(t, "completion_tokens", last.Usage.CompletionTokens, wantOutput)
	check(t, "total_tokens", last.Usage.TotalTokens, 42+wantOutput)
	check(t, "cached_tokens", last.Usage.PromptTokensDetails.CachedTokens, 10)
	check(t, "reasoning_tokens", last.Usage.CompletionTokensDetails.ReasoningTokens, 3)

	check(t, "accumulated content", acc.Choices[0].Message.Content, fakeupstream.Text(4))
	check(t, "accumulated usage", acc.Usage.TotalTokens, 42+wantOutput)
}

func TestChatStreamWithoutUsage(t *testing.T) {
	_, hs := start(t, fakeupstream.Options{})
	stream := openAIClient(hs, usageHeaders).Chat.Completions.NewStreaming(context.Background(), chatParams())
	defer stream.Close()
	n := 0
	for stream.Next() {
		c := stream.Current()
		n++
		if c.JSON.Usage.Raw() != "" {
			t.Errorf("chunk %d carries usage %s; OpenAI sends none without include_usage", n, c.JSON.Usage.Raw())
		}
		if len(c.Choices) != 1 {
			t.Errorf("chunk %d has %d choices", n, len(c.Choices))
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	check(t, "chunks", n, 6)
}

func TestLegacyCompletion(t *testing.T) {
	_, hs := start(t, fakeupstream.Options{})
	client := openAIClient(hs, usageHeaders)
	params := openai.CompletionNewParams{
		Model:  "gpt-3.5-turbo-instruct",
		Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("Say hello")},
	}

	res, err := client.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	check(t, "text", res.Choices[0].Text, fakeupstream.Text(4))
	check(t, "model", res.Model, "gpt-3.5-turbo-instruct")
	check(t, "prompt_tokens", res.Usage.PromptTokens, 42)
	check(t, "completion_tokens", res.Usage.CompletionTokens, wantOutput)

	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := client.Completions.NewStreaming(context.Background(), params)
	defer stream.Close()
	var text strings.Builder
	var last openai.Completion
	for stream.Next() {
		last = stream.Current()
		for _, ch := range last.Choices {
			text.WriteString(ch.Text)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	check(t, "streamed text", text.String(), fakeupstream.Text(4))
	check(t, "usage chunk choices", len(last.Choices), 0)
	check(t, "streamed completion_tokens", last.Usage.CompletionTokens, wantOutput)
	check(t, "streamed prompt_tokens", last.Usage.PromptTokens, 42)
}

func TestEmbeddings(t *testing.T) {
	_, hs := start(t, fakeupstream.Options{})
	client := openAIClient(hs, map[string]string{fakeupstream.HeaderInputTokens: "9"})
	for _, format := range []openai.EmbeddingNewParamsEncodingFormat{
		openai.EmbeddingNewParamsEncodingFormatFloat,
		openai.EmbeddingNewParamsEncodingFormatBase64,
	} {
		res, err := client.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
			Model:          "text-embedding-3-small",
			Input:          openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a", "b", "c"}},
			Dimensions:     openai.Int(32),
			EncodingFormat: format,
		})
		if err != nil {
			t.Fatal(err)
		}
		check(t, "vectors ("+string(format)+")", len(res.Data), 3)
		for i, d := range res.Data {
			check(t, "index", d.Index, int64(i))
			check(t, "dimensions ("+string(format)+")", len(d.Embedding), 32)
			check(t, "first value ("+string(format)+")", float32(d.Embedding[0]), float32(0.01))
		}
		check(t, "prompt_tokens", res.Usage.PromptTokens, 9)
		check(t, "total_tokens", res.Usage.TotalTokens, 9)
		check(t, "model", res.Model, "text-embedding-3-small")
	}
}

func responseParams() responses.ResponseNewParams {
	return responses.ResponseNewParams{
		Model: "gpt-4.1",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Say hello")},
	}
}

func TestResponses(t *testing.T) {
	_, hs := start(t, fakeupstream.Options{})
	res, err := openAIClient(hs, usageHeaders).Responses.New(context.Background(), responseParams())
	if err != nil {
		t.Fatal(err)
	}
	check(t, "status", string(res.Status), "completed")
	check(t, "model", string(res.Model), "gpt-4.1")
	check(t, "output text", res.OutputText(), fakeupstream.Text(4))
	// Reasoning tokens come with a reasoning item before the message.
	check(t, "output items", len(res.Output), 2)
	check(t, "first item type", res.Output[0].Type, "reasoning")
	check(t, "second item type", res.Output[1].Type, "message")
	u := res.Usage
	check(t, "input_tokens", u.InputTokens, 42)
	check(t, "cached_tokens", u.InputTokensDetails.CachedTokens, 10)
	check(t, "cache_write_tokens", u.InputTokensDetails.CacheWriteTokens, 5)
	check(t, "output_tokens", u.OutputTokens, wantOutput)
	check(t, "reasoning_tokens", u.OutputTokensDetails.ReasoningTokens, 3)
	check(t, "total_tokens", u.TotalTokens, 42+wantOutput)
}

func TestResponsesStream(t *testing.T) {
	_, hs := start(t, fakeupstream.Options{})
	stream := openAIClient(hs, usageHeaders).Responses.NewStreaming(context.Background(), responseParams())
	defer stream.Close()

	var types []string
	var text strings.Builder
	var completed responses.Response
	var seq []int64
	for stream.Next() {
		ev := stream.Current()
		types = append(types, ev.Type)
		seq = append(seq, ev.SequenceNumber)
		switch ev.Type {
		case "response.output_text.delta":
			text.WriteString(ev.AsResponseOutputTextDelta().Delta)
		case "response.output_text.done":
			check(t, "done text", ev.Text, fakeupstream.Text(4))
		case "response.completed":
			completed = ev.AsResponseCompleted().Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"response.created", "response.in_progress",
		"response.output_item.added", "response.output_item.done", // reasoning item
		"response.output_item.added", "response.content_part.added",
		"response.output_text.delta", "response.output_text.delta",
		"response.output_text.delta", "response.output_text.delta",
		"response.output_text.done", "response.content_part.done",
		"response.output_item.done", "response.completed",
	}
	check(t, "event types", strings.Join(types, ","), strings.Join(want, ","))
	for i, n := range seq {
		check(t, "sequence_number", n, int64(i))
	}
	check(t, "streamed text", text.String(), fakeupstream.Text(4))
	check(t, "completed text", completed.OutputText(), fakeupstream.Text(4))
	check(t, "input_tokens", completed.Usage.InputTokens, 42)
	check(t, "cached_tokens", completed.Usage.InputTokensDetails.CachedTokens, 10)
	check(t, "output_tokens", completed.Usage.OutputTokens, wantOutput)
	check(t, "reasoning_tokens", completed.Usage.OutputTokensDetails.ReasoningTokens, 3)
	check(t, "total_tokens", completed.Usage.TotalTokens, 42+wantOutput)
}

func messageParams() anthropic.MessageNewParams {
	return anthropic.MessageNewParams{
		Model:     "claude-sonnet-4-5",
		MaxTokens: 256,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Say hello"))},
	}
}

func TestMessages(t *testing.T) {
	_, hs := start(t, fakeupstream.Options{})
	msg, err := anthropicClient(hs, usageHeaders).Messages.New(context.Background(), messageParams())
	if err != nil {
		t.Fatal(err)
	}
	check(t, "model", string(msg.Model), "claude-sonnet-4-5")
	check(t, "role", string(msg.Role), "assistant")
	check(t, "stop_reason", string(msg.StopReason), "end_turn")
	check(t, "content blocks", len(msg.Content), 1)
	check(t, "text", msg.Content[0].Text, fakeupstream.Text(4))
	u := msg.Usage
	check(t, "input_tokens", u.InputTokens, 42)
	check(t, "cache_read_input_tokens", u.CacheReadInputTokens, 10)
	check(t, "cache_creation_input_tokens", u.CacheCreationInputTokens, 5)
	check(t, "ephemeral_5m_input_tokens", u.CacheCreation.Ephemeral5mInputTokens, 5)
	check(t, "output_tokens", u.OutputTokens, wantOutput)
	check(t, "thinking_tokens", u.OutputTokensDetails.ThinkingTokens, 3)
}

func TestMessagesStream(t *testing.T) {
	_, hs := start(t, fakeupstream.Options{})
	stream := anthropicClient(hs, usageHeaders).Messages.NewStreaming(context.Background(), messageParams())
	defer stream.Close()

	var types []string
	var msg anthropic.Message
	for stream.Next() {
		ev := stream.Current()
		types = append(types, ev.Type)
		if err := msg.Accumulate(ev); err != nil {
			t.Fatal(err)
		}
		switch ev := ev.AsAny().(type) {
		case anthropic.MessageStartEvent:
			check(t, "start input_tokens", ev.Message.Usage.InputTokens, 42)
			check(t, "start cache_read", ev.Message.Usage.CacheReadInputTokens, 10)
			check(t, "start cache_creation", ev.Message.Usage.CacheCreationInputTokens, 5)
			check(t, "start output_tokens", ev.Message.Usage.OutputTokens, 1)
		case anthropic.MessageDeltaEvent:
			check(t, "delta output_tokens", ev.Usage.OutputTokens, wantOutput)
			check(t, "delta stop_reason", string(ev.Delta.StopReason), "end_turn")
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	// The SDK swallows ping, so it is not in the list.
	want := "message_start,content_block_start," +
		strings.Repeat("content_block_delta,", 4) +
		"content_block_stop,message_delta,message_stop"
	check(t, "event types", strings.Join(types, ","), want)
	check(t, "accumulated text", msg.Content[0].Text, fakeupstream.Text(4))
	check(t, "accumulated output_tokens", msg.Usage.OutputTokens, wantOutput)
	check(t, "accumulated input_tokens", msg.Usage.InputTokens, 42)
}

func TestCountTokens(t *testing.T) {
	_, hs := start(t, fakeupstream.Options{})
	res, err := anthropicClient(hs, map[string]string{fakeupstream.HeaderInputTokens: "77"}).
		Messages.CountTokens(context.Background(), anthropic.MessageCountTokensParams{
		Model:    "claude-sonnet-4-5",
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	})
	if err != nil {
		t.Fatal(err)
	}
	check(t, "input_tokens", res.InputTokens, 77)
}

func TestErrorStatusOpenAI(t *testing.T) {
	_, hs := start(t, fakeupstream.Options{})
	for _, status := range []int{400, 401, 404, 429, 500, 503} {
		client := openAIClient(hs, map[string]string{fakeupstream.HeaderStatus: strconv.Itoa(status)})
		_, err := client.Chat.Completions.New(context.Background(), chatParams())
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) {
			t.Fatalf("status %d: got %v, want *openai.Error", status, err)
		}
		check(t, "status", apiErr.StatusCode, status)
		if apiErr.Message == "" || apiErr.Type == "" {
			t.Errorf("status %d: error body not decoded: %s", status, apiErr.RawJSON())
		}
		if status == 429 {
			check(t, "429 code", apiErr.Code, "rate_limit_exceeded")
			check(t, "Retry-After", apiErr.Response.Header.Get("Retry-After"), "7")
		}

		// A stream request fails the same way, before any event.
		stream := client.Chat.Completions.NewStreaming(context.Background(), chatParams())
		for stream.Next() {
			t.Fatal("stream produced an event despite the error status")
		}
		if !errors.As(stream.Err(), &apiErr) || apiErr.StatusCode != status {
			t.Errorf("stream status %d: got %v", status, stream.Err())
		}
	}
}

func TestErrorStatusAnthropic(t *testing.T) {
	_, hs := start(t, fakeupstream.Options{})
	for _, tc := range []struct {
		status int
		typ    string
	}{
		{400, "invalid_request_error"},
		{401, "authentication_error"},
		{403, "permission_error"},
		{404, "not_found_error"},
		{429, "rate_limit_error"},
		{500, "api_error"},
		{529, "overloaded_error"},
	} {
		client := anthropicClient(hs, map[string]string{fakeupstream.HeaderStatus: strconv.Itoa(tc.status)})
		_, err := client.Messages.New(context.Background(), messageParams())
		var apiErr *anthropic.Error
		if !errors.As(err, &apiErr) {
			t.Fatalf("status %d: got %v, want *anthropic.Error", tc.status, err)
		}
		check(t, "status", apiErr.StatusCode, tc.status)
		check(t, "error type", string(apiErr.Type()), tc.typ)
		if apiErr.RequestID == "" {
			t.Errorf("status %d: no request id", tc.status)
		}
		if tc.status == 429 {
			check(t, "Retry-After", apiErr.Response.Header.Get("Retry-After"), "7")
		}
	}
}

func TestAPIKeyOption(t *testing.T) {
	_, hs := start(t, fakeupstream.Options{APIKey: "sk-the-right-one"})
	_, err := openAIClient(hs, nil).Chat.Completions.New(context.Background(), chatParams())
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong key: got %v, want a 401", err)
	}
	check(t, "code", apiErr.Code, "invalid_api_key")
	if strings.Contains(apiErr.Message, "sk-test-key") {
		t.Errorf("401 message echoes the whole key: %s", apiErr.Message)
	}

	client := openai.NewClient(
		option.WithBaseURL(hs.URL+"/v1/"),
		option.WithAPIKey("sk-the-right-one"),
		option.WithMaxRetries(0),
	)
	if _, err := client.Chat.Completions.New(context.Background(), chatParams()); err != nil {
		t.Fatalf("right key: %v", err)
	}
}
