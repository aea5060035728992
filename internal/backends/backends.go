// Package backends answers single Bedrock model invocations: a request body
// in a model family's "modelInput" shape goes in, that family's
// "modelOutput" body comes out. The local Bedrock emulator
// (internal/localbedrock) calls a Backend once per batch record; the stub
// backend works offline, the others forward to an OpenAI-compatible server
// or to real on-demand Bedrock.
package backends

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/bbo-dev/bbo/internal/models"
)

// Backend invokes one model on one request body. Implementations are safe
// for concurrent use.
type Backend interface {
	// Invoke sends body (a modelInput object) to modelID and returns the
	// modelOutput object exactly as the model's Bedrock API returns it.
	// Errors should be *Error so callers can tell bad requests (400) from
	// throttling (429) and server faults (500).
	Invoke(ctx context.Context, modelID string, body []byte) ([]byte, error)
}

// Error is a failed invocation with the HTTP-style status code Bedrock
// writes into a batch record's error line.
type Error struct {
	Code    int    // 400 bad request, 429 throttled, 5xx server fault
	Message string // what went wrong, for the record's errorMessage
}

// Error returns the message with its code.
func (e *Error) Error() string {
	return fmt.Sprintf("model invocation failed (%d): %s", e.Code, e.Message)
}

// badRequest returns a 400 *Error.
func badRequest(format string, args ...any) error {
	return &Error{Code: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

// Code returns the status code of err for a batch error line: the code of
// an *Error, 400 for models.ErrInvalidRequest-like request problems, and
// 500 for anything else.
func Code(err error) int {
	var e *Error
	if errors.As(err, &e) && e.Code >= 400 && e.Code <= 599 {
		return e.Code
	}
	return http.StatusInternalServerError
}

// Retryable reports whether trying err's invocation again may succeed:
// throttling and server faults may, bad requests and cancellations never.
func Retryable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	c := Code(err)
	return c == http.StatusTooManyRequests || c >= 500
}

// Family names the request/response shapes of a model id: "claude",
// "nova", "llama" or "titan-embed" (the names internal/models uses). An
// unknown model is a 400 *Error.
func Family(modelID string) (string, error) {
	p, err := models.Lookup(modelID)
	if err != nil {
		return "", &Error{Code: http.StatusBadRequest, Message: err.Error()}
	}
	return p.Family(), nil
}
