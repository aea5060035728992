package asl

import (
	"fmt"
	"strings"
	"time"
)

// choiceRule is a compiled Choice rule: a comparison on Variable, or a
// boolean combination of nested rules.
type choiceRule struct {
	next string

	and, or []*choiceRule
	not     *choiceRule

	variable    *Path
	op          string // comparison operator without a "Path" suffix
	operand     any
	operandPath *Path
}

var comparisons = set(
	"StringEquals", "StringLessThan", "StringGreaterThan", "StringLessThanEquals", "StringGreaterThanEquals", "StringMatches",
	"NumericEquals", "NumericLessThan", "NumericGreaterThan", "NumericLessThanEquals", "NumericGreaterThanEquals",
	"BooleanEquals",
	"TimestampEquals", "TimestampLessThan", "TimestampGreaterThan", "TimestampLessThanEquals", "TimestampGreaterThanEquals",
	"IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp",
)

func (p *parser) choiceRule(state, field string, v any, top bool) *choiceRule {
	o, ok := v.(map[string]any)
	if !ok {
		p.add(state, field, "must be an object")
		return nil
	}
	r := &choiceRule{}
	if n, ok := o["Next"]; ok {
		if !top {
			p.add(state, field+".Next", "only a top-level choice rule may have Next")
		}
		r.next, _ = n.(string)
	} else if top {
		p.add(state, field+".Next", "a top-level choice rule needs Next")
	}
	var ops []string
	for _, k := range sortedKeys(o) {
		switch {
		case k == "Next" || k == "Comment" || k == "Variable":
		case k == "And" || k == "Or":
			ops = append(ops, k)
			list, ok := o[k].([]any)
			if !ok || len(list) == 0 {
				p.add(state, field+"."+k, "must be a non-empty array of rules")
				continue
			}
			for i, x := range list {
				sub := p.choiceRule(state, fmt.Sprintf("%s.%s[%d]", field, k, i), x, false)
				if k == "And" {
					r.and = append(r.and, sub)
				} else {
					r.or = append(r.or, sub)
				}
			}
		case k == "Not":
			ops = append(ops, k)
			r.not = p.choiceRule(state, field+".Not", o[k], false)
		case comparisons[k] || (comparisons[strings.TrimSuffix(k, "Path")] && strings.HasSuffix(k, "Path") && k != "StringMatchesPath" && !strings.HasPrefix(k, "Is")):
			ops = append(ops, k)
			r.op = strings.TrimSuffix(k, "Path")
			if comparisons[k] {
				r.op = k
			}
			val := o[k]
			if r.op != k {
				r.operandPath = p.refPath(state, field+"."+k, val)
				continue
			}
			r.operand = val
			if msg := checkOperand(r.op, val); msg != "" {
				p.add(state, field+"."+k, "%s", msg)
			}
		default:
			p.add(state, field+"."+k, "unknown field in a choice rule")
		}
	}
	if len(ops) != 1 {
		p.add(state, field, "needs exactly one comparison operator or And/Or/Not, has %d", len(ops))
	}
	if r.op != "" {
		if v, ok := o["Variable"]; ok {
			r.variable = p.refPath(state, field+".Variable", v)
		} else {
			p.add(state, field+".Variable", "a comparison needs Variable")
		}
	} else if _, ok := o["Variable"]; ok {
		p.add(state, field+".Variable", "And/Or/Not rules take no Variable")
	}
	return r
}

func checkOperand(op string, v any) string {
	switch {
	case strings.HasPrefix(op, "String"):
		if _, ok := v.(string); !ok {
			return fmt.Sprintf("%s needs a string, got %s", op, typeName(v))
		}
	case strings.HasPrefix(op, "Numeric"):
		if !isNumber(v) {
			return fmt.Sprintf("%s needs a number, got %s", op, typeName(v))
		}
	case strings.HasPrefix(op, "Timestamp"):
		s, _ := v.(string)
		if _, err := parseTimestamp(s); err != nil {
			return fmt.Sprintf("%s: %v", op, err)
		}
	default: // BooleanEquals and the Is* tests
		if _, ok := v.(bool); !ok {
			return fmt.Sprintf("%s needs a boolean, got %s", op, typeName(v))
		}
	}
	return ""
}

func parseTimestamp(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 timestamp like 2016-03-14T01:59:00Z", s)
	}
	return t, nil
}

