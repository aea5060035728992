package extract

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
)

// null is a Null value in test tables.
var null = Value{Null: true}

func text(s string) Value { return Value{Text: s} }

// slowExtractor returns a copy of e that evaluates every JSON path with the
// library, for comparing against the fast path.
func slowExtractor(e *Extractor) *Extractor {
	s := *e
	s.json = append([]jsonColumn(nil), e.json...)
	for i := range s.json {
		if s.json[i].simple != nil {
			s.json[i].simple = nil
			s.needNumbers = true
		}
	}
	return &s
}

func TestExtractJSON(t *testing.T) {
	columns := []string{"category", "confidence", "nested", "tags", "first_tag", "all_names", "missing", "ok", "obj"}
	paths := []string{"$.category", "$.confidence", "$.meta.color", "$.tags", "$.tags[0]", "$.items[*].name", "$.nope", `$["ok"]`, "$.meta"}
	e, err := Compile("json", columns, paths)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		resp    string
		want    []Value
		wantErr bool
	}{
		{
			name: "clean JSON",
			resp: `{"category": "t-shirt", "confidence": 0.90, "ok": true, "meta": {"color": "navy", "name": "x"}, "tags": ["a","b"]}`,
			want: []Value{text("t-shirt"), text("0.90"), text("navy"), text(`["a","b"]`), text("a"), null, null, text("true"), text(`{"color":"navy","name":"x"}`)},
		},
		{
			name: "real Claude shape with newlines",
			resp: "{\n    \"category\": \"shorts\",\n    \"confidence\": 0.9\n}",
			want: []Value{text("shorts"), text("0.9"), null, null, null, null, null, null, null},
		},
		{
			name: "json fence",
			resp: "Here is the result:\n```json\n{\"category\": \"dress\", \"confidence\": 1}\n```\nLet me know!",
			want: []Value{text("dress"), text("1"), null, null, null, null, null, null, null},
		},
		{
			name: "plain fence, braces in prose before",
			resp: "Format {category}: [see below]\n```\n{\"category\": \"pants\"}\n```",
			want: []Value{text("pants"), null, null, null, null, null, null, null, null},
		},
		{
			name: "prose around, no fence",
			resp: `Sure! {"category": "shoes", "confidence": 0.75} Hope this helps.`,
			want: []Value{text("shoes"), text("0.75"), null, null, null, null, null, null, null},
		},
		{
			name: "invalid balanced braces in prose are skipped",
			resp: `Use the {category} field. Answer: {"category": "shoes"}`,
			want: []Value{text("shoes"), null, null, null, null, null, null, null, null},
		},
		{
			name: "several names make an array",
			resp: `{"items": [{"name": "x"}, {"name": "y"}, {"size": 1}]}`,
			want: []Value{null, null, null, null, null, text(`["x","y"]`), null, null, null},
		},
		{
			name: "unicode and escapes",
			resp: `{"category": "caf\u00e9 \"chic\" {not} [json]", "tags": ["ü", "\n"], "meta": {"color": "藍"}}`,
			want: []Value{text("café \"chic\" {not} [json]"), null, text("藍"), text(`["ü","\n"]`), text("ü"), null, null, null, text(`{"color":"藍"}`)},
		},
		{
			name: "one wildcard match is the value itself",
			resp: `{"items": [{"name": "x"}]}`,
			want: []Value{null, null, null, null, null, text("x"), null, null, null},
		},
		{
			name: "null and numbers",
			resp: `{"category": null, "confidence": -1.5e3, "ok": false}`,
			want: []Value{null, text("-1.5e3"), null, null, null, null, null, text("false"), null},
		},
		{
			name: "two objects: first wins",
			resp: `{"category": "first"} and {"category": "second"}`,
			want: []Value{text("first"), null, null, null, null, null, null, null, null},
		},
		{
			name: "duplicate key: last wins",
			resp: `{"category": "a", "category": "b"}`,
			want: []Value{text("b"), null, null, null, null, null, null, null, null},
		},
		{
			name: "path through a non-object",
			resp: `{"meta": "flat", "tags": "x"}`,
			want: []Value{null, null, null, text("x"), null, null, null, null, text("flat")},
		},
		{
			name: "top-level array",
			resp: `[{"category": "a"}]`,
			want: []Value{null, null, null, null, null, null, null, null, null},
		},
		{
			name:    "no JSON",
			resp:    "I cannot classify this image.",
			want:    []Value{null, null, null, null, null, null, null, null, null},
			wantErr: true,
		},
		{
			name:    "truncated by max_tokens",
			resp:    `{"category": "dress", "meta": {"color": "red"}, "description": "A long flowing`,
			want:    []Value{null, null, null, null, null, null, null, null, null},
			wantErr: true,
		},
		{
			name:    "trailing comma is not repaired",
			resp:    `{"category": "dress", "tags": ["a",],}`,
			want:    []Value{null, null, null, null, null, null, null, null, null},
			wantErr: true,
		},
	}
	slow := slowExtractor(e)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, ex := range []*Extractor{e, slow} {
				got, err := ex.Extract(tc.resp, nil)
				if (err != nil) != tc.wantErr {
					t.Fatalf("err = %v, want error %v", err, tc.wantErr)
				}
				if len(got) != len(tc.want) {
					t.Fatalf("got %d values, want %d", len(got), len(tc.want))
				}
				for i := range got {
					if got[i] != tc.want[i] {
						t.Errorf("column %s (%s): got %+v, want %+v", columns[i], paths[i], got[i], tc.want[i])
					}
				}
			}
		})
	}
}

