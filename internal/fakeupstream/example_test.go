package fakeupstream_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/ongoingai/gateway/internal/fakeupstream"
)

// A test sets the usage it wants with headers, then checks what the gateway
// made of it against the same numbers.
func Example() {
	fake := fakeupstream.New(fakeupstream.Options{})
	srv := httptest.NewServer(fake)
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/messages",
		strings.NewReader(`{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[]}`))
	req.Header.Set("X-Api-Key", "test")
	req.Header.Set("Anthropic-Version", "2023-06-01")
	req.Header.Set(fakeupstream.HeaderInputTokens, "20")
	req.Header.Set(fakeupstream.HeaderEvents, "3")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()

	fmt.Println(res.StatusCode)
	fmt.Println(string(body))
	fmt.Println(fake.Requests()[0].Path)
	// Output:
	// 200
	// {"id":"msg_fake2","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hello from the"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":20,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"output_tokens":3,"service_tier":"standard"}}
	// /v1/messages
}
