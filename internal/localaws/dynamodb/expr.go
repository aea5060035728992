package dynamodb

import (
	"fmt"
	"strings"
)

// The expression language subset: condition and filter expressions with
// attribute_exists, attribute_not_exists, = <> < <= > >=, IN, AND, OR, NOT
// and parentheses; update expressions with SET path = operand (or
// if_not_exists(path, operand)) and REMOVE path. Paths are top-level
// attribute names or #placeholders. Everything else is rejected with an
// error naming the construct, which the server returns as a
// ValidationException.

type tokKind int

const (
	tEOF tokKind = iota
	tName
	tPlaceholder // #name
	tValue       // :value
	tOp          // = <> < <= > >= + -
	tLParen
	tRParen
	tComma
	tOther // . [ ] and anything else: reported as unsupported
)

type token struct {
	kind tokKind
	text string
	pos  int
}

func lex(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{tLParen, "(", i})
			i++
		case c == ')':
			toks = append(toks, token{tRParen, ")", i})
			i++
		case c == ',':
			toks = append(toks, token{tComma, ",", i})
			i++
		case c == '=' || c == '+' || c == '-':
			toks = append(toks, token{tOp, string(c), i})
			i++
		case c == '<' || c == '>':
			j := i + 1
			if j < len(s) && (s[j] == '=' || (c == '<' && s[j] == '>')) {
				j++
			}
			toks = append(toks, token{tOp, s[i:j], i})
			i = j
		case c == '#' || c == ':':
			j := i + 1
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			if j == i+1 {
				return nil, fmt.Errorf("empty placeholder %q at position %d", string(c), i)
			}
			k := tPlaceholder
			if c == ':' {
				k = tValue
			}
			toks = append(toks, token{k, s[i:j], i})
			i = j
		case isWordByte(c):
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			toks = append(toks, token{tName, s[i:j], i})
			i = j
		default:
			toks = append(toks, token{tOther, string(c), i})
			i++
		}
	}
	return append(toks, token{tEOF, "", len(s)}), nil
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// keywords may not be used as bare attribute names: the expression
// keywords plus a sample of DynamoDB's reserved words that attribute names
// commonly collide with (the real list has several hundred), so code that
// works here does not fail on the real service for the usual suspects.
var keywords = map[string]bool{"AND": true, "OR": true, "NOT": true, "IN": true, "BETWEEN": true, "SET": true,
	"REMOVE": true, "ADD": true, "DELETE": true, "STATUS": true, "NAME": true, "DATA": true, "COUNT": true,
	"KEY": true, "VALUE": true, "TIMESTAMP": true, "TTL": true, "SIZE": true, "TYPE": true, "DATE": true,
	"TIME": true, "USER": true, "TABLE": true, "STATE": true}

// env resolves placeholders and records which were used.
type env struct {
	names     map[string]string
	values    map[string]Value
	usedNames map[string]bool
	usedVals  map[string]bool
}

func newEnv(names map[string]string, values map[string]Value) *env {
	return &env{names: names, values: values, usedNames: map[string]bool{}, usedVals: map[string]bool{}}
}

// unused reports the first placeholder defined but not used by any
// expression, as DynamoDB does.
func (e *env) unused() error {
	for k := range e.names {
		if !e.usedNames[k] {
			return fmt.Errorf("value provided in ExpressionAttributeNames unused in expressions: keys: {%s}", k)
		}
	}
	for k := range e.values {
		if !e.usedVals[k] {
			return fmt.Errorf("value provided in ExpressionAttributeValues unused in expressions: keys: {%s}", k)
		}
	}
	return nil
}

type parser struct {
	toks []token
	i    int
	env  *env
	src  string
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) isKeyword(word string) bool {
	t := p.peek()
	return t.kind == tName && strings.EqualFold(t.text, word)
}

func (p *parser) errorf(t token, format string, args ...any) error {
	return fmt.Errorf("invalid expression %q at position %d: %s", p.src, t.pos, fmt.Sprintf(format, args...))
}

func (p *parser) unsupported(t token, what string) error {
	return fmt.Errorf("unsupported construct in expression %q at position %d: %s (this local DynamoDB supports top-level attribute names, #names, :values, attribute_exists, attribute_not_exists, = <> < <= > >=, IN, AND, OR, NOT, SET and REMOVE)", p.src, t.pos, what)
}

// cond is a parsed condition.
type cond interface{ eval(Item) bool }

type andCond struct{ a, b cond }
type orCond struct{ a, b cond }
type notCond struct{ a cond }
type existsCond struct {
	path string
	want bool
}
type cmpCond struct {
	op   string
	a, b operand
}
type inCond struct {
	a    operand
	list []operand
}

