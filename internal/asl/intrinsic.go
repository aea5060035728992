package asl

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

// maxIntrinsicDepth bounds nesting; Step Functions allows 10 nested calls.
const maxIntrinsicDepth = 10

type exprKind uint8

const (
	exprLiteral exprKind = iota
	exprPath
	exprCall
)

// Expr is a compiled intrinsic function call or one of its arguments.
type Expr struct {
	kind exprKind
	val  any    // literal value
	raw  string // string literal as written between the quotes (escapes kept), for States.Format
	path *Path
	fn   string
	args []*Expr
	src  string
}

// String returns the expression as written.
func (e *Expr) String() string { return e.src }

type intrinsicFunc struct {
	minArgs, maxArgs int // maxArgs -1 = variadic
	call             func(e *Expr, args []any) (any, error)
}

var intrinsics map[string]intrinsicFunc

func init() {
	intrinsics = map[string]intrinsicFunc{
		"States.Format":         {1, -1, fnFormat},
		"States.StringToJson":   {1, 1, fnStringToJSON},
		"States.JsonToString":   {1, 1, fnJSONToString},
		"States.Array":          {0, -1, func(_ *Expr, a []any) (any, error) { return append([]any{}, a...), nil }},
		"States.ArrayPartition": {2, 2, fnArrayPartition},
		"States.ArrayContains":  {2, 2, fnArrayContains},
		"States.ArrayRange":     {3, 3, fnArrayRange},
		"States.ArrayGetItem":   {2, 2, fnArrayGetItem},
		"States.ArrayLength":    {1, 1, fnArrayLength},
		"States.ArrayUnique":    {1, 1, fnArrayUnique},
		"States.Base64Encode":   {1, 1, fnBase64Encode},
		"States.Base64Decode":   {1, 1, fnBase64Decode},
		"States.Hash":           {2, 2, fnHash},
		"States.JsonMerge":      {3, 3, fnJSONMerge},
		"States.MathRandom":     {2, 3, fnMathRandom},
		"States.MathAdd":        {2, 2, fnMathAdd},
		"States.StringSplit":    {2, 2, fnStringSplit},
		"States.UUID":           {0, 0, func(*Expr, []any) (any, error) { return uuid.NewString(), nil }},
	}
}

// ParseIntrinsic compiles an intrinsic function call such as
// States.Format('{} items', States.ArrayLength($.items)).
func ParseIntrinsic(s string) (*Expr, error) {
	p := &iparser{s: s}
	p.skipSpace()
	e, err := p.expr(0)
	if err != nil {
		return nil, fmt.Errorf("intrinsic %q: %w", s, err)
	}
	p.skipSpace()
	if p.i != len(s) {
		return nil, fmt.Errorf("intrinsic %q: unexpected %q at offset %d", s, s[p.i:], p.i)
	}
	if e.kind != exprCall {
		return nil, fmt.Errorf("intrinsic %q: not a function call", s)
	}
	return e, nil
}

type iparser struct {
	s string
	i int
}

