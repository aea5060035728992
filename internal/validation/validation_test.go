package validation_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bbo-dev/bbo/internal/validation"
)

func TestOriginalConfigsValid(t *testing.T) {
	files, err := filepath.Glob("../config/testdata/clothing-analysis-*.json")
	if err != nil || len(files) != 2 {
		t.Fatalf("want the two original configs, got %v (%v)", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out, err := validation.Handle(context.Background(), raw)
			if err != nil {
				t.Fatal(err)
			}
			if !out.Valid || len(out.Errors) != 0 || len(out.Problems) != 0 {
				t.Errorf("got %+v, want valid with no problems", out)
			}
		})
	}
}

func TestInvalidConfigs(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		// want holds substrings each expected in some error line.
		want []string
		// warn holds substrings each expected in some warning line.
		warn []string
	}{
		{
			name: "several problems",
			raw: `{"pipeline_name":"","presigned_url_expiry_days":0,"stages":[
				{"stage_name":"a","model_id":"no.such-model","input_s3_uri":"s3://b/in.csv","job_name_prefix":"p",
				 "prompt_config":{"mode":"single","prompt_id":"no_such_prompt"}},
				{"stage_name":"a","model_id":"anthropic.claude-3-haiku-20240307-v1:0","use_previous_output":true,"job_name_prefix":"p",
				 "prompt_config":{"mode":"sideways","prompt_id":"classify_clothing_category"}}]}`,
			want: []string{"pipeline_name", "presigned_url_expiry_days", "no.such-model", "no_such_prompt", "stage names must be unique", "job_name_prefix", "sideways"},
		},
		{
			name: "unknown field",
			raw:  `{"pipeline_name":"x","stages":[{"stage_name":"a","model_idd":"m"}]}`,
			want: []string{`stages[0].model_idd (stage "a"): unknown field; did you mean "model_id"?`},
		},
		{
			name: "decode problems all listed",
			raw:  `{"pipelin_name":"x","presigned_url_expiry_days":"7","stages":{}}`,
			want: []string{`did you mean "pipeline_name"`, "presigned_url_expiry_days: expected a whole number", "stages: expected a list"},
		},
		{name: "empty", raw: ``, want: []string{"empty"}},
		{name: "null", raw: `null`, want: []string{"pipeline_name"}},
		{name: "not an object", raw: `[1,2]`, want: []string{"expected an object"}},
		{name: "broken JSON", raw: `{"pipeline_name": "x",`, want: []string{"invalid JSON at line 1"}},
		{
			name: "warning only",
			raw:  `{"pipeline_name":"w","presigned_url_expiry_days":30,"stages":[{"stage_name":"a","model_id":"anthropic.claude-3-haiku-20240307-v1:0","input_s3_uri":"s3://b/in/","input_type":"image","job_name_prefix":"w","prompt_config":{"mode":"single","prompt_id":"classify_clothing_category"}}]}`,
			warn: []string{"presigned_url_expiry_days: is 30"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := validation.Handle(context.Background(), json.RawMessage(tc.raw))
			if err != nil {
				t.Fatalf("Handle returned an error (%v); bad configs must be results", err)
			}
			if out.Valid != (len(tc.want) == 0) {
				t.Errorf("Valid = %v; errors:\n%s", out.Valid, strings.Join(out.Errors, "\n"))
			}
			check := func(kind string, lines, want []string) {
				t.Helper()
				for _, w := range want {
					found := false
					for _, l := range lines {
						found = found || strings.Contains(l, w)
					}
					if !found {
						t.Errorf("no %s contains %q; got:\n%s", kind, w, strings.Join(lines, "\n"))
					}
				}
			}
			check("error", out.Errors, tc.want)
			check("warning", out.Warnings, tc.warn)
			if len(out.Problems) != len(out.Errors)+len(out.Warnings) {
				t.Errorf("%d problems for %d errors and %d warnings", len(out.Problems), len(out.Errors), len(out.Warnings))
			}
		})
	}
}

// The JSON shape is the contract with the state machine's Choice state.
func TestOutputJSON(t *testing.T) {
	out, err := validation.Handle(context.Background(), json.RawMessage(`{"pipeline_name":"x","stages":[{"stage_name":"a","bogus":1}]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"valid":false,"errors":["stages[0].bogus (stage \"a\"): unknown field"],"warnings":[],"problems":[{"stage":0,"stage_name":"a","field":"bogus","message":"unknown field","severity":"error"}]}`
	if string(b) != want {
		t.Errorf("JSON\n got %s\nwant %s", b, want)
	}
}

func TestCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := validation.Handle(ctx, json.RawMessage(`{}`)); err == nil {
		t.Error("Handle ignored a canceled context")
	}
}

func FuzzHandle(f *testing.F) {
	for _, s := range []string{
		`{"pipeline_name":"x","stages":[{"stage_name":"a","model_id":"anthropic.claude-3-haiku-20240307-v1:0","input_s3_uri":"s3://b/k.csv","job_name_prefix":"p","prompt_config":{"mode":"single","prompt_id":"classify_clothing_category"}}]}`,
		`{"stages":[{"prompt_config":{"mode":"mapped","prompt_ids":["a"],"column_mappings":{"x":"y"}}}]}`,
		`{"a":`, `[]`, `"s"`, `{"stages":[{}, null, 1]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		out, err := validation.Handle(context.Background(), raw)
		if err != nil {
			t.Fatal(err)
		}
		if out.Valid != (len(out.Errors) == 0) {
			t.Fatalf("Valid = %v with %d errors", out.Valid, len(out.Errors))
		}
		if _, err := json.Marshal(out); err != nil {
			t.Fatal(err)
		}
	})
}

func BenchmarkHandle(b *testing.B) {
	raw, err := os.ReadFile("../config/testdata/clothing-analysis-full.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if out, err := validation.Handle(context.Background(), raw); err != nil || !out.Valid {
			b.Fatal(out, err)
		}
	}
}