func TestNoJSONError(t *testing.T) {
	e, err := Compile("json", []string{"a"}, []string{"$.a"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, resp    string
		wantTruncated bool
		wantIn        string
	}{
		{"prose", strings.Repeat("no json here ", 20), false, "no JSON object or array"},
		{"cut off", `{"a": "unterminated`, true, "max_tokens"},
		{"cut off in fence", "```json\n{\"a\": [1, 2", true, "cut off"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Extract(tc.resp, nil)
			var nj *NoJSONError
			if !errors.As(err, &nj) {
				t.Fatalf("err = %v, want *NoJSONError", err)
			}
			if nj.Truncated != tc.wantTruncated {
				t.Errorf("Truncated = %v, want %v", nj.Truncated, tc.wantTruncated)
			}
			if !strings.Contains(err.Error(), tc.wantIn) {
				t.Errorf("message %q lacks %q", err.Error(), tc.wantIn)
			}
			if len(nj.Snippet) > snippetLen+len("…") {
				t.Errorf("snippet is %d bytes", len(nj.Snippet))
			}
		})
	}
}

func TestFindJSON(t *testing.T) {
	cases := []struct {
		name, in, want string
		ok             bool
	}{
		{"clean object", ` {"a":1} `, `{"a":1}`, true},
		{"clean array", "[1,2]\n", "[1,2]", true},
		{"braces in strings", `x {"a":"}{]["} y`, `{"a":"}{]["}`, true},
		{"escaped quote", `x {"a":"\"}"} y`, `{"a":"\"}"}`, true},
		{"fence with tag", "```JSON\n[{\"a\":1}]\n```", `[{"a":1}]`, true},
		{"one-line fence", "```{\"a\":1}```", `{"a":1}`, true},
		{"stray brace in prose", `Use { for objects: {"a":1}`, `{"a":1}`, true},
		{"invalid skipped whole", `{"a": {"b": 1},} then {"c":2}`, `{"c":2}`, true},
		{"truncated nested", `{"a": {"b": 1}, "c": "x`, "", false},
		{"scalar only", `42`, "", false},
		{"empty", ``, "", false},
		{"deep brackets", strings.Repeat("[", 10000), "", false},
		{"many stray braces", strings.Repeat("{ ", 10000) + `{"a":1}`, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := FindJSON(tc.in)
			if ok != tc.ok || got != tc.want {
				t.Errorf("FindJSON = %q, %v; want %q, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestExtractRegex(t *testing.T) {
	e, err := Compile("regex", []string{"color", "size"}, []string{`^color:\s*(\w+)`, `size[:=]\s*(\w+)|(x)`})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, resp string
		want       []Value
	}{
		{"both, multiline and case-insensitive", "Item\nCOLOR: Navy\nSize= XL", []Value{text("Navy"), text("XL")}},
		{"group not taking part", "the box", []Value{null, null}},
		{"none", "nothing", []Value{null, null}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.Extract(tc.resp, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("value %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	cases := []struct {
		name, kind, path, wantIn string
	}{
		{"bad kind", "xml", "$.a", "unknown output schema type"},
		{"bad jsonpath", "json", "$.a[", `column "c"`},
		{"not a path", "json", "a.b", "starts with $"},
		{"bad regex", "regex", "(", `regex "("`},
		{"no group", "regex", "abc", "no capture group"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(tc.kind, []string{"c"}, []string{tc.path})
			if err == nil || !strings.Contains(err.Error(), tc.wantIn) {
				t.Errorf("err = %v, want it to contain %q", err, tc.wantIn)
			}
		})
	}
}

func TestFilterPathUsesNumbers(t *testing.T) {
	e, err := Compile("json", []string{"big", "root"}, []string{"$.items[?(@.score > 0.5)].name", "$"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.Extract(`{"items":[{"name":"a","score":0.9},{"name":"b","score":0.1}]}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Value{text("a"), text(`{"items":[{"name":"a","score":0.9},{"name":"b","score":0.1}]}`)}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("value %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestExtractConcurrent(t *testing.T) {
	e, err := Compile("json", []string{"a", "b"}, []string{"$.a", "$.b[*]"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Go(func() {
			var dst []Value
			var err error
			for i := 0; i < 200; i++ {
				dst, err = e.Extract(`{"a":"x","b":[1,2]}`, dst)
				if err != nil || dst[0] != text("x") || dst[1] != text("[1,2]") {
					t.Errorf("got %+v, %v", dst, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// fuzzPaths are the fast-path shapes compared against the library.
var fuzzPaths = []string{"$.a", "$.a.b", `$["a"]`, `$["a b"]`, "$.a.b.c", "$._x", "$.a1", `$["a"].b`, "$.null", "$.true"}

func FuzzExtractFastVsLibrary(f *testing.F) {
	for _, s := range []string{
		`{"a":1}`, `{"a":{"b":"x"}}`, `{"a":{"b":{"c":[1,{"d":2}]}}}`, `{"a b":"\u0041"}`,
		`{"a":"\xff"}`, `{"a":1,"a":{"b":2}}`, `{"\u0061":"esc"}`, `{"_x":true,"a1":null}`,
		"```json\n{\"a\":{\"b\":1.50}}\n```", `{"null":null,"true":false}`, `[{"a":1}]`, `{"a":"<&>"}`,
	} {
		f.Add(s)
	}
	cols := make([]string, len(fuzzPaths))
	for i := range cols {
		cols[i] = fuzzPaths[i]
	}
	fast, err := Compile("json", cols, fuzzPaths)
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range fast.json {
		if c.simple == nil {
			f.Fatalf("path %q is not on the fast path", c.path)
		}
	}
	slow := slowExtractor(fast)
	f.Fuzz(func(t *testing.T, resp string) {
		a, errA := fast.Extract(resp, nil)
		b, errB := slow.Extract(resp, nil)
		if (errA == nil) != (errB == nil) {
			t.Fatalf("fast err %v, library err %v", errA, errB)
		}
		for i := range a {
			if a[i] != b[i] {
				t.Errorf("%s: fast %+v, library %+v", fuzzPaths[i], a[i], b[i])
			}
		}
	})
}

func FuzzFindJSON(f *testing.F) {
	for _, s := range []string{
		`{"a":1}`, "```json\n{\"a\":1}\n```", `x {"a":"}"} y`, `{"a":`, `[[[`, `{ {"a":1}`, `"str"`,
		"```\n```", `{"a":1}{"b":2}`, `prefix [1, 2, {"x": null}] suffix`, "{\"a\":\"\\",
	} {
		f.Add(s)
	}
	e, err := Compile("json", []string{"a", "b"}, []string{"$.a", "$..b"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		js, ok := FindJSON(s)
		if ok {
			if !json.Valid([]byte(js)) {
				t.Fatalf("FindJSON returned invalid JSON %q", js)
			}
			if !strings.Contains(s, js) {
				t.Fatalf("FindJSON returned %q, not a part of the input", js)
			}
		} else if js != "" {
			t.Fatalf("FindJSON returned %q with ok=false", js)
		}
		vals, err := e.Extract(s, nil)
		if len(vals) != 2 {
			t.Fatalf("Extract returned %d values", len(vals))
		}
		if (err == nil) != ok {
			t.Fatalf("Extract err %v, FindJSON ok %v", err, ok)
		}
	})
}