func (p *iparser) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *iparser) expr(depth int) (*Expr, error) {
	if p.i >= len(p.s) {
		return nil, fmt.Errorf("missing argument at end of input")
	}
	start := p.i
	c := p.s[p.i]
	switch {
	case c == '\'':
		raw, val, err := p.stringLit()
		if err != nil {
			return nil, err
		}
		return &Expr{kind: exprLiteral, val: val, raw: raw, src: p.s[start:p.i]}, nil
	case c == '$':
		end := p.pathEnd()
		src := strings.TrimRight(p.s[p.i:end], " \t\r\n")
		path, err := ParsePath(src)
		if err != nil {
			return nil, err
		}
		p.i = end
		return &Expr{kind: exprPath, path: path, src: src}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		end := p.i + 1
		for end < len(p.s) && strings.IndexByte("0123456789.eE+-", p.s[end]) >= 0 {
			end++
		}
		lit := p.s[p.i:end]
		if _, err := strconv.ParseFloat(lit, 64); err != nil {
			return nil, fmt.Errorf("bad number %q at offset %d", lit, p.i)
		}
		p.i = end
		return &Expr{kind: exprLiteral, val: json.Number(lit), src: lit}, nil
	}
	for _, kw := range []struct {
		word string
		val  any
	}{{"true", true}, {"false", false}, {"null", nil}} {
		if strings.HasPrefix(p.s[p.i:], kw.word) && !isIdent(p.s, p.i+len(kw.word)) {
			p.i += len(kw.word)
			return &Expr{kind: exprLiteral, val: kw.val, src: kw.word}, nil
		}
	}
	// A function call: States.Name( args )
	end := p.i
	for end < len(p.s) && (isIdentByte(p.s[end]) || p.s[end] == '.') {
		end++
	}
	name := p.s[p.i:end]
	if name == "" {
		return nil, fmt.Errorf("unexpected %q at offset %d", p.s[p.i], p.i)
	}
	fn, ok := intrinsics[name]
	if !ok {
		return nil, fmt.Errorf("unknown function %q at offset %d", name, p.i)
	}
	if depth >= maxIntrinsicDepth {
		return nil, fmt.Errorf("more than %d nested intrinsic functions", maxIntrinsicDepth)
	}
	p.i = end
	p.skipSpace()
	if p.i >= len(p.s) || p.s[p.i] != '(' {
		return nil, fmt.Errorf("expected ( after %s at offset %d", name, p.i)
	}
	p.i++
	e := &Expr{kind: exprCall, fn: name}
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == ')' {
		p.i++
	} else {
		for {
			p.skipSpace()
			arg, err := p.expr(depth + 1)
			if err != nil {
				return nil, err
			}
			e.args = append(e.args, arg)
			p.skipSpace()
			if p.i >= len(p.s) {
				return nil, fmt.Errorf("unterminated argument list of %s", name)
			}
			if p.s[p.i] == ')' {
				p.i++
				break
			}
			if p.s[p.i] != ',' {
				return nil, fmt.Errorf("expected , or ) at offset %d in %s", p.i, name)
			}
			p.i++
		}
	}
	if len(e.args) < fn.minArgs || (fn.maxArgs >= 0 && len(e.args) > fn.maxArgs) {
		return nil, fmt.Errorf("%s takes %s, got %d", name, argCount(fn), len(e.args))
	}
	e.src = p.s[start:p.i]
	return e, nil
}

func argCount(f intrinsicFunc) string {
	switch {
	case f.maxArgs < 0:
		return fmt.Sprintf("at least %d arguments", f.minArgs)
	case f.minArgs == f.maxArgs:
		return fmt.Sprintf("%d arguments", f.minArgs)
	}
	return fmt.Sprintf("%d to %d arguments", f.minArgs, f.maxArgs)
}

func isIdentByte(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func isIdent(s string, i int) bool { return i < len(s) && isIdentByte(s[i]) }

// stringLit reads '...' with backslash escapes. raw keeps the escapes (so
// States.Format can tell \{ from {); val has them resolved.
func (p *iparser) stringLit() (raw, val string, err error) {
	start := p.i
	var b strings.Builder
	for j := p.i + 1; j < len(p.s); j++ {
		switch p.s[j] {
		case '\\':
			if j+1 >= len(p.s) {
				return "", "", fmt.Errorf("dangling \\ at offset %d", j)
			}
			j++
			b.WriteByte(p.s[j])
		case '\'':
			p.i = j + 1
			return p.s[start+1 : j], b.String(), nil
		default:
			b.WriteByte(p.s[j])
		}
	}
	return "", "", fmt.Errorf("unterminated string starting at offset %d", start)
}

// pathEnd finds where a path argument ends: at a top-level , or ).
func (p *iparser) pathEnd() int {
	depth := 0
	for j := p.i; j < len(p.s); j++ {
		switch p.s[j] {
		case '[':
			depth++
		case ']':
			depth--
		case '\'', '"':
			if depth > 0 {
				if _, n, err := scanQuoted(p.s, j); err == nil {
					j = n - 1
				} else {
					return len(p.s)
				}
			}
		case ',', ')':
			if depth <= 0 {
				return j
			}
		}
	}
	return len(p.s)
}

// Eval evaluates the expression with input as $ and ctxObj as $$.
func (e *Expr) Eval(input, ctxObj any) (any, error) {
	switch e.kind {
	case exprLiteral:
		return e.val, nil
	case exprPath:
		root := input
		if e.path.Context() {
			root = ctxObj
		}
		return e.path.Get(root)
	}
	args := make([]any, len(e.args))
	for i, a := range e.args {
		v, err := a.Eval(input, ctxObj)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	v, err := intrinsics[e.fn].call(e, args)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.fn, err)
	}
	return v, nil
}