func (c andCond) eval(it Item) bool { return c.a.eval(it) && c.b.eval(it) }
func (c orCond) eval(it Item) bool  { return c.a.eval(it) || c.b.eval(it) }
func (c notCond) eval(it Item) bool { return !c.a.eval(it) }
func (c existsCond) eval(it Item) bool {
	_, ok := it[c.path]
	return ok == c.want
}
func (c cmpCond) eval(it Item) bool {
	a, okA := c.a.get(it)
	b, okB := c.b.get(it)
	if !okA || !okB {
		return c.op == "<>" && okA != okB
	}
	switch c.op {
	case "=":
		return equal(a, b)
	case "<>":
		return !equal(a, b)
	}
	n, ok := compare(a, b)
	if !ok {
		return false
	}
	switch c.op {
	case "<":
		return n < 0
	case "<=":
		return n <= 0
	case ">":
		return n > 0
	default:
		return n >= 0
	}
}
func (c inCond) eval(it Item) bool {
	a, ok := c.a.get(it)
	if !ok {
		return false
	}
	for _, o := range c.list {
		if b, ok := o.get(it); ok && equal(a, b) {
			return true
		}
	}
	return false
}

// operand is an attribute path or a literal value.
type operand struct {
	path  string
	value Value
	isVal bool
}

func (o operand) get(it Item) (Value, bool) {
	if o.isVal {
		return o.value, true
	}
	v, ok := it[o.path]
	return v, ok
}

// parseCondition parses a condition or filter expression.
func parseCondition(src string, e *env) (cond, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, fmt.Errorf("invalid expression %q: %w", src, err)
	}
	p := &parser{toks: toks, env: e, src: src}
	c, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.errorf(t, "unexpected %q", t.text)
	}
	return c, nil
}

func (p *parser) or() (cond, error) {
	c, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("OR") {
		p.next()
		d, err := p.and()
		if err != nil {
			return nil, err
		}
		c = orCond{c, d}
	}
	return c, nil
}

func (p *parser) and() (cond, error) {
	c, err := p.not()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("AND") {
		p.next()
		d, err := p.not()
		if err != nil {
			return nil, err
		}
		c = andCond{c, d}
	}
	return c, nil
}

func (p *parser) not() (cond, error) {
	if p.isKeyword("NOT") {
		p.next()
		c, err := p.not()
		if err != nil {
			return nil, err
		}
		return notCond{c}, nil
	}
	return p.primary()
}

func (p *parser) primary() (cond, error) {
	t := p.peek()
	if t.kind == tLParen {
		p.next()
		c, err := p.or()
		if err != nil {
			return nil, err
		}
		if r := p.next(); r.kind != tRParen {
			return nil, p.errorf(r, "expected ) but found %q", r.text)
		}
		return c, nil
	}
	if t.kind == tName && p.toks[p.i+1].kind == tLParen {
		switch t.text {
		case "attribute_exists", "attribute_not_exists":
			p.next()
			p.next()
			path, err := p.path()
			if err != nil {
				return nil, err
			}
			if r := p.next(); r.kind != tRParen {
				return nil, p.errorf(r, "expected ) but found %q", r.text)
			}
			return existsCond{path: path, want: t.text == "attribute_exists"}, nil
		}
		return nil, p.unsupported(t, "function "+t.text)
	}
	a, err := p.operand()
	if err != nil {
		return nil, err
	}
	op := p.next()
	switch {
	case op.kind == tOp && op.text != "+" && op.text != "-":
		b, err := p.operand()
		if err != nil {
			return nil, err
		}
		return cmpCond{op: op.text, a: a, b: b}, nil
	case op.kind == tName && strings.EqualFold(op.text, "IN"):
		if l := p.next(); l.kind != tLParen {
			return nil, p.errorf(l, "expected ( after IN but found %q", l.text)
		}
		var list []operand
		for {
			o, err := p.operand()
			if err != nil {
				return nil, err
			}
			list = append(list, o)
			sep := p.next()
			if sep.kind == tRParen {
				break
			}
			if sep.kind != tComma {
				return nil, p.errorf(sep, "expected , or ) in IN list but found %q", sep.text)
			}
		}
		return inCond{a: a, list: list}, nil
	case op.kind == tName && strings.EqualFold(op.text, "BETWEEN"):
		return nil, p.unsupported(op, "BETWEEN")
	case op.kind == tEOF:
		return nil, p.errorf(op, "expected a comparison after the operand")
	}
	if op.kind == tOther || op.kind == tOp {
		return nil, p.unsupported(op, fmt.Sprintf("%q", op.text))
	}
	return nil, p.errorf(op, "expected a comparison operator but found %q", op.text)
}

func (p *parser) operand() (operand, error) {
	t := p.peek()
	if t.kind == tValue {
		p.next()
		v, ok := p.env.values[t.text]
		if !ok {
			return operand{}, fmt.Errorf("invalid expression %q: an expression attribute value used in expression is not defined; attribute value: %s", p.src, t.text)
		}
		p.env.usedVals[t.text] = true
		return operand{value: v, isVal: true}, nil
	}
	path, err := p.path()
	if err != nil {
		return operand{}, err
	}
	return operand{path: path}, nil
}

