package asl

import (
	"errors"
	"fmt"
	"strings"
)

// template is a compiled payload template (Parameters, ItemSelector,
// ResultSelector): a JSON value where keys ending in ".$" hold a path or an
// intrinsic function call evaluated at run time.
type template struct {
	kind   tmplKind
	static any         // tmplStatic
	fields []tmplField // tmplObject
	items  []*template // tmplArray
	path   *Path       // tmplPath
	expr   *Expr       // tmplExpr
	field  string      // the key as written, for error messages
}

type tmplKind uint8

const (
	tmplStatic tmplKind = iota
	tmplObject
	tmplArray
	tmplPath
	tmplExpr
)

type tmplField struct {
	name string // output key, without ".$"
	key  string // key as written
	val  *template
}

// compileTemplate compiles v; errors name the key that is wrong.
func compileTemplate(v any) (*template, error) {
	switch t := v.(type) {
	case map[string]any:
		tp := &template{kind: tmplObject}
		dynamic := false
		for _, k := range sortedKeys(t) {
			x := t[k]
			if strings.HasSuffix(k, ".$") {
				s, ok := x.(string)
				if !ok {
					return nil, fmt.Errorf("field %q: a key ending in .$ needs a string path or intrinsic function, got %s", k, typeName(x))
				}
				f := &template{field: k}
				switch {
				case strings.HasPrefix(s, "$"):
					p, err := ParsePath(s)
					if err != nil {
						return nil, fmt.Errorf("field %q: %w", k, err)
					}
					f.kind, f.path = tmplPath, p
				case strings.HasPrefix(s, "States."):
					e, err := ParseIntrinsic(s)
					if err != nil {
						return nil, fmt.Errorf("field %q: %w", k, err)
					}
					f.kind, f.expr = tmplExpr, e
				default:
					return nil, fmt.Errorf("field %q: %q is neither a path ($...) nor an intrinsic function (States....)", k, s)
				}
				tp.fields = append(tp.fields, tmplField{name: strings.TrimSuffix(k, ".$"), key: k, val: f})
				dynamic = true
				continue
			}
			sub, err := compileTemplate(x)
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", k, err)
			}
			if sub.kind != tmplStatic {
				dynamic = true
			}
			tp.fields = append(tp.fields, tmplField{name: k, key: k, val: sub})
		}
		if !dynamic {
			return &template{kind: tmplStatic, static: v}, nil
		}
		return tp, nil
	case []any:
		tp := &template{kind: tmplArray}
		dynamic := false
		for i, x := range t {
			sub, err := compileTemplate(x)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			if sub.kind != tmplStatic {
				dynamic = true
			}
			tp.items = append(tp.items, sub)
		}
		if !dynamic {
			return &template{kind: tmplStatic, static: v}, nil
		}
		return tp, nil
	}
	return &template{kind: tmplStatic, static: v}, nil
}

// eval builds the payload. what names the field ("Parameters") in errors.
func (t *template) eval(what string, input, ctxObj any) (any, *Error) {
	switch t.kind {
	case tmplStatic:
		return t.static, nil
	case tmplObject:
		out := make(map[string]any, len(t.fields))
		for _, f := range t.fields {
			v, err := f.val.eval(what, input, ctxObj)
			if err != nil {
				return nil, err
			}
			out[f.name] = v
		}
		return out, nil
	case tmplArray:
		out := make([]any, len(t.items))
		for i, it := range t.items {
			v, err := it.eval(what, input, ctxObj)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case tmplPath:
		root, rootName := input, "input"
		if t.path.Context() {
			root, rootName = ctxObj, "context object"
		}
		v, err := t.path.Get(root)
		if err != nil {
			msg := err.Error()
			var pe *pathError
			if errors.As(err, &pe) {
				msg = pe.describe(rootName)
			}
			return nil, newErr(ErrParameterPathFailure, "%s field %q: %s", what, t.field, msg)
		}
		return v, nil
	case tmplExpr:
		v, err := t.expr.Eval(input, ctxObj)
		if err != nil {
			return nil, newErr(ErrIntrinsicFailure, "%s field %q: %v", what, t.field, err)
		}
		return v, nil
	}
	return nil, newErr(ErrRuntime, "%s: bad template", what)
}
