package prompts

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/bbo-dev/bbo/internal/records"
)

// shipped lists every id the library ships with the columns it reads and
// the output fields its schema extracts (nil: no schema), or the prompts of
// an expansion rule.
var shipped = []struct {
	id        string
	columns   []string
	fields    []string
	expansion []string
}{
	{id: "joke_about_topic", columns: []string{"topic"}},
	{id: "sentiment_classifier", columns: []string{"text"}, fields: []string{"sentiment", "confidence"}},
	{id: "question_answering", columns: []string{"source"}, fields: []string{"answer"}},
	{id: "embed_text", columns: []string{"input_text"}},
	{id: "classify_product", columns: []string{"product_description"}, fields: []string{"category", "subcategory", "confidence"}},
	{id: "image_classification"},
	{id: "extract_color", columns: []string{"product_description"}, fields: []string{"color"}},
	{id: "extract_size", columns: []string{"product_description"}, fields: []string{"size"}},
	{id: "extract_brand", columns: []string{"product_description"}, fields: []string{"brand"}},
	{id: "detailed_clothing_analysis", expansion: []string{"extract_color", "extract_size", "extract_brand"}},
	{id: "comprehensive_product_review", expansion: []string{"classify_product", "extract_color", "extract_size", "extract_brand"}},
	{id: "classify_clothing_category", fields: []string{"category", "confidence"}},
	{id: "extract_shorts_metadata", fields: []string{"color", "material", "style", "pattern", "length", "fit"}},
	{id: "extract_shoes_metadata", fields: []string{"color", "material", "style", "pattern", "type", "closure", "heel"}},
	{id: "extract_pants_metadata", fields: []string{"color", "material", "style", "pattern", "fit", "length"}},
	{id: "extract_dress_metadata", fields: []string{"color", "material", "style", "pattern", "length", "sleeve", "neckline"}},
	{id: "extract_tshirt_metadata", fields: []string{"color", "material", "style", "pattern", "sleeve", "neckline", "fit"}},
	{id: "generate_product_listing", columns: []string{"category", "metadata"}, fields: []string{"title", "description", "keywords"}},
}

func TestDefaultShipsEveryID(t *testing.T) {
	lib := Default()
	var want []string
	for _, s := range shipped {
		want = append(want, s.id)
	}
	slices.Sort(want)
	if got := lib.IDs(); !slices.Equal(got, want) {
		t.Fatalf("IDs() = %v\nwant %v", got, want)
	}
	for _, s := range shipped {
		t.Run(s.id, func(t *testing.T) {
			tpl, ok := lib.Get(s.id)
			if !ok {
				t.Fatalf("Get(%q) not found", s.id)
			}
			if got := tpl.Columns(); !slices.Equal(got, s.columns) {
				t.Errorf("Columns() = %v, want %v", got, s.columns)
			}
			if got := tpl.Schema.Columns(); !slices.Equal(got, s.fields) {
				t.Errorf("schema columns = %v, want %v", got, s.fields)
			}
			if !slices.Equal(tpl.Expansion, s.expansion) || tpl.IsExpansion() != (s.expansion != nil) {
				t.Errorf("Expansion = %v (IsExpansion %v), want %v", tpl.Expansion, tpl.IsExpansion(), s.expansion)
			}
		})
	}
}

// record builds a record from column/value pairs.
func record(t testing.TB, kv ...string) records.Record {
	t.Helper()
	var names, values []string
	for i := 0; i < len(kv); i += 2 {
		names = append(names, kv[i])
		values = append(values, kv[i+1])
	}
	h, err := records.NewHeader(names)
	if err != nil {
		t.Fatal(err)
	}
	return records.Record{Header: h, Values: values, Source: "test.csv line 2"}
}

func TestRenderShipped(t *testing.T) {
	lib := Default()
	for _, id := range lib.IDs() {
		tpl, _ := lib.Get(id)
		if tpl.IsExpansion() {
			continue
		}
		t.Run(id, func(t *testing.T) {
			kv := []string{"record_id", "r1"}
			for _, c := range tpl.Columns() {
				kv = append(kv, c, "<<"+c+" value>>")
			}
			got, err := tpl.Render(record(t, kv...))
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range tpl.Columns() {
				if !strings.Contains(got, "<<"+c+" value>>") {
					t.Errorf("rendered prompt lacks the value of %q:\n%s", c, got)
				}
			}
			if strings.Contains(got, "{{") || strings.Contains(got, "}}") {
				t.Errorf("rendered prompt still has doubled braces:\n%s", got)
			}
			// A JSON schema's prompt shows the answer shape: its example
			// must name every output field.
			if tpl.Schema != nil && tpl.Schema.Type == SchemaJSON {
				for _, f := range tpl.Schema.Fields {
					if !strings.Contains(got, `"`+f.Column+`"`) {
						t.Errorf("prompt never asks for field %q:\n%s", f.Column, got)
					}
				}
			}
		})
	}
}

