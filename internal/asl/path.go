package asl

import (
	"fmt"
	"strconv"
	"strings"
)

// segKind is the kind of one step of a Path.
type segKind uint8

const (
	segField    segKind = iota // .name or ['name']
	segIndex                   // [3] or [-1]
	segWildcard                // .* or [*]
)

type segment struct {
	kind  segKind
	field string
	index int
}

// Path is a compiled JSONPath in the subset Step Functions accepts: a root
// ($ for the state input, $$ for the context object) followed by .name,
// ['name'], [index] and the wildcards .* and [*]. A Path without wildcards
// is a reference path: it names a single node and may be used as ResultPath.
type Path struct {
	src     string
	context bool // rooted at $$
	segs    []segment
}

// String returns the path as written.
func (p *Path) String() string { return p.src }

// IsReference reports whether p names exactly one node (no wildcards).
func (p *Path) IsReference() bool {
	for _, s := range p.segs {
		if s.kind == segWildcard {
			return false
		}
	}
	return true
}

// Context reports whether p is rooted at the context object ($$).
func (p *Path) Context() bool { return p.context }

// ParsePath compiles a Step Functions path. Errors say which character is wrong.
func ParsePath(s string) (*Path, error) {
	p := &Path{src: s}
	if !strings.HasPrefix(s, "$") {
		return nil, fmt.Errorf("path %q: must start with $", s)
	}
	i := 1
	if strings.HasPrefix(s, "$$") {
		p.context = true
		i = 2
	}
	for i < len(s) {
		switch s[i] {
		case '.':
			i++
			if i < len(s) && s[i] == '.' {
				return nil, fmt.Errorf("path %q: recursive descent (..) is not supported", s)
			}
			if i < len(s) && s[i] == '*' {
				p.segs = append(p.segs, segment{kind: segWildcard})
				i++
				continue
			}
			start := i
			for i < len(s) && s[i] != '.' && s[i] != '[' {
				switch s[i] {
				case ' ', '\t', '\n', '\r', ']', '\'', '"', '(', ')', ',':
					return nil, fmt.Errorf("path %q: unexpected %q at offset %d in a field name", s, s[i], i)
				}
				i++
			}
			if i == start {
				return nil, fmt.Errorf("path %q: empty field name at offset %d", s, start)
			}
			p.segs = append(p.segs, segment{kind: segField, field: s[start:i]})
		case '[':
			i++
			if i >= len(s) {
				return nil, fmt.Errorf("path %q: unterminated [", s)
			}
			switch c := s[i]; {
			case c == '*':
				if i+1 >= len(s) || s[i+1] != ']' {
					return nil, fmt.Errorf("path %q: expected ] after [* at offset %d", s, i+1)
				}
				p.segs = append(p.segs, segment{kind: segWildcard})
				i += 2
			case c == '\'' || c == '"':
				name, n, err := scanQuoted(s, i)
				if err != nil {
					return nil, fmt.Errorf("path %q: %w", s, err)
				}
				i = n
				if i >= len(s) || s[i] != ']' {
					return nil, fmt.Errorf("path %q: expected ] at offset %d", s, i)
				}
				i++
				p.segs = append(p.segs, segment{kind: segField, field: name})
			case c == '-' || (c >= '0' && c <= '9'):
				start := i
				i++
				for i < len(s) && s[i] >= '0' && s[i] <= '9' {
					i++
				}
				if i >= len(s) || s[i] != ']' {
					return nil, fmt.Errorf("path %q: expected ] after index at offset %d (filters and slices are not supported)", s, i)
				}
				n, err := strconv.Atoi(s[start:i])
				if err != nil {
					return nil, fmt.Errorf("path %q: bad index %q", s, s[start:i])
				}
				i++
				p.segs = append(p.segs, segment{kind: segIndex, index: n})
			default:
				return nil, fmt.Errorf("path %q: unsupported selector at offset %d (filters and slices are not supported)", s, i)
			}
		default:
			return nil, fmt.Errorf("path %q: unexpected %q at offset %d", s, s[i], i)
		}
	}
	return p, nil
}

// scanQuoted reads a quoted name starting at s[i] (the quote) with backslash
// escapes, returning the name and the offset after the closing quote.
func scanQuoted(s string, i int) (string, int, error) {
	q := s[i]
	var b strings.Builder
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			if j+1 >= len(s) {
				return "", 0, fmt.Errorf("dangling \\ at offset %d", j)
			}
			j++
			b.WriteByte(s[j])
		case q:
			return b.String(), j + 1, nil
		default:
			b.WriteByte(s[j])
		}
	}
	return "", 0, fmt.Errorf("unterminated quote starting at offset %d", i)
}

