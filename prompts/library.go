// Package prompts loads the prompt templates bbo renders for each record —
// data files under prompts/templates, embedded into every binary — and
// renders them against records.
package prompts

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/PaesslerAG/jsonpath"
)

//go:embed templates/*.json
var embedded embed.FS

// Library is a loaded, validated set of templates. It is immutable and safe
// for concurrent use.
type Library struct {
	byID map[string]*Template
	ids  []string
}

var defaultLibrary = sync.OnceValue(func() *Library {
	sub, err := fs.Sub(embedded, "templates")
	if err != nil {
		panic(err)
	}
	lib, err := Load(sub)
	if err != nil {
		// The embedded files are part of the binary; tests load them, so
		// this is a programming error, never a user's.
		panic("prompts: embedded templates are invalid: " + err.Error())
	}
	return lib
})

// Default returns the library of templates shipped in prompts/templates.
func Default() *Library { return defaultLibrary() }

// Get returns the template with the given id.
func (l *Library) Get(id string) (*Template, bool) {
	t, ok := l.byID[id]
	return t, ok
}

// IDs returns every template id, sorted. The caller must not modify it.
func (l *Library) IDs() []string { return l.ids }

// LoadProblem is one thing wrong with the template files.
type LoadProblem struct {
	File    string // the template file, relative to the loaded file system
	ID      string // the template id, "" for file-level problems
	Message string
}

// String renders the problem as one line: `file: template "id": message`.
func (p LoadProblem) String() string {
	if p.ID == "" {
		return p.File + ": " + p.Message
	}
	return fmt.Sprintf("%s: template %q: %s", p.File, p.ID, p.Message)
}

// LoadError lists every problem found while loading template files.
type LoadError struct {
	Problems []LoadProblem
}

// Error returns one line per problem.
func (e *LoadError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// reservedColumns are written by postprocessing itself; a schema field of
// the same name would clash with them in the output table.
var reservedColumns = []string{"record_id", "response", "embedding"}

// Load reads every *.json file of fsys (recursively) as a template file:
// a JSON object from template id to entry. It validates all of them and
// returns a *LoadError listing every problem at once.
func Load(fsys fs.FS) (*Library, error) {
	l := &loader{lib: &Library{byID: map[string]*Template{}}}
	var files []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			l.add(p, "", fmt.Sprintf("cannot read: %v", err))
			return nil
		}
		if !d.IsDir() && strings.EqualFold(path.Ext(p), ".json") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list template files: %w", err)
	}
	if len(files) == 0 && len(l.problems) == 0 {
		l.add(".", "", "no template files (*.json) found")
	}
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			l.add(f, "", fmt.Sprintf("cannot read: %v", err))
			continue
		}
		l.file(f, data)
	}
	l.checkExpansions()
	if len(l.problems) > 0 {
		return nil, &LoadError{Problems: l.problems}
	}
	for id := range l.lib.byID {
		l.lib.ids = append(l.lib.ids, id)
	}
	sort.Strings(l.lib.ids)
	return l.lib, nil
}

type loader struct {
	lib      *Library
	problems []LoadProblem
}

func (l *loader) add(file, id, msg string) {
	l.problems = append(l.problems, LoadProblem{File: file, ID: id, Message: msg})
}

// file decodes one template file. Keys are read as tokens so duplicate ids
// within the file are caught rather than silently overwritten.
func (l *loader) file(name string, data []byte) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		l.add(name, "", "not a JSON object: a template file maps template ids to templates, {\"my_prompt\": \"text with {column}\"}")
		return
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			l.add(name, "", invalidJSON(data, dec, err))
			return
		}
		id := tok.(string) // object keys are always strings
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			l.add(name, id, invalidJSON(data, dec, err))
			return
		}
		if !validName(id) {
			l.add(name, id, "invalid id: use letters, digits and '_', not starting with a digit")
			continue
		}
		if prev, dup := l.lib.byID[id]; dup {
			if prev.File == name {
				l.add(name, id, "defined twice in this file: ids must be unique")
			} else {
				l.add(name, id, fmt.Sprintf("also defined in %s: ids must be unique across template files", prev.File))
			}
			continue
		}
		if t := l.entry(name, id, raw); t != nil {
			l.lib.byID[id] = t
		}
	}
	if _, err := dec.Token(); err != nil {
		l.add(name, "", invalidJSON(data, dec, err))
		return
	}
	if _, err := dec.Token(); err != io.EOF {
		l.add(name, "", "unexpected data after the top-level object")
	}
}