func fnFormat(e *Expr, args []any) (any, error) {
	tmpl, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("template must be a string, got %s", typeName(args[0]))
	}
	escaped := e.args[0].kind == exprLiteral
	if escaped {
		tmpl = e.args[0].raw
	}
	var b strings.Builder
	n := 1
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		switch {
		case escaped && c == '\\' && i+1 < len(tmpl):
			i++
			b.WriteByte(tmpl[i])
		case c == '{' && i+1 < len(tmpl) && tmpl[i+1] == '}':
			if n >= len(args) {
				return nil, fmt.Errorf("template has more {} than the %d arguments given", len(args)-1)
			}
			s, err := formatArg(args[n])
			if err != nil {
				return nil, err
			}
			b.WriteString(s)
			n++
			i++
		default:
			b.WriteByte(c)
		}
	}
	if n != len(args) {
		return nil, fmt.Errorf("template has %d {} but %d arguments were given", n-1, len(args)-1)
	}
	return b.String(), nil
}

func formatArg(v any) (string, error) {
	switch t := v.(type) {
	case string:
		return t, nil
	case nil:
		return "null", nil
	case bool:
		return strconv.FormatBool(t), nil
	case json.Number:
		return t.String(), nil
	}
	if isNumber(v) {
		f, _ := toFloat(v)
		return floatNum(f).String(), nil
	}
	return string(encodeJSON(v)), nil
}

func fnStringToJSON(_ *Expr, a []any) (any, error) {
	s, ok := a[0].(string)
	if !ok {
		return nil, fmt.Errorf("argument must be a string, got %s", typeName(a[0]))
	}
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("argument is empty, not JSON")
	}
	v, err := decodeJSON([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("argument is not JSON: %v", err)
	}
	return v, nil
}

func fnJSONToString(_ *Expr, a []any) (any, error) { return string(encodeJSON(a[0])), nil }

func argArray(v any, what string) ([]any, error) {
	a, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s must be an array, got %s", what, typeName(v))
	}
	return a, nil
}

func argInt(v any, what string) (int64, error) {
	i, ok := toInt(v)
	if !ok {
		return 0, fmt.Errorf("%s must be an integer, got %s", what, typeName(v))
	}
	return i, nil
}

func fnArrayPartition(_ *Expr, a []any) (any, error) {
	arr, err := argArray(a[0], "first argument")
	if err != nil {
		return nil, err
	}
	n, err := argInt(a[1], "chunk size")
	if err != nil {
		return nil, err
	}
	if n <= 0 {
		return nil, fmt.Errorf("chunk size must be positive, got %d", n)
	}
	size := int(min(n, int64(len(arr)+1)))
	out := []any{}
	for i := 0; i < len(arr); i += size {
		end := min(i+size, len(arr))
		out = append(out, append([]any{}, arr[i:end]...))
	}
	return out, nil
}

func fnArrayContains(_ *Expr, a []any) (any, error) {
	arr, err := argArray(a[0], "first argument")
	if err != nil {
		return nil, err
	}
	for _, x := range arr {
		if jsonEqual(x, a[1]) {
			return true, nil
		}
	}
	return false, nil
}

func fnArrayRange(_ *Expr, a []any) (any, error) {
	start, err := argInt(a[0], "start")
	if err != nil {
		return nil, err
	}
	end, err := argInt(a[1], "end")
	if err != nil {
		return nil, err
	}
	step, err := argInt(a[2], "step")
	if err != nil {
		return nil, err
	}
	if step == 0 {
		return nil, fmt.Errorf("step must not be 0")
	}
	out := []any{}
	for i := start; (step > 0 && i <= end) || (step < 0 && i >= end); i += step {
		if len(out) == 1000 {
			return nil, fmt.Errorf("range has more than 1000 items")
		}
		out = append(out, intNum(i))
		if (step > 0 && i > math.MaxInt64-step) || (step < 0 && i < math.MinInt64-step) {
			break
		}
	}
	return out, nil
}

func fnArrayGetItem(_ *Expr, a []any) (any, error) {
	arr, err := argArray(a[0], "first argument")
	if err != nil {
		return nil, err
	}
	i, err := argInt(a[1], "index")
	if err != nil {
		return nil, err
	}
	if i < 0 || i >= int64(len(arr)) {
		return nil, fmt.Errorf("index %d out of range for array of length %d", i, len(arr))
	}
	return arr[i], nil
}