func TestRegexSchemasMatchTheirAnswerLine(t *testing.T) {
	cases := []struct {
		id, response, column, want string
	}{
		{"extract_color", "Here you go.\nColor: Navy Blue \n", "color", "Navy Blue"},
		{"extract_color", "colour: red", "color", "red"},
		{"extract_size", "SIZE: XL", "size", "XL"},
		{"extract_brand", "Brand: Acme Outdoor", "brand", "Acme Outdoor"},
		{"question_answering", "Step 1...\nStep 2...\nAnswer: 42", "answer", "42"},
	}
	for _, tc := range cases {
		t.Run(tc.id+"/"+tc.want, func(t *testing.T) {
			tpl, _ := Default().Get(tc.id)
			var re = tpl.Schema.Fields[0].Regexp()
			if tpl.Schema.Fields[0].Column != tc.column || re == nil {
				t.Fatalf("field 0 = %+v", tpl.Schema.Fields[0])
			}
			m := re.FindStringSubmatch(tc.response)
			if m == nil || m[1] != tc.want {
				t.Fatalf("match = %q, want %q", m, tc.want)
			}
		})
	}
}

func load(t *testing.T, files map[string]string) (*Library, error) {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, data := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	return Load(fsys)
}

func TestRender(t *testing.T) {
	cases := []struct {
		name, text, want string
		kv               []string
	}{
		{"plain", "hello", "hello", nil},
		{"placeholder", "a {x} b", "a 1 b", []string{"x", "1"}},
		{"repeated", "{x}{x}-{y_2}", "11-2", []string{"x", "1", "y_2", "2"}},
		{"escapes", "{{\"k\": \"{x}\"}} }} {{", "{\"k\": \"1\"} } {", []string{"x", "1"}},
		{"value with braces is not re-expanded", "<{x}>", "<{y}>", []string{"x", "{y}"}},
		{"unicode", "héllo {x} ✓", "héllo é ✓", []string{"x", "é"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text, _ := json.Marshal(tc.text)
			lib, err := load(t, map[string]string{"a.json": `{"t": ` + string(text) + `}`})
			if err != nil {
				t.Fatal(err)
			}
			tpl, _ := lib.Get("t")
			got, err := tpl.Render(record(t, tc.kv...))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Render = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRenderMissingColumn(t *testing.T) {
	tpl, _ := Default().Get("generate_product_listing")
	r := record(t, "record_id", "abc", "category", "shorts", "response", "{}")
	buf := []byte("keep")
	out, err := tpl.AppendRender(buf, r)
	if string(out) != "keep" {
		t.Errorf("AppendRender on error returned %q, want the buffer unchanged", out)
	}
	var mc *MissingColumnError
	if !errors.As(err, &mc) {
		t.Fatalf("error %v is not a *MissingColumnError", err)
	}
	want := `record "abc" (test.csv line 2): prompt "generate_product_listing" needs column "metadata", ` +
		`which the record does not have (its columns: record_id, category, response); ` +
		`add or rename the column (column_mappings in a pipeline stage) or pick a prompt that fits the data`
	if err.Error() != want {
		t.Errorf("error =\n%s\nwant\n%s", err, want)
	}
	if _, err := tpl.Render(records.Record{}); err == nil || !strings.Contains(err.Error(), "its columns: none") {
		t.Errorf("Render of an empty record: %v", err)
	}
}

func TestRenderExpansionRule(t *testing.T) {
	tpl, _ := Default().Get("detailed_clothing_analysis")
	_, err := tpl.Render(record(t, "record_id", "r9"))
	want := `record "r9" (test.csv line 2): "detailed_clothing_analysis" is an expansion rule, not a prompt: render each of its prompts (extract_color, extract_size, extract_brand) instead`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant %s", err, want)
	}
}

func TestLoadRejects(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  []string // the exact problem lines
	}{
		{
			name:  "bad placeholders",
			files: map[string]string{"a.json": `{"t": "x {0} {a.b} {} {ok} } {open"}`},
			want: []string{
				`a.json: template "t": "{0}" at line 1 column 3 is not a placeholder: a placeholder is {column} with a name of letters, digits and '_' not starting with a digit; write '{{' and '}}' for literal braces`,
				`a.json: template "t": "{a.b}" at line 1 column 7 is not a placeholder: a placeholder is {column} with a name of letters, digits and '_' not starting with a digit; write '{{' and '}}' for literal braces`,
				`a.json: template "t": "{}" at line 1 column 13 is not a placeholder: a placeholder is {column} with a name of letters, digits and '_' not starting with a digit; write '{{' and '}}' for literal braces`,
				`a.json: template "t": single '}' at line 1 column 21: write '}}' for a literal brace`,
				`a.json: template "t": unclosed '{' at line 1 column 23: close the placeholder with '}' or write '{{' for a literal brace`,
			},
		},
		{
			name:  "position on a later line",
			files: map[string]string{"a.json": `{"t": "one\ntwo {x-y}"}`},
			want:  []string{`a.json: template "t": "{x-y}" at line 2 column 5 is not a placeholder: a placeholder is {column} with a name of letters, digits and '_' not starting with a digit; write '{{' and '}}' for literal braces`},
		},
		{
			name: "schemas",
			files: map[string]string{"a.json": `{
				"a": {"template": "x", "output_schema": {"type": "xml", "fields": {"c": "$.c"}}},
				"b": {"template": "x", "output_schema": {"type": "json", "fields": {"c": "c", "d": "$[", "response": "$.r"}}},
				"c": {"template": "x", "output_schema": {"type": "regex", "fields": {"c": "no group", "d": "(unclosed"}}},
				"d": {"template": "x", "output_schema": {"type": "json", "fields": {}}},
				"e": {"template": "x", "output_schema": {"type": "json", "fields": {"c": 3}}},
				"f": {"template": "x", "output_schema": {"type": "json", "fieldz": {}}}
			}`},
			want: []string{
				`a.json: template "a": output_schema: unknown type "xml": use "json" or "regex"`,
				`a.json: template "b": output_schema.fields.c: JSONPath "c" must start with '$', for example "$.category"`,
				`a.json: template "b": output_schema.fields.d: invalid JSONPath "$[": parsing error: $[	:1:3 - 1:3 unexpected EOF while scanning extensions`,
				`a.json: template "b": output_schema.fields.response: "response" is written by bbo itself (reserved: record_id, response, embedding): choose another column name`,
				`a.json: template "c": output_schema.fields.c: the expression has no capture group: wrap the part to keep in ( )`,
				`a.json: template "c": output_schema.fields.d: invalid regular expression: error parsing regexp: missing closing ): ` + "`(?im)(unclosed`",
				`a.json: template "d": output_schema.fields is empty: map each output column to a JSONPath or regex`,
				`a.json: template "e": output_schema.fields: column "c": value must be a string (a JSONPath or regex)`,
				`a.json: template "f": output_schema: unknown field "fieldz"; write {"type": "json"|"regex", "fields": {"column": "..."}}`,
			},
		},
		{
			name: "expansion rules",
			files: map[string]string{"a.json": `{
				"p": "plain",
				"r1": {"expansion_rule": true, "prompts": ["p", "nope", "r2", "p"]},
				"r2": {"expansion_rule": true, "prompts": []},
				"r3": {"expansion_rule": true, "prompts": ["p"], "template": "x"},
				"r4": {"prompts": ["p"], "template": "x"}
			}`},
			want: []string{
				`a.json: template "r2": expansion rule lists no prompts: set "prompts" to the ids to run for each record`,
				`a.json: template "r3": an expansion rule has only "expansion_rule" and "prompts": move the template text into a prompt of its own`,
				`a.json: template "r4": "prompts" is only for expansion rules: add "expansion_rule": true or remove "prompts"`,
				`a.json: template "r1": expansion rule names unknown prompt "nope": define it or fix the id`,
				`a.json: template "r1": expansion rule names "r2", which is itself an expansion rule: list prompts only`,
				`a.json: template "r1": prompt "p" is listed twice: each prompt makes one record per input record`,
			},
		},
		{
			name: "duplicates and shapes",
			files: map[string]string{
				"a.json":     `{"x": "one", "x": "two", "9bad": "y", "n": 5, "o": {"text": "t"}, "e": "  ", "m": {}}`,
				"b.json":     `{"x": "three"}`,
				"c.json":     `["not", "an", "object"]`,
				"d.json":     `{"x2": "ok"} {}`,
				"README.txt": `ignored`,
			},
			want: []string{
				`a.json: template "x": defined twice in this file: ids must be unique`,
				`a.json: template "9bad": invalid id: use letters, digits and '_', not starting with a digit`,
				`a.json: template "n": not a template: cannot unmarshal number into Go value of type prompts.rawEntry; an entry is a string, {"template": ..., "output_schema": ...} or {"expansion_rule": true, "prompts": [...]}`,
				`a.json: template "o": not a template: unknown field "text"; an entry is a string, {"template": ..., "output_schema": ...} or {"expansion_rule": true, "prompts": [...]}`,
				`a.json: template "e": template text is empty`,
				`a.json: template "m": missing "template": give the prompt text`,
				`b.json: template "x": also defined in a.json: ids must be unique across template files`,
				`c.json: not a JSON object: a template file maps template ids to templates, {"my_prompt": "text with {column}"}`,
				`d.json: unexpected data after the top-level object`,
			},
		},
		{
			name:  "no files",
			files: map[string]string{"notes.md": "x"},
			want:  []string{`.: no template files (*.json) found`},
		},
		{
			name:  "truncated file",
			files: map[string]string{"a.json": `{"a": "x", "b": `},
			want:  []string{`a.json: template "b": invalid JSON at line 1 column 16: the file ends in the middle of a value`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lib, err := load(t, tc.files)
			if lib != nil {
				t.Errorf("Load returned a library despite errors")
			}
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("error %v is not a *LoadError", err)
			}
			got := strings.Split(err.Error(), "\n")
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestLoadKeepsFieldOrder(t *testing.T) {
	lib, err := load(t, map[string]string{"a.json": `{"t": {"template": "x", "output_schema": {"type": "json", "fields": {"z": "$.z", "a": "$.a", "m": "$.m[0]"}}}}`})
	if err != nil {
		t.Fatal(err)
	}
	tpl, _ := lib.Get("t")
	want := []FieldSpec{{Column: "z", Path: "$.z"}, {Column: "a", Path: "$.a"}, {Column: "m", Path: "$.m[0]"}}
	if !slices.Equal(tpl.Schema.Fields, want) {
		t.Errorf("fields = %+v, want %+v", tpl.Schema.Fields, want)
	}
}

// FuzzLoad loads arbitrary template text (and arbitrary file bytes): Load
// must not panic, and a template that loads must render with every column
// it names present.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{"", "plain", "{a}", "{{", "}}", "{", "}", "{a}{b}{{c}}", "{0}", "{a.b}", "x\n{ y }", "{{{a}}}", "{é}", "\xff{a}"} {
		f.Add(s, false)
	}
	f.Add(`{"t": {"template": "{x}", "output_schema": {"type": "regex", "fields": {"c": "(a)"}}}}`, true)
	f.Add(`{"r": {"expansion_rule": true, "prompts": ["t"]}, "t": "x"}`, true)
	f.Fuzz(func(t *testing.T, s string, rawFile bool) {
		file := s
		if !rawFile {
			text, _ := json.Marshal(s)
			file = `{"t": ` + string(text) + `}`
		}
		lib, err := Load(fstest.MapFS{"a.json": &fstest.MapFile{Data: []byte(file)}})
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		for _, id := range lib.IDs() {
			tpl, _ := lib.Get(id)
			if tpl.IsExpansion() {
				continue
			}
			kv := []string{"record_id", "r"}
			for _, c := range tpl.Columns() {
				if c != "record_id" {
					kv = append(kv, c, "v")
				}
			}
			if _, err := tpl.Render(record(t, kv...)); err != nil {
				t.Fatalf("template %q with all its columns: %v", id, err)
			}
		}
	})
}

func BenchmarkAppendRender(b *testing.B) {
	tpl, _ := Default().Get("generate_product_listing")
	r := record(b, "record_id", "0001", "image_path", "s3://bucket/inputs/a.jpg", "category", "shorts",
		"metadata", `{"color": "navy blue", "length": "short", "material": "cotton", "pattern": "solid", "style": "casual"}`)
	buf, err := tpl.AppendRender(nil, r)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = tpl.AppendRender(buf[:0], r)
	}
}
