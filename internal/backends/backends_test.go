package backends_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"

	"github.com/bbo-dev/bbo/internal/awsenv"
	"github.com/bbo-dev/bbo/internal/backends"
	"github.com/bbo-dev/bbo/internal/extract"
	"github.com/bbo-dev/bbo/internal/models"
	"github.com/bbo-dev/bbo/internal/records"
	"github.com/bbo-dev/bbo/prompts"
)

const (
	claude = "anthropic.claude-3-haiku-20240307-v1:0"
	nova   = "amazon.nova-lite-v1:0"
	llama  = "meta.llama3-8b-instruct-v1:0"
	titan  = "amazon.titan-embed-text-v2:0"
)

func body(t testing.TB, model string, req models.Request) []byte {
	t.Helper()
	p, err := models.Lookup(model)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.AppendModelInput(nil, req)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parse(t testing.TB, model string, out []byte) models.Result {
	t.Helper()
	p, _ := models.Lookup(model)
	r, err := p.ParseModelOutput(out)
	if err != nil {
		t.Fatalf("parse %s output %s: %v", model, out, err)
	}
	return r
}

// TestStubAnswersShippedPrompts renders every shipped prompt with a schema
// and checks that the stub's answer yields every column.
func TestStubAnswersShippedPrompts(t *testing.T) {
	lib := prompts.Default()
	stub := backends.NewStub()
	for _, id := range lib.IDs() {
		tpl, _ := lib.Get(id)
		if tpl.IsExpansion() || tpl.Schema == nil {
			continue
		}
		for _, model := range []string{claude, nova, llama} {
			t.Run(id+"/"+model, func(t *testing.T) {
				cols := tpl.Columns()
				vals := make([]string, len(cols))
				for i := range vals {
					vals[i] = "value of " + cols[i]
				}
				h := records.MustHeader(cols...)
				prompt, err := tpl.Render(records.Record{Header: h, Values: vals})
				if err != nil {
					t.Fatal(err)
				}
				out, err := stub.Invoke(context.Background(), model, body(t, model, models.Request{Prompt: prompt}))
				if err != nil {
					t.Fatal(err)
				}
				res := parse(t, model, out)
				var names, paths []string
				for _, f := range tpl.Schema.Fields {
					names = append(names, f.Column)
					paths = append(paths, f.Path)
				}
				ex, err := extract.Compile(tpl.Schema.Type, names, paths)
				if err != nil {
					t.Fatal(err)
				}
				got, err := ex.Extract(res.Text, nil)
				if err != nil {
					t.Fatalf("extract from %q: %v", res.Text, err)
				}
				for i, v := range got {
					if v.Null || v.Text == "" {
						t.Errorf("column %s is empty in %q", names[i], res.Text)
					}
				}
				if res.Usage.InputTokens == 0 || res.Usage.OutputTokens == 0 {
					t.Errorf("usage %+v", res.Usage)
				}
				if !strings.Contains(string(out), backends.StubModel) {
					t.Errorf("response is not labelled as the stub: %s", out)
				}
			})
		}
	}
}

func TestStubDeterministicAndVaried(t *testing.T) {
	lib := prompts.Default()
	tpl, _ := lib.Get("classify_clothing_category")
	prompt, err := tpl.Render(records.Record{Header: records.MustHeader("x"), Values: []string{""}})
	if err != nil {
		t.Fatal(err)
	}
	stub := backends.NewStub()
	cats := map[string]bool{}
	for i := range 40 {
		img := &models.Image{Data: []byte{0x89, 'P', 'N', 'G', byte(i), byte(i * 7)}, MediaType: "image/png", Format: "png"}
		b := body(t, claude, models.Request{Prompt: prompt, Image: img})
		a, err := stub.Invoke(context.Background(), claude, b)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := stub.Invoke(context.Background(), claude, b)
		if string(a) != string(again) {
			t.Fatalf("not deterministic:\n%s\n%s", a, again)
		}
		var v struct {
			Category   string  `json:"category"`
			Confidence float64 `json:"confidence"`
		}
		if err := json.Unmarshal([]byte(parse(t, claude, a).Text), &v); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains("shorts|shoes|pants|dress|t-shirt", v.Category) || v.Confidence < 0 || v.Confidence > 1 {
			t.Errorf("answer %+v", v)
		}
		cats[v.Category] = true
	}
	if len(cats) < 3 {
		t.Errorf("40 images gave only categories %v", cats)
	}
	// Plain text is labelled.
	out, err := stub.Invoke(context.Background(), llama, body(t, llama, models.Request{Prompt: "Tell me a joke about cats."}))
	if err != nil {
		t.Fatal(err)
	}
	if txt := parse(t, llama, out).Text; !strings.HasPrefix(txt, backends.StubPrefix) {
		t.Errorf("plain answer %q lacks the stub prefix", txt)
	}
}

func TestStubEmbedding(t *testing.T) {
	stub := backends.NewStub()
	for _, dims := range []int{256, 512, 1024} {
		p, _ := models.New(titan, models.Config{Dimensions: dims})
		b, _ := p.AppendModelInput(nil, models.Request{Prompt: "hello world"})
		out, err := stub.Invoke(context.Background(), titan, b)
		if err != nil {
			t.Fatal(err)
		}
		r, err := p.ParseModelOutput(out)
		if err != nil {
			t.Fatal(err)
		}
		var n float64
		for _, x := range r.Embedding {
			n += float64(x) * float64(x)
		}
		if len(r.Embedding) != dims || math.Abs(n-1) > 1e-4 || r.Usage.InputTokens == 0 {
			t.Errorf("dims %d: len %d norm %f tokens %d", dims, len(r.Embedding), n, r.Usage.InputTokens)
		}
	}
}

func TestStubBadRequests(t *testing.T) {
	tests := []struct{ name, model, body string }{
		{"not json", claude, "{"},
		{"claude no max_tokens", claude, `{"messages":[{"role":"user","content":"hi"}]}`},
		{"claude empty text", claude, `{"max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":" "}]}]}`},
		{"nova no messages", nova, `{"messages":[]}`},
		{"llama no prompt", llama, `{"max_gen_len":5}`},
		{"titan bad dims", titan, `{"inputText":"x","dimensions":3}`},
		{"unknown model", "acme.x-v1", `{}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := backends.NewStub().Invoke(context.Background(), tc.model, []byte(tc.body))
			var be *backends.Error
			if !errors.As(err, &be) || be.Code != 400 || backends.Retryable(err) {
				t.Errorf("err = %v, want a 400 *backends.Error", err)
			}
		})
	}
}

func TestOpenAI(t *testing.T) {
	var seen []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer k" {
			w.WriteHeader(401)
			return
		}
		var req map[string]any
		_ = json.NewDecoder(r.Body).Decode(&req)
		seen = append(seen, req)
		switch r.URL.Path {
		case "/v1/chat/completions":
			if req["model"] == "overloaded" {
				w.WriteHeader(503)
				_, _ = io.WriteString(w, `{"error":{"message":"busy"}}`)
				return
			}
			_, _ = io.WriteString(w, `{"id":"chatcmpl-1","model":"m","choices":[{"message":{"role":"assistant","content":"{\"category\":\"shoes\"}"},"finish_reason":"stop"}],"usage":{"prompt_tokens":11,"completion_tokens":5}}`)
		case "/v1/embeddings":
			_, _ = io.WriteString(w, `{"data":[{"embedding":[3,4]}],"usage":{"prompt_tokens":2}}`)
		default:
			w.WriteHeader(404)
		}
	}))
	defer srv.Close()
	o, err := backends.NewOpenAI(backends.OpenAIConfig{BaseURL: srv.URL, APIKey: "k", ChatModel: "m", EmbeddingModel: "e",
		Models: map[string]string{llama: "overloaded"}, Backoff: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	img := &models.Image{Data: []byte("img"), MediaType: "image/jpeg", Format: "jpeg"}
	for _, model := range []string{claude, nova} {
		t.Run(model, func(t *testing.T) {
			seen = nil
			out, err := o.Invoke(ctx, model, body(t, model, models.Request{Prompt: "classify", Image: img}))
			if err != nil {
				t.Fatal(err)
			}
			r := parse(t, model, out)
			if r.Text != `{"category":"shoes"}` || r.Usage.InputTokens != 11 || r.Usage.OutputTokens != 5 {
				t.Errorf("result %+v", r)
			}
			msgs, _ := json.Marshal(seen[0]["messages"])
			if !strings.Contains(string(msgs), "data:image/jpeg;base64,aW1n") || !strings.Contains(string(msgs), "classify") {
				t.Errorf("request messages %s", msgs)
			}
		})
	}
	t.Run("titan", func(t *testing.T) {
		out, err := o.Invoke(ctx, titan, body(t, titan, models.Request{Prompt: "x"}))
		if err != nil {
			t.Fatal(err)
		}
		r := parse(t, titan, out)
		if len(r.Embedding) != 2 || math.Abs(float64(r.Embedding[0])-0.6) > 1e-6 {
			t.Errorf("embedding %v", r.Embedding)
		}
	})
	t.Run("server error after retries", func(t *testing.T) {
		seen = nil
		_, err := o.Invoke(ctx, llama, body(t, llama, models.Request{Prompt: "x"}))
		if backends.Code(err) != 503 || len(seen) != 3 {
			t.Errorf("err %v after %d calls", err, len(seen))
		}
	})
}

func TestBedrock(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/model/") || !strings.HasSuffix(r.URL.Path, "/invoke") {
			w.WriteHeader(404)
			return
		}
		b, _ := io.ReadAll(r.Body)
		if strings.Contains(string(b), "bad") {
			w.Header().Set("X-Amzn-ErrorType", "ValidationException")
			w.WriteHeader(400)
			_, _ = io.WriteString(w, `{"message":"Malformed input request"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"generation":"hi","prompt_token_count":3,"generation_token_count":1,"stop_reason":"stop"}`)
	}))
	defer srv.Close()
	client := bedrockruntime.NewFromConfig(awsenv.Static(srv.URL))
	b := backends.NewBedrock(client)
	out, err := b.Invoke(context.Background(), llama, body(t, llama, models.Request{Prompt: "x"}))
	if err != nil {
		t.Fatal(err)
	}
	if r := parse(t, llama, out); r.Text != "hi" {
		t.Errorf("text %q", r.Text)
	}
	_, err = b.Invoke(context.Background(), llama, body(t, llama, models.Request{Prompt: "bad"}))
	if backends.Code(err) != 400 {
		t.Errorf("err %v, want code 400", err)
	}
}
