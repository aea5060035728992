package prompts

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/bbo-dev/bbo/internal/records"
)

// Schema types: how a model's response is turned into output columns.
const (
	// SchemaJSON parses the response as JSON and evaluates one JSONPath per column.
	SchemaJSON = "json"
	// SchemaRegex searches the response with one regular expression per column
	// and keeps the first capture group.
	SchemaRegex = "regex"
)

// FieldSpec is one output column of a schema: the column name and either a
// JSONPath (json schemas) or a regular expression with at least one capture
// group (regex schemas).
type FieldSpec struct {
	Column string
	Path   string
	re     *regexp.Regexp
}

// Regexp returns the compiled expression of a regex schema field, or nil for
// a json field. It is compiled case-insensitive and multi-line (flags i and
// m: ^ and $ match at line boundaries), as the original applied them.
func (f FieldSpec) Regexp() *regexp.Regexp { return f.re }

// Schema says how to extract output columns from a model's response. Fields
// keep the order in which the template file lists them, so output tables
// have a stable, author-chosen column order.
type Schema struct {
	Type   string // SchemaJSON or SchemaRegex
	Fields []FieldSpec
}

// Columns returns the output column names in order.
func (s *Schema) Columns() []string {
	if s == nil {
		return nil
	}
	cols := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		cols[i] = f.Column
	}
	return cols
}

// Template is one entry of the library: either a prompt (Text, optional
// Schema) or an expansion rule (Expansion lists the prompt ids it fans a
// record out to).
type Template struct {
	ID        string
	Text      string
	Schema    *Schema
	Expansion []string
	// File is the template file the entry was loaded from, for messages.
	File string

	segs    []segment
	columns []string
}

// segment is a piece of a compiled template: literal text, or (when col is
// not empty) the value of a record column.
type segment struct {
	lit string
	col string
}

// IsExpansion reports whether the entry is an expansion rule rather than a
// prompt.
func (t *Template) IsExpansion() bool { return t.Expansion != nil }

// Columns returns the record columns the template's placeholders name, in
// order of first use. The caller must not modify it.
func (t *Template) Columns() []string { return t.columns }

// MissingColumnError is returned by Render and AppendRender when the record
// lacks a column the template needs.
type MissingColumnError struct {
	Record   string   // the record, as records.Record.Where names it
	Template string   // the template id
	Column   string   // the missing column
	Columns  []string // the columns the record has
}

// Error names the record, template and column, and lists the record's columns.
func (e *MissingColumnError) Error() string {
	have := "none"
	if len(e.Columns) > 0 {
		have = strings.Join(e.Columns, ", ")
	}
	return fmt.Sprintf("%s: prompt %q needs column %q, which the record does not have (its columns: %s); "+
		"add or rename the column (column_mappings in a pipeline stage) or pick a prompt that fits the data",
		e.Record, e.Template, e.Column, have)
}

// Render fills the template's placeholders from the record's columns.
func (t *Template) Render(r records.Record) (string, error) {
	b, err := t.AppendRender(make([]byte, 0, t.sizeHint(r)), r)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func (t *Template) sizeHint(r records.Record) int {
	n := 0
	for _, s := range t.segs {
		n += len(s.lit)
		if s.col != "" {
			if v, ok := r.Get(s.col); ok {
				n += len(v)
			}
		}
	}
	return n
}

// AppendRender appends the rendered prompt to dst and returns the extended
// buffer. It does not allocate beyond growing dst. On error it returns dst
// as it was, so the caller can reuse the buffer.
func (t *Template) AppendRender(dst []byte, r records.Record) ([]byte, error) {
	if t.IsExpansion() {
		return dst, fmt.Errorf("%s: %q is an expansion rule, not a prompt: render each of its prompts (%s) instead",
			r.Where(), t.ID, strings.Join(t.Expansion, ", "))
	}
	start := len(dst)
	for i := range t.segs {
		s := &t.segs[i]
		if s.col == "" {
			dst = append(dst, s.lit...)
			continue
		}
		var (
			j  int
			ok bool
		)
		if r.Header != nil {
			j, ok = r.Header.Index(s.col)
		}
		if !ok || j >= len(r.Values) {
			return dst[:start], t.missing(r, s.col)
		}
		dst = append(dst, r.Values[j]...)
	}
	return dst, nil
}

func (t *Template) missing(r records.Record, col string) error {
	var have []string
	if r.Header != nil {
		have = r.Header.Names()
		if len(have) > len(r.Values) {
			have = have[:len(r.Values)]
		}
	}
	return &MissingColumnError{Record: r.Where(), Template: t.ID, Column: col, Columns: have}
}

// compile splits template text into literal and column segments. {name}
// is a placeholder, {{ and }} are literal braces; anything else in braces,
// an unclosed { and a lone } are errors, all of which are returned.
func compile(text string) (segs []segment, columns []string, problems []string) {
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			segs = append(segs, segment{lit: lit.String()})
			lit.Reset()
		}
	}
	seen := map[string]bool{}
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '{' && i+1 < len(text) && text[i+1] == '{':
			lit.WriteByte('{')
			i += 2
		case c == '{':
			end := strings.IndexByte(text[i+1:], '}')
			if end < 0 {
				problems = append(problems, fmt.Sprintf("unclosed '{' at %s: close the placeholder with '}' or write '{{' for a literal brace", position(text, i)))
				i = len(text)
				continue
			}
			name := text[i+1 : i+1+end]
			if !validName(name) {
				problems = append(problems, fmt.Sprintf("%s at %s is not a placeholder: a placeholder is {column} with a name of letters, digits and '_' not starting with a digit; write '{{' and '}}' for literal braces",
					quoteShort("{"+name+"}"), position(text, i)))
			} else {
				flush()
				segs = append(segs, segment{col: name})
				if !seen[name] {
					seen[name] = true
					columns = append(columns, name)
				}
			}
			i += end + 2
		case c == '}' && i+1 < len(text) && text[i+1] == '}':
			lit.WriteByte('}')
			i += 2
		case c == '}':
			problems = append(problems, fmt.Sprintf("single '}' at %s: write '}}' for a literal brace", position(text, i)))
			i++
		default:
			// Copy the run up to the next brace in one go.
			j := strings.IndexAny(text[i:], "{}")
			if j < 0 {
				j = len(text) - i
			}
			lit.WriteString(text[i : i+j])
			i += j
		}
	}
	flush()
	return segs, columns, problems
}

// validName reports whether s is [A-Za-z_][A-Za-z0-9_]*.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// position gives the 1-based line and column of byte offset off in text.
func position(text string, off int) string {
	line := 1 + strings.Count(text[:off], "\n")
	col := off + 1
	if nl := strings.LastIndexByte(text[:off], '\n'); nl >= 0 {
		col = off - nl
	}
	return fmt.Sprintf("line %d column %d", line, col)
}

// quoteShort quotes s for a message, cutting it if long.
func quoteShort(s string) string {
	const max = 40
	if len(s) > max {
		s = s[:max] + "…"
	}
	return fmt.Sprintf("%q", s)
}
