// Package extract turns a model's text response into column values, with
// JSONPath (for JSON responses) or regular expressions, tolerating the
// fences and prose models put around their JSON.
package extract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/PaesslerAG/gval"
	"github.com/PaesslerAG/jsonpath"
)

// Value is one extracted value: Text, or Null when nothing matched.
type Value struct {
	Text string
	Null bool
}

// Kinds of extractors accepted by Compile.
const (
	KindJSON  = "json"
	KindRegex = "regex"
)

// Extractor extracts a fixed list of columns from model responses. It is
// immutable after Compile and safe for concurrent use.
type Extractor struct {
	kind    string
	columns []string
	json    []jsonColumn
	regex   []*regexp.Regexp
	// needNumbers / needFloats say which decodings of the document the
	// library-evaluated columns need.
	needNumbers, needFloats bool
}

type jsonColumn struct {
	path string
	// simple is the key chain of a plain dotted path, evaluated without
	// gval; nil when the path needs the library.
	simple []string
	isRoot bool // the path is "$"
	eval   gval.Evaluable
	// multi: the path can match several values (wildcards, recursive
	// descent, unions, slices, filters); its matches come as a list.
	multi bool
	// floats: the path has filter or script expressions, which compare
	// numbers, so it is evaluated on a document decoded with float64
	// numbers instead of json.Number.
	floats bool
}

// Compile builds an extractor for kind "json" (paths are JSONPath
// expressions, see github.com/PaesslerAG/jsonpath, with gval's full
// operator set inside filters and scripts) or "regex" (paths are Go
// regular expressions with at least one capture group, matched
// case-insensitively with ^ and $ matching at line breaks; the value is the
// first group of the first match). columns and paths are parallel.
func Compile(kind string, columns, paths []string) (*Extractor, error) {
	if len(columns) != len(paths) {
		return nil, fmt.Errorf("extract: %d columns but %d paths: give one path per column", len(columns), len(paths))
	}
	e := &Extractor{kind: kind, columns: append([]string(nil), columns...)}
	switch kind {
	case KindJSON:
		for i, p := range paths {
			c, err := compileJSONPath(p)
			if err != nil {
				return nil, fmt.Errorf("extract: column %q: JSONPath %q: %w", columns[i], p, err)
			}
			if c.simple == nil && !c.isRoot {
				if c.floats {
					e.needFloats = true
				} else {
					e.needNumbers = true
				}
			}
			e.json = append(e.json, c)
		}
	case KindRegex:
		for i, p := range paths {
			re, err := regexp.Compile("(?im)" + p)
			if err != nil {
				return nil, fmt.Errorf("extract: column %q: regex %q: %w", columns[i], p, err)
			}
			if re.NumSubexp() < 1 {
				return nil, fmt.Errorf("extract: column %q: regex %q has no capture group: wrap the part to extract in (...)", columns[i], p)
			}
			e.regex = append(e.regex, re)
		}
	default:
		return nil, fmt.Errorf("extract: unknown output schema type %q: use %q or %q", kind, KindJSON, KindRegex)
	}
	return e, nil
}

// pathLanguage is JSONPath plus gval's operators, so that filters such as
// $.items[?(@.score > 0.5)] work.
var pathLanguage = gval.NewLanguage(gval.Full(), jsonpath.Language())

func compileJSONPath(p string) (jsonColumn, error) {
	c := jsonColumn{path: p}
	if strings.TrimSpace(p) == "" {
		return c, errors.New("empty path: use e.g. $.field")
	}
	if !strings.HasPrefix(strings.TrimSpace(p), "$") {
		return c, errors.New("a JSONPath starts with $ (e.g. $.field)")
	}
	ev, err := pathLanguage.NewEvaluable(p)
	if err != nil {
		return c, err
	}
	c.eval = ev
	if p == "$" {
		c.isRoot = true
		return c, nil
	}
	c.simple, _ = parseSimplePath(p)
	c.multi, c.floats = classifyPath(p)
	return c, nil
}