// eval evaluates the rule against input. A Variable that is missing is a
// States.Runtime error, except for IsPresent.
func (r *choiceRule) eval(input, ctxObj any) (bool, error) {
	switch {
	case r.and != nil:
		for _, s := range r.and {
			ok, err := s.eval(input, ctxObj)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case r.or != nil:
		for _, s := range r.or {
			ok, err := s.eval(input, ctxObj)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case r.not != nil:
		ok, err := r.not.eval(input, ctxObj)
		return !ok, err
	}
	root := input
	if r.variable.Context() {
		root = ctxObj
	}
	val, err := r.variable.Get(root)
	if r.op == "IsPresent" {
		return (err == nil) == r.operand.(bool), nil
	}
	if err != nil {
		return false, fmt.Errorf("choice rule variable %s: %w", r.variable, err)
	}
	want := r.operand
	if r.operandPath != nil {
		root := input
		if r.operandPath.Context() {
			root = ctxObj
		}
		want, err = r.operandPath.Get(root)
		if err != nil {
			return false, fmt.Errorf("%sPath %s: %w", r.op, r.operandPath, err)
		}
	}
	switch r.op {
	case "IsNull":
		return (val == nil) == want.(bool), nil
	case "IsNumeric":
		return isNumber(val) == want.(bool), nil
	case "IsString":
		_, ok := val.(string)
		return ok == want.(bool), nil
	case "IsBoolean":
		_, ok := val.(bool)
		return ok == want.(bool), nil
	case "IsTimestamp":
		s, _ := val.(string)
		_, terr := parseTimestamp(s)
		return (terr == nil) == want.(bool), nil
	case "BooleanEquals":
		a, ok1 := val.(bool)
		b, ok2 := want.(bool)
		return ok1 && ok2 && a == b, nil
	case "StringMatches":
		a, ok1 := val.(string)
		b, ok2 := want.(string)
		return ok1 && ok2 && wildcardMatch(b, a), nil
	}
	switch {
	case strings.HasPrefix(r.op, "String"):
		a, ok1 := val.(string)
		b, ok2 := want.(string)
		return ok1 && ok2 && compare(r.op[len("String"):], strings.Compare(a, b)), nil
	case strings.HasPrefix(r.op, "Numeric"):
		a, ok1 := toFloat(val)
		b, ok2 := toFloat(want)
		if !ok1 || !ok2 || !isNumber(val) || !isNumber(want) {
			return false, nil
		}
		c := 0
		if a < b {
			c = -1
		} else if a > b {
			c = 1
		}
		return compare(r.op[len("Numeric"):], c), nil
	case strings.HasPrefix(r.op, "Timestamp"):
		as, _ := val.(string)
		bs, _ := want.(string)
		a, err1 := parseTimestamp(as)
		b, err2 := parseTimestamp(bs)
		if err1 != nil || err2 != nil {
			return false, nil
		}
		return compare(r.op[len("Timestamp"):], a.Compare(b)), nil
	}
	return false, fmt.Errorf("unknown operator %s", r.op)
}

func compare(suffix string, c int) bool {
	switch suffix {
	case "Equals":
		return c == 0
	case "LessThan":
		return c < 0
	case "GreaterThan":
		return c > 0
	case "LessThanEquals":
		return c <= 0
	case "GreaterThanEquals":
		return c >= 0
	}
	return false
}

// wildcardMatch matches s against pattern where * matches any run of
// characters and \* and \\ are a literal star and backslash.
func wildcardMatch(pattern, s string) bool {
	type tok struct {
		star bool
		c    byte
	}
	var toks []tok
	for i := 0; i < len(pattern); i++ {
		switch {
		case pattern[i] == '\\' && i+1 < len(pattern):
			i++
			toks = append(toks, tok{c: pattern[i]})
		case pattern[i] == '*':
			toks = append(toks, tok{star: true})
		default:
			toks = append(toks, tok{c: pattern[i]})
		}
	}
	// Greedy matching with backtracking to the last star: linear-ish.
	ti, si, starT, starS := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case ti < len(toks) && !toks[ti].star && toks[ti].c == s[si]:
			ti++
			si++
		case ti < len(toks) && toks[ti].star:
			starT, starS = ti, si
			ti++
		case starT >= 0:
			starS++
			ti, si = starT+1, starS
		default:
			return false
		}
	}
	for ti < len(toks) && toks[ti].star {
		ti++
	}
	return ti == len(toks)
}
