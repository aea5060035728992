package sfnapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/bbo-dev/bbo/internal/awsenv"
)

// recorder records calls and answers with the error set for a token.
type recorder struct {
	mu    sync.Mutex
	calls []string
	errs  map[string]error
}

func (r *recorder) add(call, token string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call)
	return r.errs[token]
}

func (r *recorder) SendTaskSuccess(_ context.Context, token string, output json.RawMessage) error {
	return r.add("success "+token+" "+string(output), token)
}

func (r *recorder) SendTaskFailure(_ context.Context, token, errName, cause string) error {
	return r.add("failure "+token+" "+errName+" "+cause, token)
}

func (r *recorder) SendTaskHeartbeat(_ context.Context, token string) error {
	return r.add("heartbeat "+token, token)
}

func TestSDKRoundTrip(t *testing.T) {
	rec := &recorder{errs: map[string]error{"gone": ErrTaskTimedOut, "nope": ErrTaskDoesNotExist, "bad": ErrInvalidToken, "boom": errors.New("disk full")}}
	hs := httptest.NewServer(NewHandler(rec))
	defer hs.Close()
	cfg := awsenv.Static(hs.URL)
	cfg.RetryMaxAttempts = 1
	c := sfn.NewFromConfig(cfg)
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
		want error
		rec  string
	}{
		{"success", func() error {
			_, err := c.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String("t1"), Output: aws.String(`{"a":1}`)})
			return err
		}, nil, `success t1 {"a":1}`},
		{"failure", func() error {
			_, err := c.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: aws.String("t2"), Error: aws.String("BatchJobFailed"), Cause: aws.String("why")})
			return err
		}, nil, "failure t2 BatchJobFailed why"},
		{"heartbeat", func() error {
			_, err := c.SendTaskHeartbeat(ctx, &sfn.SendTaskHeartbeatInput{TaskToken: aws.String("t3")})
			return err
		}, nil, "heartbeat t3"},
		{"timed out", func() error {
			_, err := c.SendTaskHeartbeat(ctx, &sfn.SendTaskHeartbeatInput{TaskToken: aws.String("gone")})
			return err
		}, &types.TaskTimedOut{}, "heartbeat gone"},
		{"does not exist", func() error {
			_, err := c.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String("nope"), Output: aws.String(`{}`)})
			return err
		}, &types.TaskDoesNotExist{}, "success nope {}"},
		{"invalid token", func() error {
			_, err := c.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: aws.String("bad")})
			return err
		}, &types.InvalidToken{}, "failure bad  "},
		{"invalid output", func() error {
			_, err := c.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String("t4"), Output: aws.String(`{not json`)})
			return err
		}, &types.InvalidOutput{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec.mu.Lock()
			rec.calls = nil
			rec.mu.Unlock()
			err := tc.call()
			switch want := tc.want.(type) {
			case nil:
				if err != nil {
					t.Fatal(err)
				}
			case *types.TaskTimedOut:
				if !errors.As(err, &want) {
					t.Fatalf("error %v, want TaskTimedOut", err)
				}
			case *types.TaskDoesNotExist:
				if !errors.As(err, &want) {
					t.Fatalf("error %v, want TaskDoesNotExist", err)
				}
			case *types.InvalidToken:
				if !errors.As(err, &want) {
					t.Fatalf("error %v, want InvalidToken", err)
				}
			case *types.InvalidOutput:
				if !errors.As(err, &want) {
					t.Fatalf("error %v, want InvalidOutput", err)
				}
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if tc.rec == "" && len(rec.calls) != 0 || tc.rec != "" && (len(rec.calls) != 1 || rec.calls[0] != tc.rec) {
				t.Errorf("calls = %q, want %q", rec.calls, tc.rec)
			}
		})
	}
}

func TestRawErrors(t *testing.T) {
	h := NewHandler(&recorder{errs: map[string]error{"boom": errors.New("disk full")}})
	tests := []struct {
		name, target, body string
		status             int
		code               string
	}{
		{"unknown op", "AWSStepFunctions.StartExecution", `{}`, 400, "UnknownOperationException"},
		{"not json", "AWSStepFunctions.SendTaskHeartbeat", `{`, 400, "SerializationException"},
		{"no token", "AWSStepFunctions.SendTaskHeartbeat", `{}`, 400, "ValidationException"},
		{"no output", "AWSStepFunctions.SendTaskSuccess", `{"taskToken":"x"}`, 400, "ValidationException"},
		{"callback error", "AWSStepFunctions.SendTaskHeartbeat", `{"taskToken":"boom"}`, 500, "InternalFailure"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
			req.Header.Set("X-Amz-Target", tc.target)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tc.status || !bytes.Contains(w.Body.Bytes(), []byte("#"+tc.code)) {
				t.Fatalf("status %d body %s, want %d %s", w.Code, w.Body, tc.status, tc.code)
			}
		})
	}
}

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{`{"taskToken":"t","output":"{}"}`, `{"taskToken":"t","error":"E","cause":"c"}`, `{"taskToken":""}`, `{`, `null`, `{"output":"\u0000"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, op := range []string{"SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"} {
			in, err := parseRequest(op, []byte(body))
			if err != nil {
				var ae *apiError
				if !errors.As(err, &ae) {
					t.Fatalf("%s: error %v is not an API error", op, err)
				}
				continue
			}
			if in.TaskToken == nil || *in.TaskToken == "" {
				t.Fatalf("%s: accepted a request without a token", op)
			}
			if op == "SendTaskSuccess" && (in.Output == nil || !json.Valid([]byte(*in.Output))) {
				t.Fatalf("accepted invalid output")
			}
		}
	})
}
