package stack_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/bbo-dev/bbo/stack"
)

func TestPropsFromContext(t *testing.T) {
	tests := []struct {
		name    string
		ctx     map[string]any
		check   func(p stack.Props) bool
		wantErr string
	}{
		{"empty keeps zero values", map[string]any{}, func(p stack.Props) bool { return p.MaxConcurrentJobs == 0 && p.NotificationEmails == nil }, ""},
		{"cdk.json types", map[string]any{
			stack.CtxMaxJobs: 5.0, stack.CtxJobTimeoutHours: 24.0, stack.CtxNotificationEmails: []any{"a@example.com"},
			stack.CtxDestroyData: true, stack.CtxLogLevel: "DEBUG",
		}, func(p stack.Props) bool {
			return p.MaxConcurrentJobs == 5 && p.JobTimeoutHours == 24 && reflect.DeepEqual(p.NotificationEmails, []string{"a@example.com"}) && p.DestroyData && p.LogLevel == "DEBUG"
		}, ""},
		{"command-line strings", map[string]any{
			stack.CtxMaxJobs: "3", stack.CtxNotificationEmails: "a@example.com, b@example.com", stack.CtxDestroyData: "true",
			stack.CtxBedrockModelIDs: `["amazon.nova-lite-v1:0"]`,
		}, func(p stack.Props) bool {
			return p.MaxConcurrentJobs == 3 && len(p.NotificationEmails) == 2 && p.NotificationEmails[1] == "b@example.com" && p.DestroyData &&
				reflect.DeepEqual(p.BedrockModelIDs, []string{"amazon.nova-lite-v1:0"})
		}, ""},
		{"input prefix gets a slash", map[string]any{stack.CtxInputPrefixes: []any{"uploads"}}, func(p stack.Props) bool {
			return reflect.DeepEqual(p.InputPrefixes, []string{"uploads/"})
		}, ""},
		{"token secret name", map[string]any{stack.CtxHFTokenSecretName: "bbo/hf-token"}, func(p stack.Props) bool {
			return p.HFTokenSecretName == "bbo/hf-token"
		}, ""},
		{"no token secret by default", map[string]any{}, func(p stack.Props) bool { return p.HFTokenSecretName == "" }, ""},
		{"token secret ARN", map[string]any{stack.CtxHFTokenSecretName: "arn:aws:secretsmanager:us-east-1:123456789012:secret:hf-AbCdEf"}, nil, "give the secret's name, not its ARN"},
		{"token secret bad character", map[string]any{stack.CtxHFTokenSecretName: "hf token"}, nil, `hfTokenSecretName "hf token": ' ' is not allowed`},
		{"token secret not a string", map[string]any{stack.CtxHFTokenSecretName: true}, nil, "hfTokenSecretName: true is not a string"},
		{"fractional number", map[string]any{stack.CtxMaxJobs: 2.5}, nil, "maxSubmittedAndInProgressJobs: 2.5 is not a whole number"},
		{"bad string number", map[string]any{stack.CtxJobTimeoutHours: "a day"}, nil, `bedrockBatchInferenceTimeoutHours: "a day" is not a whole number`},
		{"timeout above Bedrock's maximum", map[string]any{stack.CtxJobTimeoutHours: 200.0}, nil, "exceeds Bedrock's maximum of 168 hours"},
		{"list of numbers", map[string]any{stack.CtxNotificationEmails: []any{1.0}}, nil, "element 0 (1) is not a string"},
		{"bad bool", map[string]any{stack.CtxDestroyData: "perhaps"}, nil, `destroyData: "perhaps" is not true or false`},
		{"absolute input prefix", map[string]any{stack.CtxInputPrefixes: []any{"/inputs"}}, nil, "must be a non-empty key prefix"},
		{"several errors together", map[string]any{stack.CtxMaxJobs: "x", stack.CtxLogLevel: 3.0}, nil, "logLevel: 3 is not a string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := stack.PropsFromContext(func(k string) any { return tc.ctx[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(p) {
				t.Errorf("unexpected props %+v", p)
			}
		})
	}
}