func (p *parser) path() (string, error) {
	t := p.next()
	var name string
	switch t.kind {
	case tPlaceholder:
		n, ok := p.env.names[t.text]
		if !ok {
			return "", fmt.Errorf("invalid expression %q: an expression attribute name used in expression is not defined; attribute name: %s", p.src, t.text)
		}
		p.env.usedNames[t.text] = true
		name = n
	case tName:
		if keywords[strings.ToUpper(t.text)] {
			return "", p.errorf(t, "attribute name is a reserved keyword: %s (use an ExpressionAttributeNames placeholder)", t.text)
		}
		name = t.text
	case tEOF:
		return "", p.errorf(t, "expected an attribute name")
	default:
		return "", p.errorf(t, "expected an attribute name but found %q", t.text)
	}
	if n := p.peek(); n.kind == tOther && (n.text == "." || n.text == "[") {
		return "", p.unsupported(n, "nested attribute path")
	}
	return name, nil
}

// update is a parsed update expression.
type update struct {
	set    []setAction
	remove []string
}

type setAction struct {
	path string
	// ifNotExists: keep the current value when path exists.
	ifNotExists bool
	value       operand
}

func (u update) apply(it Item) {
	for _, s := range u.set {
		if s.ifNotExists {
			if _, ok := it[s.path]; ok {
				continue
			}
		}
		if v, ok := s.value.get(it); ok {
			it[s.path] = v
		}
	}
	for _, r := range u.remove {
		delete(it, r)
	}
}

// parseUpdate parses an update expression.
func parseUpdate(src string, e *env) (update, error) {
	toks, err := lex(src)
	if err != nil {
		return update{}, fmt.Errorf("invalid expression %q: %w", src, err)
	}
	p := &parser{toks: toks, env: e, src: src}
	var u update
	seen := map[string]bool{}
	for p.peek().kind != tEOF {
		t := p.next()
		if t.kind != tName {
			return update{}, p.errorf(t, "expected SET or REMOVE but found %q", t.text)
		}
		clause := strings.ToUpper(t.text)
		if seen[clause] {
			return update{}, p.errorf(t, "the %s section can only be used once in an update expression", clause)
		}
		seen[clause] = true
		switch clause {
		case "SET":
			for {
				a, err := p.setAction()
				if err != nil {
					return update{}, err
				}
				u.set = append(u.set, a)
				if p.peek().kind != tComma {
					break
				}
				p.next()
			}
		case "REMOVE":
			for {
				path, err := p.path()
				if err != nil {
					return update{}, err
				}
				u.remove = append(u.remove, path)
				if p.peek().kind != tComma {
					break
				}
				p.next()
			}
		case "ADD", "DELETE":
			return update{}, p.unsupported(t, clause+" clause")
		default:
			return update{}, p.errorf(t, "expected SET or REMOVE but found %q", t.text)
		}
	}
	if len(u.set) == 0 && len(u.remove) == 0 {
		return update{}, fmt.Errorf("invalid expression %q: the update expression is empty", src)
	}
	paths := map[string]bool{}
	for _, s := range u.set {
		if paths[s.path] {
			return update{}, fmt.Errorf("invalid expression %q: two document paths overlap: %s", src, s.path)
		}
		paths[s.path] = true
	}
	for _, r := range u.remove {
		if paths[r] {
			return update{}, fmt.Errorf("invalid expression %q: two document paths overlap: %s", src, r)
		}
		paths[r] = true
	}
	return u, nil
}

func (p *parser) setAction() (setAction, error) {
	path, err := p.path()
	if err != nil {
		return setAction{}, err
	}
	if eq := p.next(); eq.kind != tOp || eq.text != "=" {
		return setAction{}, p.errorf(eq, "expected = in SET action but found %q", eq.text)
	}
	var a setAction
	a.path = path
	t := p.peek()
	if t.kind == tName && p.toks[p.i+1].kind == tLParen {
		if t.text != "if_not_exists" {
			return setAction{}, p.unsupported(t, "function "+t.text)
		}
		p.next()
		p.next()
		inner, err := p.path()
		if err != nil {
			return setAction{}, err
		}
		if inner != path {
			return setAction{}, p.unsupported(t, "if_not_exists on a different path than the one SET")
		}
		if c := p.next(); c.kind != tComma {
			return setAction{}, p.errorf(c, "expected , in if_not_exists but found %q", c.text)
		}
		v, err := p.operand()
		if err != nil {
			return setAction{}, err
		}
		if r := p.next(); r.kind != tRParen {
			return setAction{}, p.errorf(r, "expected ) but found %q", r.text)
		}
		a.ifNotExists = true
		a.value = v
		return a, nil
	}
	v, err := p.operand()
	if err != nil {
		return setAction{}, err
	}
	if n := p.peek(); n.kind == tOp && (n.text == "+" || n.text == "-") {
		return setAction{}, p.unsupported(n, "arithmetic "+n.text)
	}
	a.value = v
	return a, nil
}
