package fakeupstream

import (
	"net/http"
)

// apiError is how one status looks in each dialect. The messages mimic the
// real APIs so gateway code that surfaces them to users is tested with
// realistic text.
type apiError struct {
	openAIType, openAICode, anthropicType, message string
}

var apiErrors = map[int]apiError{
	400: {"invalid_request_error", "", "invalid_request_error", "Invalid request."},
	401: {"invalid_request_error", "invalid_api_key", "authentication_error", "Incorrect API key provided."},
	402: {"insufficient_quota", "insufficient_quota", "billing_error", "You exceeded your current quota, please check your plan and billing details."},
	403: {"invalid_request_error", "unsupported_country_region_territory", "permission_error", "Your API key does not have permission to use the specified resource."},
	404: {"invalid_request_error", "model_not_found", "not_found_error", "The model does not exist or you do not have access to it."},
	408: {"timeout", "", "timeout_error", "Request timed out."},
	409: {"invalid_request_error", "conflict", "invalid_request_error", "Another request is in progress for this resource."},
	413: {"invalid_request_error", "request_too_large", "request_too_large", "Request exceeds the maximum allowed number of bytes."},
	422: {"invalid_request_error", "", "invalid_request_error", "Unprocessable request."},
	429: {"requests", "rate_limit_exceeded", "rate_limit_error", "Rate limit reached for requests. Please try again in 7s."},
	500: {"server_error", "", "api_error", "The server had an error while processing your request. Sorry about that!"},
	502: {"server_error", "", "api_error", "Bad gateway."},
	503: {"server_error", "", "api_error", "The engine is currently overloaded, please try again later."},
	504: {"timeout", "", "timeout_error", "Gateway timeout."},
	529: {"server_error", "", "overloaded_error", "Overloaded"},
}

func lookupError(status int) apiError {
	if e, ok := apiErrors[status]; ok {
		return e
	}
	if status >= 500 {
		return apiError{"server_error", "", "api_error", http.StatusText(status)}
	}
	return apiError{"invalid_request_error", "", "invalid_request_error", http.StatusText(status)}
}

// fail answers status with the dialect's error body. An empty msg uses the
// stock message for the status.
func (c *call) fail(status int, msg string) {
	e := lookupError(status)
	if msg != "" {
		e.message = msg
	}
	c.failWith(status, e)
}

// failWith answers status with the dialect's rendering of e.
func (c *call) failWith(status int, e apiError) {
	msg := e.message
	// Both APIs tell clients when to come back; SDKs honour it.
	if status == http.StatusTooManyRequests {
		c.w.Header().Set("Retry-After", "7")
	}
	b := make([]byte, 0, 128+len(msg))
	if c.dialect == dialectAnthropic {
		// {"type":"error","error":{"type":…,"message":…},"request_id":…}
		b = append(b, `{"type":"error","error":{"type":`...)
		b = appendString(b, e.anthropicType)
		b = append(b, `,"message":`...)
		b = appendString(b, msg)
		b = append(b, `},"request_id":`...)
		b = appendString(b, c.w.Header().Get("Request-Id"))
		b = append(b, '}')
	} else {
		// {"error":{"message":…,"type":…,"param":null,"code":…}}
		b = append(b, `{"error":{"message":`...)
		b = appendString(b, msg)
		b = append(b, `,"type":`...)
		b = appendString(b, e.openAIType)
		b = append(b, `,"param":null,"code":`...)
		if e.openAICode == "" {
			b = append(b, "null"...)
		} else {
			b = appendString(b, e.openAICode)
		}
		b = append(b, "}}"...)
	}
	// Errors ignore X-Fake-Hang-After: they are answered at once.
	o := start(c.w, c.r, status, "application/json", c.ctl.encoding, false, int64(len(b)))
	o.write(b)
	if err := o.finish(); err != nil {
		c.aborted = true
	}
}

// notFound answers an unknown route as the real API does.
func (c *call) notFound() {
	if c.dialect == dialectOpenAI {
		c.failWith(http.StatusNotFound, apiError{
			openAIType: "invalid_request_error",
			message:    "Invalid URL (" + c.r.Method + " " + c.r.URL.Path + ")",
		})
		return
	}
	c.failWith(http.StatusNotFound, apiError{
		openAIType:    "invalid_request_error",
		anthropicType: "not_found_error",
		message:       "Not Found",
	})
}
