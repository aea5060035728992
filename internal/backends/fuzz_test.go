package backends_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/bbo-dev/bbo/internal/backends"
	"github.com/bbo-dev/bbo/internal/extract"
	"github.com/bbo-dev/bbo/internal/models"
)

// FuzzStubAnswer: any prompt gets an answer without panicking; JSON
// answers are valid JSON.
func FuzzStubAnswer(f *testing.F) {
	f.Add("Answer with JSON only:\n{\n \"category\": \"a|b\",\n \"confidence\": 0.0-1.0\n}", uint64(1))
	f.Add(`{"keywords": ["k", "k"], "nested": {"x": 1-5}, "flag": true|false}`, uint64(2))
	f.Add("Reply with\nColor: <color name>", uint64(3))
	f.Add(`{"a": "\"}`, uint64(4))
	f.Add("", uint64(0))
	f.Fuzz(func(t *testing.T, prompt string, seed uint64) {
		a := backends.StubAnswer(prompt, seed)
		if strings.HasPrefix(a, "{") {
			if !json.Valid([]byte(a)) {
				t.Fatalf("invalid JSON answer %q for %q", a, prompt)
			}
			if _, ok := extract.FindJSON(a); !ok {
				t.Fatalf("FindJSON misses %q", a)
			}
		} else if !strings.HasPrefix(a, backends.StubPrefix) {
			t.Fatalf("unlabelled answer %q", a)
		}
	})
}

// FuzzStubInvoke: malformed request bodies are 400 errors, never panics,
// and answers always parse as the family's output.
func FuzzStubInvoke(f *testing.F) {
	f.Add(0, []byte(`{"anthropic_version":"bedrock-2023-05-31","max_tokens":10,"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`))
	f.Add(1, []byte(`{"schemaVersion":"messages-v1","messages":[{"role":"user","content":[{"text":"hi"},{"image":{"format":"png","source":{"bytes":"AA=="}}}]}]}`))
	f.Add(2, []byte(`{"prompt":"<|begin_of_text|>hi","max_gen_len":1}`))
	f.Add(3, []byte(`{"inputText":"hi","dimensions":256}`))
	f.Add(0, []byte(`{"max_tokens":1,"messages":[{"role":"user","content":"x"}]}`))
	ids := []string{claude, nova, llama, titan}
	f.Fuzz(func(t *testing.T, m int, b []byte) {
		model := ids[uint(m)%uint(len(ids))]
		out, err := backends.NewStub().Invoke(context.Background(), model, b)
		if err != nil {
			if backends.Code(err) != 400 {
				t.Fatalf("error %v is not a 400", err)
			}
			return
		}
		p, _ := models.Lookup(model)
		if _, err := p.ParseModelOutput(out); err != nil {
			t.Fatalf("output %s does not parse: %v", out, err)
		}
	})
}

func BenchmarkStubInvoke(b *testing.B) {
	p, _ := models.Lookup(claude)
	body, _ := p.AppendModelInput(nil, models.Request{
		Prompt: "Classify.\nAnswer with JSON only, in exactly this shape:\n{\n    \"category\": \"shorts|shoes|pants|dress|t-shirt\",\n    \"confidence\": 0.0-1.0\n}",
		Image:  &models.Image{Data: make([]byte, 32<<10), MediaType: "image/jpeg", Format: "jpeg"},
	})
	stub := backends.NewStub()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := stub.Invoke(context.Background(), claude, body); err != nil {
			b.Fatal(err)
		}
	}
}