func fnArrayLength(_ *Expr, a []any) (any, error) {
	arr, err := argArray(a[0], "argument")
	if err != nil {
		return nil, err
	}
	return intNum(int64(len(arr))), nil
}

func fnArrayUnique(_ *Expr, a []any) (any, error) {
	arr, err := argArray(a[0], "argument")
	if err != nil {
		return nil, err
	}
	out := []any{}
	seen := map[string]bool{}
	for _, x := range arr {
		k := string(encodeJSON(x))
		if isNumber(x) {
			f, _ := toFloat(x)
			k = "n:" + strconv.FormatFloat(f, 'g', -1, 64)
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, x)
		}
	}
	return out, nil
}

const maxBase64Input = 10000

func fnBase64Encode(_ *Expr, a []any) (any, error) {
	s, ok := a[0].(string)
	if !ok {
		return nil, fmt.Errorf("argument must be a string, got %s", typeName(a[0]))
	}
	if len(s) > maxBase64Input {
		return nil, fmt.Errorf("argument is longer than %d characters", maxBase64Input)
	}
	return base64.StdEncoding.EncodeToString([]byte(s)), nil
}

func fnBase64Decode(_ *Expr, a []any) (any, error) {
	s, ok := a[0].(string)
	if !ok {
		return nil, fmt.Errorf("argument must be a string, got %s", typeName(a[0]))
	}
	if len(s) > maxBase64Input {
		return nil, fmt.Errorf("argument is longer than %d characters", maxBase64Input)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("argument is not base64: %v", err)
	}
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("decoded data is not UTF-8 text")
	}
	return string(b), nil
}

func fnHash(_ *Expr, a []any) (any, error) {
	s, ok := a[0].(string)
	if !ok {
		return nil, fmt.Errorf("data must be a string, got %s", typeName(a[0]))
	}
	alg, _ := a[1].(string)
	var h hash.Hash
	switch alg {
	case "MD5":
		h = md5.New()
	case "SHA-1":
		h = sha1.New()
	case "SHA-256":
		h = sha256.New()
	case "SHA-384":
		h = sha512.New384()
	case "SHA-512":
		h = sha512.New()
	default:
		return nil, fmt.Errorf("algorithm %v is not one of MD5, SHA-1, SHA-256, SHA-384, SHA-512", a[1])
	}
	h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil)), nil
}

func fnJSONMerge(_ *Expr, a []any) (any, error) {
	x, ok1 := a[0].(map[string]any)
	y, ok2 := a[1].(map[string]any)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("both arguments must be objects, got %s and %s", typeName(a[0]), typeName(a[1]))
	}
	if deep, ok := a[2].(bool); !ok || deep {
		return nil, fmt.Errorf("third argument must be false (only shallow merge is supported)")
	}
	out := make(map[string]any, len(x)+len(y))
	for k, v := range x {
		out[k] = v
	}
	for k, v := range y {
		out[k] = v
	}
	return out, nil
}

func fnMathRandom(_ *Expr, a []any) (any, error) {
	start, err := argInt(a[0], "start")
	if err != nil {
		return nil, err
	}
	end, err := argInt(a[1], "end")
	if err != nil {
		return nil, err
	}
	if end <= start || end-start <= 0 {
		return nil, fmt.Errorf("end (%d) must be greater than start (%d), within the integer range", end, start)
	}
	r := rand.Int64N
	if len(a) == 3 {
		seed, err := argInt(a[2], "seed")
		if err != nil {
			return nil, err
		}
		r = rand.New(rand.NewPCG(uint64(seed), 0)).Int64N
	}
	return intNum(start + r(end-start)), nil
}

func fnMathAdd(_ *Expr, a []any) (any, error) {
	x, err := argInt(a[0], "first argument")
	if err != nil {
		return nil, err
	}
	y, err := argInt(a[1], "second argument")
	if err != nil {
		return nil, err
	}
	sum := x + y
	if (y > 0 && sum < x) || (y < 0 && sum > x) {
		return nil, fmt.Errorf("%d + %d overflows", x, y)
	}
	return intNum(sum), nil
}

func fnStringSplit(_ *Expr, a []any) (any, error) {
	s, ok1 := a[0].(string)
	d, ok2 := a[1].(string)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("both arguments must be strings, got %s and %s", typeName(a[0]), typeName(a[1]))
	}
	out := []any{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(d, r) }) {
		out = append(out, f)
	}
	return out, nil
}
