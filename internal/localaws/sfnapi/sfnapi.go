// Package sfnapi serves the task-callback part of the Step Functions JSON
// 1.0 API (SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat) over HTTP
// and forwards each call to a Go implementation, so handlers using the real
// SDK client can answer a local state machine interpreter.
package sfnapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Sentinel errors a TaskCallbacks implementation returns; the handler maps
// them to the API errors of the same names.
var (
	// ErrTaskDoesNotExist: no task is waiting on this token.
	ErrTaskDoesNotExist = errors.New("task does not exist")
	// ErrTaskTimedOut: the task timed out or its execution ended.
	ErrTaskTimedOut = errors.New("task timed out")
	// ErrInvalidToken: the token is malformed.
	ErrInvalidToken = errors.New("invalid task token")
)

// TaskCallbacks receives task callbacks (implemented by the local state
// machine interpreter).
type TaskCallbacks interface {
	SendTaskSuccess(ctx context.Context, token string, output json.RawMessage) error
	SendTaskFailure(ctx context.Context, token, errName, cause string) error
	SendTaskHeartbeat(ctx context.Context, token string) error
}

// Limits of the real API.
const (
	maxToken  = 1024
	maxError  = 256
	maxCause  = 32768
	maxOutput = 256 * 1024
	maxBody   = maxOutput + 64*1024
)

const targetPrefix = "AWSStepFunctions."

type handler struct{ cb TaskCallbacks }

// NewHandler returns an http.Handler that forwards task callbacks to cb.
func NewHandler(cb TaskCallbacks) http.Handler { return handler{cb: cb} }

type apiError struct {
	code   string
	msg    string
	status int
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func badRequest(code, format string, args ...any) *apiError {
	return &apiError{code: code, msg: fmt.Sprintf(format, args...), status: http.StatusBadRequest}
}

type request struct {
	TaskToken *string `json:"taskToken"`
	Output    *string `json:"output"`
	Error     *string `json:"error"`
	Cause     *string `json:"cause"`
}

func (h handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h.serve(r); err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	io.WriteString(w, "{}")
}

func (h handler) serve(r *http.Request) error {
	if r.Method != http.MethodPost {
		return badRequest("UnknownOperationException", "Step Functions requests are POST")
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	if !ok || (op != "SendTaskSuccess" && op != "SendTaskFailure" && op != "SendTaskHeartbeat") {
		return badRequest("UnknownOperationException", "X-Amz-Target %q is not implemented by the local Step Functions API (SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat)", r.Header.Get("X-Amz-Target"))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return badRequest("ValidationException", "read request body: %v", err)
	}
	if len(body) > maxBody {
		return badRequest("ValidationException", "request body is larger than %d bytes", maxBody)
	}
	in, err := parseRequest(op, body)
	if err != nil {
		return err
	}
	ctx := r.Context()
	switch op {
	case "SendTaskSuccess":
		err = h.cb.SendTaskSuccess(ctx, *in.TaskToken, json.RawMessage(*in.Output))
	case "SendTaskFailure":
		err = h.cb.SendTaskFailure(ctx, *in.TaskToken, deref(in.Error), deref(in.Cause))
	default:
		err = h.cb.SendTaskHeartbeat(ctx, *in.TaskToken)
	}
	return mapError(err)
}

// parseRequest decodes and validates one callback request the way the API
// does; errors are *apiError.
func parseRequest(op string, body []byte) (request, error) {
	var in request
	if err := json.Unmarshal(body, &in); err != nil {
		return request{}, badRequest("SerializationException", "malformed request body: %v", err)
	}
	if in.TaskToken == nil || *in.TaskToken == "" {
		return request{}, badRequest("ValidationException", "1 validation error detected: Value null at 'taskToken' failed to satisfy constraint: Member must not be null")
	}
	if len(*in.TaskToken) > maxToken {
		return request{}, badRequest("InvalidToken", "task token is longer than %d characters", maxToken)
	}
	switch op {
	case "SendTaskSuccess":
		if in.Output == nil {
			return request{}, badRequest("ValidationException", "1 validation error detected: Value null at 'output' failed to satisfy constraint: Member must not be null")
		}
		if len(*in.Output) > maxOutput {
			return request{}, badRequest("InvalidOutput", "output is %d bytes: the limit is %d", len(*in.Output), maxOutput)
		}
		if !json.Valid([]byte(*in.Output)) {
			return request{}, badRequest("InvalidOutput", "output is not valid JSON")
		}
	case "SendTaskFailure":
		if in.Error != nil && utf8.RuneCountInString(*in.Error) > maxError {
			return request{}, badRequest("ValidationException", "error is longer than %d characters", maxError)
		}
		if in.Cause != nil && utf8.RuneCountInString(*in.Cause) > maxCause {
			return request{}, badRequest("ValidationException", "cause is longer than %d characters", maxCause)
		}
	}
	return in, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func mapError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrTaskDoesNotExist):
		return badRequest("TaskDoesNotExist", "%v", err)
	case errors.Is(err, ErrTaskTimedOut):
		return badRequest("TaskTimedOut", "%v", err)
	case errors.Is(err, ErrInvalidToken):
		return badRequest("InvalidToken", "%v", err)
	}
	return &apiError{code: "InternalFailure", msg: err.Error(), status: http.StatusInternalServerError}
}

func writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{code: "InternalFailure", msg: err.Error(), status: http.StatusInternalServerError}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(ae.status)
	json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.swf.service.model#" + ae.code, "message": ae.msg})
}
