package hfdataset

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/bbo-dev/bbo/internal/awsenv"
)

const (
	arnPrefix = "arn:aws:secretsmanager:us-east-1:123456789012:secret:"
	// leak is part of every stored secret value: no error may contain it.
	leak = "hf_LEAKCANARY"
)

// secretsServer fakes Secrets Manager's GetSecretValue over its JSON 1.1
// protocol. A secret mapped to nil is a binary secret; "denied" answers
// AccessDeniedException; unknown ids ResourceNotFoundException. The
// returned counter counts GetSecretValue calls.
func secretsServer(t *testing.T, secrets map[string]*string) (*secretsmanager.Client, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	fail := func(w http.ResponseWriter, typ, msg string) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("X-Amz-Target"); got != "secretsmanager.GetSecretValue" {
			fail(w, "UnknownOperationException", "unexpected X-Amz-Target "+got)
			return
		}
		calls.Add(1)
		var in struct{ SecretId, VersionId, VersionStage string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			fail(w, "InvalidRequestException", err.Error())
			return
		}
		if in.SecretId == arnPrefix+"denied" {
			fail(w, "AccessDeniedException", "not authorized to perform secretsmanager:GetSecretValue")
			return
		}
		v, ok := secrets[in.SecretId]
		if !ok {
			fail(w, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
			return
		}
		out := map[string]any{"ARN": in.SecretId, "Name": strings.TrimPrefix(in.SecretId, arnPrefix), "VersionId": "v1", "VersionStages": []string{"AWSCURRENT"}}
		if v == nil {
			out["SecretBinary"] = "AAEC" // base64 of 0x00 0x01 0x02
		} else {
			out["SecretString"] = *v
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("test server at %s, want loopback", srv.URL)
	}
	return secretsmanager.NewFromConfig(awsenv.Static(srv.URL)), &calls
}

func ptr(s string) *string { return &s }

func TestTokenFromSecret(t *testing.T) {
	secrets := map[string]*string{
		arnPrefix + "plain":         ptr(leak + "abc"),
		arnPrefix + "plain-newline": ptr(leak + "abc\n"),
		arnPrefix + "json-hf":       ptr(`{"HF_TOKEN":"` + leak + `hf"}`),
		arnPrefix + "json-token":    ptr(`{"token":"` + leak + `tok","user":"me"}`),
		arnPrefix + "json-both":     ptr(`{"token":"` + leak + `tok","HF_TOKEN":"` + leak + `hf"}`),
		arnPrefix + "json-fallback": ptr(`{"HF_TOKEN":"","token":"` + leak + `tok"}`),
		arnPrefix + "json-other":    ptr(`{"password":"` + leak + `"}`),
		arnPrefix + "json-number":   ptr(`{"HF_TOKEN":12345}`),
		arnPrefix + "json-empty":    ptr(`{"HF_TOKEN":" "}`),
		arnPrefix + "json-broken":   ptr(`{"HF_TOKEN":"` + leak),
		arnPrefix + "spaces":        ptr(leak + " and more"),
		arnPrefix + "quoted":        ptr(`"` + leak + `"`),
		arnPrefix + "empty":         ptr("  "),
		arnPrefix + "binary":        nil,
	}
	client, _ := secretsServer(t, secrets)
	tests := []struct {
		name    string
		secret  string
		want    string
		wantErr []string // substrings of the error
	}{
		{"plain string", "plain", leak + "abc", nil},
		{"plain string with trailing newline", "plain-newline", leak + "abc", nil},
		{"JSON HF_TOKEN", "json-hf", leak + "hf", nil},
		{"JSON token", "json-token", leak + "tok", nil},
		{"JSON HF_TOKEN wins over token", "json-both", leak + "hf", nil},
		{"JSON empty HF_TOKEN falls back to token", "json-fallback", leak + "tok", nil},
		{"JSON without the keys", "json-other", "", []string{"json-other", `neither "HF_TOKEN" nor "token"`, `{"HF_TOKEN":"hf_..."}`}},
		{"JSON number", "json-number", "", []string{`"HF_TOKEN" is a number, not a string`}},
		{"JSON blank value", "json-empty", "", []string{"value is empty"}},
		{"broken JSON", "json-broken", "", []string{"starts with { but is not a JSON object"}},
		{"spaces inside", "spaces", "", []string{"character at byte 13", "letters, digits"}},
		{"quoted string", "quoted", "", []string{"character at byte 0"}},
		{"empty", "empty", "", []string{"secret string is empty"}},
		{"binary secret", "binary", "", []string{"no secret string", "plain secret string"}},
		{"missing secret", "nope", "", []string{arnPrefix + "nope", "ResourceNotFoundException", "secretsmanager:GetSecretValue"}},
		{"access denied", "denied", "", []string{"AccessDeniedException", "Lambda role"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := TokenFromSecret(context.Background(), client, arnPrefix+tc.secret)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if got != tc.want {
					t.Errorf("token = %q, want %q", got, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("token %q, want an error", got)
			}
			msg := err.Error()
			for _, w := range append(tc.wantErr, arnPrefix+tc.secret) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if strings.Contains(msg, leak) {
				t.Errorf("error reveals the secret: %q", msg)
			}
		})
	}
	t.Run("no ARN", func(t *testing.T) {
		if _, err := TokenFromSecret(context.Background(), client, ""); err == nil || !strings.Contains(err.Error(), EnvTokenSecretARN) {
			t.Errorf("err = %v, want one naming %s", err, EnvTokenSecretARN)
		}
	})
}

func TestWithSecretToken(t *testing.T) {
	client, calls := secretsServer(t, map[string]*string{arnPrefix + "hf": ptr("hf_fromsecret")})
	tests := []struct {
		name      string
		env       map[string]string
		wantToken string
		wantCalls int32
		wantErr   bool
	}{
		{"no secret configured", map[string]string{"HF_ENDPOINT": "http://hub"}, "", 0, false},
		{"token from the secret", map[string]string{EnvTokenSecretARN: arnPrefix + "hf"}, "hf_fromsecret", 1, false},
		{"HF_TOKEN wins without a call", map[string]string{EnvTokenSecretARN: arnPrefix + "hf", EnvToken: "hf_env"}, "hf_env", 0, false},
		{"unreadable secret fails start", map[string]string{EnvTokenSecretARN: arnPrefix + "missing"}, "", 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls.Store(0)
			getenv, err := WithSecretToken(context.Background(), client, func(k string) string { return tc.env[k] })
			if tc.wantErr {
				if err == nil {
					t.Fatal("want an error")
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				for range 3 { // the secret is read once, not per lookup
					if got := getenv(EnvToken); got != tc.wantToken {
						t.Errorf("HF_TOKEN = %q, want %q", got, tc.wantToken)
					}
				}
				if got := FromEnv(getenv).token; got != tc.wantToken {
					t.Errorf("FromEnv token = %q, want %q", got, tc.wantToken)
				}
				if got, want := getenv(EnvTokenSecretARN), tc.env[EnvTokenSecretARN]; got != want {
					t.Errorf("other variables changed: %q, want %q", got, want)
				}
			}
			if got := calls.Load(); got != tc.wantCalls {
				t.Errorf("%d GetSecretValue calls, want %d", got, tc.wantCalls)
			}
		})
	}
}

func FuzzParseToken(f *testing.F) {
	for _, s := range []string{"hf_abc", " hf_abc\n", `{"HF_TOKEN":"hf_x"}`, `{"token":"a=="}`, `{"HF_TOKEN":1}`, `{`, `""`, "a b", "==", `{"HF_TOKEN":"","token":""}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := parseToken(s)
		if err != nil {
			if tok != "" {
				t.Fatalf("token %q returned with error %v", tok, err)
			}
			return
		}
		if tok == "" || strings.ContainsAny(tok, " \t\r\n\"{}") {
			t.Fatalf("accepted unusable token %q from %q", tok, s)
		}
		if _, err := checkToken(tok, "token"); err != nil {
			t.Fatalf("returned token fails its own check: %v", err)
		}
	})
}
