package asl

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name, def string
		want      []string // substrings of problems; empty = valid
	}{
		{"valid", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Succeed"}}}`, nil},
		{"not JSON", `{`, []string{"not JSON"}},
		{"missing StartAt target", `{"StartAt":"X","States":{"A":{"Type":"Succeed"}}}`, []string{`StartAt: names state "X"`}},
		{"dangling Next", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Nope"}}}`, []string{`state "A": Next: names state "Nope"`}},
		{"Next and End", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"A","End":true}}}`, []string{"both Next and End"}},
		{"neither Next nor End", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"r"}}}`, []string{"needs Next or End"}},
		{"unknown type", `{"StartAt":"A","States":{"A":{"Type":"Lambda"}}}`, []string{`unknown state type "Lambda"`}},
		{"unknown field", `{"StartAt":"A","States":{"A":{"Type":"Task","Resourse":"r","End":true}}}`, []string{`Resourse: unknown field`, "Resource: missing"}},
		{"unreachable", `{"StartAt":"A","States":{"A":{"Type":"Succeed"},"B":{"Type":"Succeed"}}}`, []string{`state "B": unreachable`}},
		{"bad path", `{"StartAt":"A","States":{"A":{"Type":"Pass","InputPath":"$.a..b","End":true}}}`, []string{`InputPath: path "$.a..b"`}},
		{"wildcard ResultPath", `{"StartAt":"A","States":{"A":{"Type":"Pass","ResultPath":"$.a[*]","End":true}}}`, []string{"must be a reference path"}},
		{"bad Parameters path", `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":"a.b"},"End":true}}}`, []string{`Parameters: field "x.$"`}},
		{"bad intrinsic", `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":"States.Foo()"},"End":true}}}`, []string{`unknown function "States.Foo"`}},
		{"States.ALL not last", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"r","End":true,"Retry":[{"ErrorEquals":["States.ALL"]},{"ErrorEquals":["X"]}]}}}`, []string{"must be the last one"}},
		{"States.ALL not alone", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"r","End":true,"Catch":[{"ErrorEquals":["States.ALL","X"],"Next":"A"}]}}}`, []string{"must appear alone"}},
		{"bad BackoffRate", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"r","End":true,"Retry":[{"ErrorEquals":["X"],"BackoffRate":0.5}]}}}`, []string{"BackoffRate"}},
		{"bad JitterStrategy", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"r","End":true,"Retry":[{"ErrorEquals":["X"],"JitterStrategy":"HALF"}]}}}`, []string{"JitterStrategy"}},
		{"dangling Catch Next", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"r","End":true,"Catch":[{"ErrorEquals":["X"],"Next":"Z"}]}}}`, []string{`Catch[0].Next: names state "Z"`}},
		{"choice without Next", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","StringEquals":"x"}]}}}`, []string{"Choices[0].Next"}},
		{"choice bad operand", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","NumericEquals":"x","Next":"C"}]}}}`, []string{"NumericEquals needs a number"}},
		{"choice two operators", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","NumericEquals":1,"IsNull":true,"Next":"C"}]}}}`, []string{"exactly one comparison"}},
		{"wait needs one field", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"SecondsPath":"$.s","End":true}}}`, []string{"exactly one of Seconds"}},
		{"nested branch scope", `{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[{"StartAt":"X","States":{"X":{"Type":"Pass","Next":"P"}}}]}}}`, []string{`state "P/Branches[0]/X": Next: names state "P"`}},
		{"map needs processor", `{"StartAt":"M","States":{"M":{"Type":"Map","End":true}}}`, []string{"ItemProcessor: missing"}},
		{"distributed map unsupported", `{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"ItemReader":{},"ItemProcessor":{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}}}}`, []string{"ItemReader: not supported"}},
		{"JSONata rejected", `{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Succeed"}}}`, []string{"only JSONPath"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate([]byte(tc.def))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want *ValidationError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestPathParse(t *testing.T) {
	in := map[string]any{"a": map[string]any{"b": []any{"x", map[string]any{"c d": 1}}}}
	tests := []struct {
		path    string
		want    any
		wantErr bool
	}{
		{"$", in, false},
		{"$.a.b[0]", "x", false},
		{"$.a.b[-1]['c d']", 1, false},
		{`$["a"].b[1]["c d"]`, 1, false},
		{"$.a.b[2]", nil, true},
		{"$.a.b.c", nil, true},
		{"a.b", nil, true},
		{"$.a[", nil, true},
		{"$.a[?(@.x)]", nil, true},
		{"$.a[1:2]", nil, true},
		{"$..a", nil, true},
		{"$.", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			p, err := ParsePath(tc.path)
			if err == nil {
				var got any
				got, err = p.Get(in)
				if err == nil && !jsonEqual(got, normalize(tc.want)) {
					t.Errorf("Get = %v, want %v", got, tc.want)
				}
			}
			if (err != nil) != tc.wantErr {
				t.Errorf("err = %v, wantErr %v", err, tc.wantErr)
			}
		})
	}
}

func normalize(v any) any {
	if i, ok := v.(int); ok {
		return intNum(int64(i))
	}
	return v
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"$", "$$", "$.a.b", "$['a']", `$["a\"b"]`, "$.a[0]", "$.a[-1]", "$.a[*].b", "$$.Map.Item.Value", "$.a..b", "$[", "$['x"} {
		f.Add(s)
	}
	doc := map[string]any{"a": []any{map[string]any{"b": "x"}}, "c": map[string]any{"d": nil}}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			return
		}
		if p.String() != s {
			t.Fatalf("String() = %q, want %q", p.String(), s)
		}
		_, _ = p.Get(doc)
		if p.IsReference() && !p.Context() {
			_, _ = p.Set(doc, "v")
		}
	})
}

func FuzzParseIntrinsic(f *testing.F) {
	for _, s := range []string{
		"States.Format('{} {}', $.a, 'b')", "States.Array()", "States.Array(1, -2.5e3, true, null, 'x\\'y')",
		"States.ArrayRange(1, 9, 2)", "States.Format('{}', States.ArrayGetItem(States.StringSplit($.s, ','), 0))",
		"States.Hash($.s, 'SHA-256')", "States.JsonMerge($.o, $.o, false)", "States.MathRandom(1, 5, 3)",
		"States.ArrayPartition($.a[*].b, 2)", "States.Format('\\{}', 1)", "States.StringToJson($.s)",
	} {
		f.Add(s)
	}
	input := map[string]any{"a": []any{map[string]any{"b": intNum(1)}}, "s": "1,2", "o": map[string]any{"k": "v"}}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseIntrinsic(s)
		if err != nil {
			return
		}
		_, _ = e.Eval(input, input)
	})
}
