package dynamodb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
)

// Value is one DynamoDB attribute value in its wire form: exactly one of
// S, N, B, BOOL, NULL, M, L, SS, NS, BS.
type Value struct {
	kind string
	s    string // S, N
	b    []byte // B
	bo   bool   // BOOL, NULL
	m    map[string]Value
	l    []Value
	ss   []string // SS, NS
	bs   [][]byte // BS
}

// Item is a DynamoDB item: attribute name → value.
type Item map[string]Value

// S returns a string value.
func S(s string) Value { return Value{kind: "S", s: s} }

// N returns a number value; n is its decimal text.
func N(n string) Value { return Value{kind: "N", s: n} }

// Kind returns the value's type descriptor ("S", "N", "M", ...).
func (v Value) Kind() string { return v.kind }

// String returns the text of an S or N value ("" for other kinds).
func (v Value) String() string { return v.s }

// MarshalJSON writes the value as {"<kind>": ...}.
func (v Value) MarshalJSON() ([]byte, error) {
	var inner any
	switch v.kind {
	case "S", "N":
		inner = v.s
	case "B":
		inner = v.b
	case "BOOL", "NULL":
		inner = v.bo
	case "M":
		m := v.m
		if m == nil {
			m = map[string]Value{}
		}
		inner = m
	case "L":
		l := v.l
		if l == nil {
			l = []Value{}
		}
		inner = l
	case "SS", "NS":
		inner = v.ss
	case "BS":
		inner = v.bs
	default:
		return nil, fmt.Errorf("attribute value has no type")
	}
	body, err := json.Marshal(inner)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(body)+len(v.kind)+5)
	out = append(out, `{"`...)
	out = append(out, v.kind...)
	out = append(out, `":`...)
	out = append(out, body...)
	return append(out, '}'), nil
}

// UnmarshalJSON reads {"<kind>": ...}; anything else is an error that says
// what was wrong.
func (v *Value) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("attribute value: %w", err)
	}
	if len(raw) != 1 {
		return fmt.Errorf("attribute value must have exactly one type descriptor, got %d", len(raw))
	}
	var nv Value
	for k, body := range raw {
		nv.kind = k
		var err error
		switch k {
		case "S":
			err = json.Unmarshal(body, &nv.s)
		case "N":
			err = json.Unmarshal(body, &nv.s)
			if err == nil {
				if _, ok := new(big.Float).SetString(nv.s); !ok {
					err = fmt.Errorf("%q is not a number", nv.s)
				}
			}
		case "B":
			err = json.Unmarshal(body, &nv.b)
		case "BOOL", "NULL":
			err = json.Unmarshal(body, &nv.bo)
		case "M":
			err = json.Unmarshal(body, &nv.m)
		case "L":
			err = json.Unmarshal(body, &nv.l)
		case "SS", "NS":
			err = json.Unmarshal(body, &nv.ss)
		case "BS":
			err = json.Unmarshal(body, &nv.bs)
		default:
			return fmt.Errorf("attribute value: unknown type descriptor %q", k)
		}
		if err != nil {
			return fmt.Errorf("attribute value of type %s: %w", k, err)
		}
	}
	*v = nv
	return nil
}

// equal reports DynamoDB equality: same type and same value (numbers
// compare numerically, sets ignore order).
func equal(a, b Value) bool {
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case "S":
		return a.s == b.s
	case "N":
		c, ok := compareNumbers(a.s, b.s)
		return ok && c == 0
	case "B":
		return bytes.Equal(a.b, b.b)
	case "BOOL", "NULL":
		return a.bo == b.bo
	case "M":
		if len(a.m) != len(b.m) {
			return false
		}
		for k, av := range a.m {
			bv, ok := b.m[k]
			if !ok || !equal(av, bv) {
				return false
			}
		}
		return true
	case "L":
		if len(a.l) != len(b.l) {
			return false
		}
		for i := range a.l {
			if !equal(a.l[i], b.l[i]) {
				return false
			}
		}
		return true
	case "SS", "NS":
		return sameSet(a.ss, b.ss)
	case "BS":
		as := make([]string, len(a.bs))
		bs := make([]string, len(b.bs))
		for i := range a.bs {
			as[i] = string(a.bs[i])
		}
		for i := range b.bs {
			bs[i] = string(b.bs[i])
		}
		return sameSet(as, bs)
	}
	return false
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x := append([]string(nil), a...)
	y := append([]string(nil), b...)
	sort.Strings(x)
	sort.Strings(y)
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}

// compare orders two scalar values of the same type (S, N or B); ok is
// false when they cannot be ordered, which makes an ordering condition
// false, as in DynamoDB.
func compare(a, b Value) (int, bool) {
	if a.kind != b.kind {
		return 0, false
	}
	switch a.kind {
	case "S":
		switch {
		case a.s < b.s:
			return -1, true
		case a.s > b.s:
			return 1, true
		}
		return 0, true
	case "N":
		return compareNumbers(a.s, b.s)
	case "B":
		return bytes.Compare(a.b, b.b), true
	}
	return 0, false
}

func compareNumbers(a, b string) (int, bool) {
	x, ok1 := new(big.Float).SetString(a)
	y, ok2 := new(big.Float).SetString(b)
	if !ok1 || !ok2 {
		return 0, false
	}
	return x.Cmp(y), true
}