// rawEntry is the object form of an entry.
type rawEntry struct {
	Template      *string         `json:"template"`
	OutputSchema  json.RawMessage `json:"output_schema"`
	ExpansionRule bool            `json:"expansion_rule"`
	Prompts       []string        `json:"prompts"`
}

type rawSchema struct {
	Type   string          `json:"type"`
	Fields json.RawMessage `json:"fields"`
}

// entry builds a template from one entry; problems are recorded and nil is
// returned for an unusable entry (a template with problems is still returned
// so expansion checks do not pile up follow-on errors).
func (l *loader) entry(file, id string, raw json.RawMessage) *Template {
	t := &Template{ID: id, File: file}
	var text string
	if err := json.Unmarshal(raw, &text); err == nil {
		t.Text = text
		l.compile(t)
		return t
	}
	var e rawEntry
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		l.add(file, id, fmt.Sprintf("not a template: %v; an entry is a string, {\"template\": ..., \"output_schema\": ...} or {\"expansion_rule\": true, \"prompts\": [...]}", jsonMessage(err)))
		return t
	}
	if e.ExpansionRule {
		if e.Template != nil || e.OutputSchema != nil {
			l.add(file, id, "an expansion rule has only \"expansion_rule\" and \"prompts\": move the template text into a prompt of its own")
		}
		if len(e.Prompts) == 0 {
			l.add(file, id, "expansion rule lists no prompts: set \"prompts\" to the ids to run for each record")
		}
		t.Expansion = append([]string{}, e.Prompts...)
		return t
	}
	if e.Prompts != nil {
		l.add(file, id, "\"prompts\" is only for expansion rules: add \"expansion_rule\": true or remove \"prompts\"")
	}
	if e.Template == nil {
		l.add(file, id, "missing \"template\": give the prompt text")
		return t
	}
	t.Text = *e.Template
	l.compile(t)
	if e.OutputSchema != nil && string(e.OutputSchema) != "null" {
		t.Schema = l.schema(file, id, e.OutputSchema)
	}
	return t
}

func (l *loader) compile(t *Template) {
	if strings.TrimSpace(t.Text) == "" {
		l.add(t.File, t.ID, "template text is empty")
		return
	}
	segs, cols, problems := compile(t.Text)
	for _, p := range problems {
		l.add(t.File, t.ID, p)
	}
	t.segs, t.columns = segs, cols
}

