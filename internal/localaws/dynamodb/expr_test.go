package dynamodb

import (
	"strings"
	"testing"
)

func TestConditions(t *testing.T) {
	names := map[string]string{"#s": "status", "#c": "count"}
	vals := map[string]Value{":a": S("Completed"), ":b": S("Failed"), ":n": N("10"), ":n2": N("10.0")}
	item := Item{"status": S("Completed"), "count": N("10"), "label": S("x")}
	tests := []struct {
		expr string
		want bool
	}{
		{"#s = :a", true},
		{"#s <> :a", false},
		{"#s IN (:b, :a)", true},
		{"NOT #s IN (:b)", true},
		{"attribute_exists(label) AND attribute_not_exists(missing)", true},
		{"attribute_exists(missing) OR #c = :n2", true},
		{"(#s = :b OR #s = :a) AND NOT (#c < :n)", true},
		{"#c <= :n AND #c >= :n AND NOT #c > :n", true},
		{"missing = :a", false},
		{"missing <> :a", true},
		{"#c < :a", false},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			e := newEnv(names, vals)
			c, err := parseCondition(tc.expr, e)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.eval(item); got != tc.want {
				t.Errorf("eval = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, expr, want string }{
		{"nested path", "a.b = :a", "nested attribute path"},
		{"index path", "a[0] = :a", "nested attribute path"},
		{"between", "a BETWEEN :a AND :a", "BETWEEN"},
		{"size", "size(a) > :a", "function size"},
		{"unbalanced", "(a = :a", "expected )"},
		{"trailing", "a = :a b", "unexpected"},
		{"keyword as name", "status = :a AND = :a", "reserved keyword"},
		{"undefined value", "a = :zz", ":zz"},
		{"empty placeholder", "a = :", "empty placeholder"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseCondition(tc.expr, newEnv(nil, map[string]Value{":a": S("x")}))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestUpdate(t *testing.T) {
	vals := map[string]Value{":v": S("new"), ":w": N("1")}
	tests := []struct {
		name, expr string
		want       Item
		err        string
	}{
		{"set and remove", "SET a = :v, b = :w REMOVE c", Item{"a": S("new"), "b": N("1")}, ""},
		{"if_not_exists keeps", "SET a = if_not_exists(a, :v)", Item{"a": S("old"), "c": S("gone")}, ""},
		{"copy attribute", "SET d = c", Item{"a": S("old"), "c": S("gone"), "d": S("gone")}, ""},
		{"arithmetic", "SET b = b + :w", nil, "arithmetic"},
		{"twice", "SET a = :v SET b = :w", nil, "only be used once"},
		{"overlap", "SET a = :v REMOVE a", nil, "overlap"},
		{"empty", "", nil, "empty"},
		{"delete clause", "DELETE a :v", nil, "DELETE clause"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := parseUpdate(tc.expr, newEnv(nil, vals))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			it := Item{"a": S("old"), "c": S("gone")}
			u.apply(it)
			if len(it) != len(tc.want) {
				t.Fatalf("item = %v, want %v", it, tc.want)
			}
			for k, v := range tc.want {
				if !equal(it[k], v) {
					t.Errorf("%s = %v, want %v", k, it[k], v)
				}
			}
		})
	}
}

func FuzzParseExpressions(f *testing.F) {
	for _, s := range []string{"#s = :a", "NOT (#s IN (:a, :b)) AND attribute_exists(pk)", "SET a = :a REMOVE b",
		"SET a = if_not_exists(a, :a)", "a.b[0] = :a", "((((", "#", ":", "a <> :b OR a < :a"} {
		f.Add(s)
	}
	vals := map[string]Value{":a": S("x"), ":b": N("2")}
	names := map[string]string{"#s": "status"}
	f.Fuzz(func(t *testing.T, expr string) {
		if c, err := parseCondition(expr, newEnv(names, vals)); err == nil {
			c.eval(Item{"status": S("x"), "a": N("1")})
		}
		if u, err := parseUpdate(expr, newEnv(names, vals)); err == nil {
			u.apply(Item{"status": S("x")})
		}
	})
}

func FuzzValueJSON(f *testing.F) {
	for _, s := range []string{`{"S":"x"}`, `{"N":"1e3"}`, `{"M":{"a":{"L":[{"NULL":true}]}}}`, `{"BS":["AAE="]}`, `{"S":"x","N":"1"}`, `{"N":"abc"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v Value
		if err := v.UnmarshalJSON(data); err != nil {
			return
		}
		out, err := v.MarshalJSON()
		if err != nil {
			t.Fatalf("marshal of a decoded value failed: %v", err)
		}
		var w Value
		if err := w.UnmarshalJSON(out); err != nil {
			t.Fatalf("re-decode %s: %v", out, err)
		}
		if v.kind != "NS" && v.kind != "SS" && v.kind != "BS" && !equal(v, w) {
			t.Fatalf("round trip changed %s", out)
		}
	})
}