// classifyPath scans a JSONPath outside its string literals: multi when it
// has a wildcard, recursive descent, union, slice or filter; floats when it
// has a filter or script expression.
func classifyPath(p string) (multi, floats bool) {
	depth := 0
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '"', '\'', '`':
			for i++; i < len(p) && p[i] != c; i++ {
				if p[i] == '\\' {
					i++
				}
			}
		case '*':
			multi = true
		case '.':
			if i+1 < len(p) && p[i+1] == '.' {
				multi = true
			}
		case '[':
			depth++
			if j := skipSpace(p, i+1); j < len(p) && p[j] == '?' {
				multi, floats = true, true
			}
		case ']':
			depth--
		case ',', ':':
			if depth > 0 {
				multi = true
			}
		case '(':
			floats = true
		}
	}
	return multi, floats
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// Columns returns the column names in order.
func (e *Extractor) Columns() []string { return e.columns }

// Extract extracts every column from a model response into dst (reused,
// one Value per column, in order) and returns it.
//
// JSON: the response's JSON is located with FindJSON. Strings come out as
// they are, numbers as their JSON text (as written by the model: 0.90 stays
// 0.90, except for paths with filter or script expressions, whose matches
// are decoded as float64), booleans as true/false, objects and arrays as
// compact JSON (keys sorted, HTML characters not escaped); JSON null and no
// match are Null. A path that can match several values (wildcards etc.)
// gives its single match as that value and several as a JSON array; the
// order of matches over object members is the library's (unspecified). If
// the response holds no JSON, every value is Null and the error is a
// *NoJSONError.
//
// Regex: the first capture group of the first match, or Null.
func (e *Extractor) Extract(text string, dst []Value) ([]Value, error) {
	dst = dst[:0]
	if e.kind == KindRegex {
		for _, re := range e.regex {
			m := re.FindStringSubmatchIndex(text)
			if m == nil || m[2] < 0 {
				dst = append(dst, Value{Null: true})
				continue
			}
			dst = append(dst, Value{Text: text[m[2]:m[3]]})
		}
		return dst, nil
	}
	js, truncated, ok := findJSON(text)
	if !ok {
		for range e.json {
			dst = append(dst, Value{Null: true})
		}
		return dst, &NoJSONError{Snippet: snippet(text), Truncated: truncated}
	}
	var doc, fdoc any
	var docErr error
	if e.needNumbers {
		doc, docErr = decode(js, true)
	}
	if e.needFloats && docErr == nil {
		fdoc, docErr = decode(js, false)
	}
	if docErr != nil {
		// Unreachable: FindJSON only returns valid JSON.
		return dst, fmt.Errorf("extract: decode JSON: %w", docErr)
	}
	var err error
	for i := range e.json {
		c := &e.json[i]
		var v Value
		switch {
		case c.simple != nil:
			v, err = simpleLookup(js, c.simple)
		case c.isRoot:
			v, err = renderRaw(js)
		case c.floats:
			v, err = evalPath(c, fdoc)
		default:
			v, err = evalPath(c, doc)
		}
		if err != nil {
			return dst, fmt.Errorf("extract: column %q: %w", e.columns[i], err)
		}
		dst = append(dst, v)
	}
	return dst, nil
}

func decode(js string, numbers bool) (any, error) {
	d := json.NewDecoder(strings.NewReader(js))
	if numbers {
		d.UseNumber()
	}
	var v any
	err := d.Decode(&v)
	return v, err
}

// evalPath evaluates a JSONPath with the library.
func evalPath(c *jsonColumn, doc any) (Value, error) {
	r, err := c.eval(context.Background(), doc)
	if err != nil {
		// The library reports a missing key or index as an error: no match.
		return Value{Null: true}, nil
	}
	if c.multi {
		if list, ok := r.([]any); ok {
			switch len(list) {
			case 0:
				return Value{Null: true}, nil
			case 1:
				return render(list[0])
			}
		}
	}
	return render(r)
}

// render turns a decoded JSON value into a Value.
func render(v any) (Value, error) {
	switch x := v.(type) {
	case nil:
		return Value{Null: true}, nil
	case string:
		return Value{Text: x}, nil
	case json.Number:
		return Value{Text: string(x)}, nil
	case bool:
		return Value{Text: strconv.FormatBool(x)}, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return Value{}, fmt.Errorf("render JSON value: %w", err)
	}
	return Value{Text: string(bytes.TrimRight(buf.Bytes(), "\n"))}, nil
}

// renderRaw renders raw JSON text exactly as render renders its decoding.
func renderRaw(raw string) (Value, error) {
	v, err := decode(raw, true)
	if err != nil {
		return Value{}, err
	}
	return render(v)
}