func (l *loader) schema(file, id string, raw json.RawMessage) *Schema {
	var rs rawSchema
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rs); err != nil {
		l.add(file, id, fmt.Sprintf("output_schema: %v; write {\"type\": \"json\"|\"regex\", \"fields\": {\"column\": \"...\"}}", jsonMessage(err)))
		return nil
	}
	s := &Schema{Type: rs.Type}
	switch rs.Type {
	case SchemaJSON, SchemaRegex:
	case "":
		l.add(file, id, "output_schema: missing \"type\": use \"json\" or \"regex\"")
	default:
		l.add(file, id, fmt.Sprintf("output_schema: unknown type %s: use \"json\" or \"regex\"", quoteShort(rs.Type)))
	}
	fields, err := orderedStrings(rs.Fields)
	if err != nil {
		l.add(file, id, "output_schema.fields: "+err.Error())
		return s
	}
	if len(fields) == 0 {
		l.add(file, id, "output_schema.fields is empty: map each output column to a JSONPath or regex")
	}
	for _, f := range fields {
		where := fmt.Sprintf("output_schema.fields.%s", f.Column)
		switch {
		case !validName(f.Column):
			l.add(file, id, fmt.Sprintf("output_schema.fields: column %s: use letters, digits and '_', not starting with a digit", quoteShort(f.Column)))
		case slices.Contains(reservedColumns, f.Column):
			l.add(file, id, fmt.Sprintf("%s: %q is written by bbo itself (reserved: %s): choose another column name", where, f.Column, strings.Join(reservedColumns, ", ")))
		}
		switch rs.Type {
		case SchemaJSON:
			if msg := checkJSONPath(f.Path); msg != "" {
				l.add(file, id, where+": "+msg)
			}
		case SchemaRegex:
			re, err := regexp.Compile("(?im)" + f.Path)
			switch {
			case err != nil:
				l.add(file, id, fmt.Sprintf("%s: invalid regular expression: %v", where, err))
			case re.NumSubexp() < 1:
				l.add(file, id, where+": the expression has no capture group: wrap the part to keep in ( )")
			default:
				f.re = re
			}
		}
		s.Fields = append(s.Fields, f)
	}
	return s
}

// checkJSONPath returns "" for a plausible JSONPath, else what is wrong.
func checkJSONPath(p string) (msg string) {
	if !strings.HasPrefix(p, "$") {
		return fmt.Sprintf("JSONPath %s must start with '$', for example \"$.category\"", quoteShort(p))
	}
	if _, err := jsonpath.New(p); err != nil {
		return fmt.Sprintf("invalid JSONPath %s: %v", quoteShort(p), err)
	}
	return ""
}

// orderedStrings decodes a JSON object of string values keeping key order.
func orderedStrings(raw json.RawMessage) ([]FieldSpec, error) {
	if raw == nil || string(raw) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("must be an object mapping output column to JSONPath or regex")
	}
	var out []FieldSpec
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		col := tok.(string)
		var v string
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("column %s: value must be a string (a JSONPath or regex)", quoteShort(col))
		}
		if seen[col] {
			return nil, fmt.Errorf("column %s is listed twice", quoteShort(col))
		}
		seen[col] = true
		out = append(out, FieldSpec{Column: col, Path: v})
	}
	return out, nil
}

// checkExpansions verifies that every expansion rule names existing prompts.
func (l *loader) checkExpansions() {
	ids := make([]string, 0, len(l.lib.byID))
	for id := range l.lib.byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		t := l.lib.byID[id]
		seen := map[string]bool{}
		for _, p := range t.Expansion {
			target, ok := l.lib.byID[p]
			switch {
			case seen[p]:
				l.add(t.File, id, fmt.Sprintf("prompt %q is listed twice: each prompt makes one record per input record", p))
			case !ok:
				l.add(t.File, id, fmt.Sprintf("expansion rule names unknown prompt %s: define it or fix the id", quoteShort(p)))
			case target.IsExpansion():
				l.add(t.File, id, fmt.Sprintf("expansion rule names %q, which is itself an expansion rule: list prompts only", p))
			}
			seen[p] = true
		}
	}
}

// invalidJSON describes a syntax error in a template file with its line
// and column.
func invalidJSON(data []byte, dec *json.Decoder, err error) string {
	off := dec.InputOffset()
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off = se.Offset
	}
	msg := jsonMessage(err)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		msg = "the file ends in the middle of a value"
	}
	off = min(max(off, 0), int64(len(data)))
	return fmt.Sprintf("invalid JSON at %s: %s", position(string(data), int(off)), msg)
}

// jsonMessage strips encoding/json's "json: " prefix.
func jsonMessage(err error) string {
	return strings.TrimPrefix(err.Error(), "json: ")
}
