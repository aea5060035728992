package localbedrock

import (
	"encoding/json"
	"testing"
)

// FuzzParseInputLine: input lines from users never panic the validator,
// and accepted lines have an object modelInput.
func FuzzParseInputLine(f *testing.F) {
	f.Add([]byte(`{"recordId":"r1","modelInput":{"prompt":"x"}}`))
	f.Add([]byte(`{"modelInput":{}}`))
	f.Add([]byte(`{"recordId":"","modelInput":{}}`))
	f.Add([]byte(`{"recordId":1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := parseInputLine(b)
		if err != nil {
			return
		}
		if !json.Valid(l.ModelInput) || l.ModelInput[0] != '{' {
			t.Fatalf("accepted modelInput %q", l.ModelInput)
		}
	})
}

func BenchmarkErrorLine(b *testing.B) {
	w := work{id: "rec-0001", input: json.RawMessage(`{"anthropic_version":"bedrock-2023-05-31","max_tokens":1024,"messages":[{"role":"user","content":[{"type":"text","text":"hello"}]}]}`)}
	b.ReportAllocs()
	b.SetBytes(int64(len(w.input)))
	for b.Loop() {
		_ = errorLine(w, 400, "bad request")
	}
}