// errNotFound is returned by Get when the path selects nothing.
type pathError struct {
	path string
	at   string
}

func (e *pathError) Error() string {
	if e.at == "" {
		return fmt.Sprintf("path %s not found", e.path)
	}
	return fmt.Sprintf("path %s not found (%s)", e.path, e.at)
}

// describe says "path $.x not found in input (no field ...)".
func (e *pathError) describe(root string) string {
	if e.at == "" {
		return fmt.Sprintf("path %s not found in %s", e.path, root)
	}
	return fmt.Sprintf("path %s not found in %s (%s)", e.path, root, e.at)
}

// Get selects the node p names in v. A path with wildcards returns the
// matches as an array (possibly empty); a reference path that names nothing
// is an error.
func (p *Path) Get(v any) (any, error) {
	if p.IsReference() {
		cur := v
		for i, s := range p.segs {
			next, ok := step(cur, s)
			if !ok {
				return nil, &pathError{path: p.src, at: describeMiss(p.segs[:i+1], cur)}
			}
			cur = next
		}
		return cur, nil
	}
	cur := []any{v}
	for _, s := range p.segs {
		var next []any
		for _, c := range cur {
			if s.kind == segWildcard {
				switch t := c.(type) {
				case []any:
					next = append(next, t...)
				case map[string]any:
					for _, k := range sortedKeys(t) {
						next = append(next, t[k])
					}
				}
				continue
			}
			if n, ok := step(c, s); ok {
				next = append(next, n)
			}
		}
		cur = next
	}
	if cur == nil {
		cur = []any{}
	}
	return cur, nil
}

func step(v any, s segment) (any, bool) {
	switch s.kind {
	case segField:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		n, ok := m[s.field]
		return n, ok
	case segIndex:
		a, ok := v.([]any)
		if !ok {
			return nil, false
		}
		i := s.index
		if i < 0 {
			i += len(a)
		}
		if i < 0 || i >= len(a) {
			return nil, false
		}
		return a[i], true
	}
	return nil, false
}

func describeMiss(prefix []segment, parent any) string {
	last := prefix[len(prefix)-1]
	where := "$" + segsString(prefix[:len(prefix)-1])
	switch last.kind {
	case segField:
		if _, ok := parent.(map[string]any); !ok {
			return fmt.Sprintf("%s is %s, not an object", where, typeName(parent))
		}
		return fmt.Sprintf("no field %q in %s", last.field, where)
	case segIndex:
		if a, ok := parent.([]any); ok {
			return fmt.Sprintf("index %d out of range for %s of length %d", last.index, where, len(a))
		}
		return fmt.Sprintf("%s is %s, not an array", where, typeName(parent))
	}
	return ""
}

func segsString(segs []segment) string {
	var b strings.Builder
	for _, s := range segs {
		switch s.kind {
		case segField:
			b.WriteString("." + s.field)
		case segIndex:
			fmt.Fprintf(&b, "[%d]", s.index)
		case segWildcard:
			b.WriteString("[*]")
		}
	}
	return b.String()
}

// Set returns a copy of root with v placed at the reference path p, creating
// objects for missing fields. Only the containers along the path are copied,
// so root is never modified. "$" returns v itself.
func (p *Path) Set(root, v any) (any, error) {
	if !p.IsReference() {
		return nil, fmt.Errorf("path %s: a result path must not contain wildcards", p.src)
	}
	return setAt(root, p.segs, v, p.src)
}

func setAt(cur any, segs []segment, v any, src string) (any, error) {
	if len(segs) == 0 {
		return v, nil
	}
	s := segs[0]
	switch s.kind {
	case segField:
		var m map[string]any
		switch t := cur.(type) {
		case map[string]any:
			m = make(map[string]any, len(t)+1)
			for k, x := range t {
				m[k] = x
			}
		case nil:
			m = map[string]any{}
		default:
			return nil, fmt.Errorf("path %s: cannot set field %q in %s", src, s.field, typeName(cur))
		}
		child, err := setAt(m[s.field], segs[1:], v, src)
		if err != nil {
			return nil, err
		}
		m[s.field] = child
		return m, nil
	case segIndex:
		a, ok := cur.([]any)
		if !ok {
			return nil, fmt.Errorf("path %s: cannot index %s", src, typeName(cur))
		}
		i := s.index
		if i < 0 {
			i += len(a)
		}
		if i < 0 || i >= len(a) {
			return nil, fmt.Errorf("path %s: index %d out of range for array of length %d", src, s.index, len(a))
		}
		c := append([]any(nil), a...)
		child, err := setAt(c[i], segs[1:], v, src)
		if err != nil {
			return nil, err
		}
		c[i] = child
		return c, nil
	}
	return nil, fmt.Errorf("path %s: wildcard in result path", src)
}
