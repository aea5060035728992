package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
)

// maxConfigSize bounds what DecodeJobRequest and DecodePipeline read: a
// configuration is a few kilobytes, so anything this big is a wrong file.
const maxConfigSize = 1 << 20

// Kind tells the two kinds of configuration apart.
type Kind int

const (
	// KindJobRequest is a single-stage job request.
	KindJobRequest Kind = iota + 1
	// KindPipeline is a multi-stage pipeline configuration.
	KindPipeline
)

// String returns "job request" or "pipeline".
func (k Kind) String() string {
	switch k {
	case KindJobRequest:
		return "job request"
	case KindPipeline:
		return "pipeline"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// DetectKind tells a pipeline configuration (it has "stages" or
// "pipeline_name") from a job request (any other JSON object).
func DetectKind(data []byte) (Kind, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return 0, errors.New("not a JSON object: a configuration is a job request or a pipeline object")
	}
	kind := KindJobRequest
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return 0, fmt.Errorf("invalid JSON at %s: %v", position(data, dec.InputOffset()), jsonMessage(err))
		}
		if k := tok.(string); k == "stages" || k == "pipeline_name" {
			kind = KindPipeline
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return 0, fmt.Errorf("invalid JSON at %s: %v", position(data, dec.InputOffset()), jsonMessage(err))
		}
	}
	return kind, nil
}

// DecodeJobRequest reads one job request strictly: unknown fields, values of
// the wrong type, malformed JSON and trailing data are reported together in
// a *DecodeError. It does not validate or normalize the request.
func DecodeJobRequest(r io.Reader) (*JobRequest, error) {
	var j JobRequest
	if err := decodeStrict(r, &j); err != nil {
		return nil, err
	}
	return &j, nil
}

// DecodePipeline reads one pipeline configuration strictly, like
// DecodeJobRequest; problems inside a stage name its index and name.
func DecodePipeline(r io.Reader) (*Pipeline, error) {
	var p Pipeline
	if err := decodeStrict(r, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

func decodeStrict(r io.Reader, v any) error {
	data, err := io.ReadAll(io.LimitReader(r, maxConfigSize+1))
	if err != nil {
		return fmt.Errorf("read configuration: %w", err)
	}
	if len(data) > maxConfigSize {
		return &DecodeError{Problems: []Problem{{Stage: -1, Message: fmt.Sprintf("the configuration is larger than %d bytes: is this the right file?", maxConfigSize)}}}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return &DecodeError{Problems: []Problem{{Stage: -1, Message: "the configuration is empty: give a JSON object"}}}
	}
	w := &walker{dec: json.NewDecoder(bytes.NewReader(data)), data: data}
	w.dec.UseNumber()
	if err := w.value(reflect.TypeOf(v).Elem(), ""); err != nil {
		w.syntax(err)
	} else if _, err := w.dec.Token(); err != io.EOF {
		w.add("", fmt.Sprintf("unexpected data after the configuration at %s: a file holds one JSON object", position(data, w.dec.InputOffset())))
	}
	if len(w.problems) > 0 {
		nameStages(data, w.problems)
		return &DecodeError{Problems: w.problems}
	}
	if err := json.Unmarshal(data, v); err != nil {
		// The walk accepts only what Unmarshal accepts; reaching this is a bug.
		return fmt.Errorf("decode configuration: %w", err)
	}
	return nil
}

// walker checks a JSON document token by token against a Go type, so every
// problem is found with its path (encoding/json stops at the first one and
// does not say where unknown fields are).
type walker struct {
	dec      *json.Decoder
	data     []byte
	problems []Problem
}

func (w *walker) add(path, msg string) {
	p := Problem{Stage: -1, Field: path, Message: msg}
	if rest, ok := strings.CutPrefix(path, "stages["); ok {
		if i := strings.IndexByte(rest, ']'); i > 0 {
			if n, err := strconv.Atoi(rest[:i]); err == nil {
				p.Stage, p.Field = n, strings.TrimPrefix(rest[i+1:], ".")
			}
		}
	}
	w.problems = append(w.problems, p)
}

func (w *walker) syntax(err error) {
	off := w.dec.InputOffset()
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off = se.Offset
	}
	msg := jsonMessage(err)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		msg = "the file ends in the middle of a value"
	}
	w.add("", fmt.Sprintf("invalid JSON at %s: %s", position(w.data, off), msg))
}

// value checks the next JSON value against t (nil: anything goes). It
// returns only syntax errors, which end the walk.
func (w *walker) value(t reflect.Type, path string) error {
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch tok := tok.(type) {
	case json.Delim:
		if tok == '[' {
			var elem reflect.Type
			if t != nil && t.Kind() == reflect.Slice {
				elem = t.Elem()
			} else if t != nil {
				w.add(path, "expected "+want(t)+", got a list")
			}
			for i := 0; w.dec.More(); i++ {
				if err := w.value(elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
			_, err := w.dec.Token()
			return err
		}
		return w.object(t, path)
	case string:
		if t != nil && t.Kind() != reflect.String {
			w.add(path, fmt.Sprintf("expected %s, got a string (%s)", want(t), quoteShort(tok)))
		}
	case json.Number:
		w.number(t, path, tok)
	case bool:
		if t != nil && t.Kind() != reflect.Bool {
			w.add(path, fmt.Sprintf("expected %s, got %v", want(t), tok))
		}
	case nil:
		// null leaves the zero value, as encoding/json does.
	}
	return nil
}

func (w *walker) number(t reflect.Type, path string, n json.Number) {
	if t == nil {
		return
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil || reflect.Zero(t).OverflowInt(i) {
			w.add(path, fmt.Sprintf("expected a whole number, got %s", quoteShort(string(n))))
		}
	case reflect.Float32, reflect.Float64:
	default:
		w.add(path, fmt.Sprintf("expected %s, got a number (%s)", want(t), quoteShort(string(n))))
	}
}

func (w *walker) object(t reflect.Type, path string) error {
	var fields map[string]reflect.Type
	var names []string
	switch {
	case t == nil:
	case t.Kind() == reflect.Struct:
		fields = map[string]reflect.Type{}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" || name == "" {
				continue
			}
			fields[name] = f.Type
			names = append(names, name)
		}
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String:
	default:
		w.add(path, "expected "+want(t)+", got an object")
		t = nil
	}
	seen := map[string]bool{}
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return err
		}
		key := tok.(string) // object keys are always strings
		var (
			sub  string
			elem reflect.Type
		)
		switch {
		case t == nil:
			sub = join(path, key)
		case fields != nil:
			sub = join(path, key)
			ft, ok := fields[key]
			if !ok {
				w.add(sub, "unknown field"+suggest(key, names))
			}
			elem = ft
		default:
			sub = join(path, key)
			elem = t.Elem()
		}
		if t != nil && seen[key] {
			w.add(sub, "appears twice: keep one")
		}
		seen[key] = true
		if err := w.value(elem, sub); err != nil {
			return err
		}
	}
	_, err := w.dec.Token()
	return err
}

// join appends a key to a path: .key for identifiers, ["key"] otherwise.
func join(path, key string) string {
	plain := key != ""
	for _, c := range key {
		if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			plain = false
			break
		}
	}
	switch {
	case !plain:
		return fmt.Sprintf("%s[%q]", path, key)
	case path == "":
		return key
	default:
		return path + "." + key
	}
}

// want describes the JSON a Go type takes.
func want(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		return "a list"
	case reflect.Map:
		return "an object of " + strings.TrimPrefix(want(t.Elem()), "a ") + " values"
	}
	return "an object"
}

// nameStages fills in stage names for decode problems, best effort: the
// document may be broken anywhere.
func nameStages(data []byte, problems []Problem) {
	var doc struct {
		Stages []struct {
			StageName any `json:"stage_name"`
		} `json:"stages"`
	}
	_ = json.Unmarshal(data, &doc) // partial results are what we want
	for i := range problems {
		p := &problems[i]
		if p.Stage >= 0 && p.Stage < len(doc.Stages) {
			if name, ok := doc.Stages[p.Stage].StageName.(string); ok {
				p.StageName = name
			}
		}
	}
}

// position gives the 1-based line and column of byte offset off.
func position(data []byte, off int64) string {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line := 1 + bytes.Count(before, []byte("\n"))
	col := int(off) + 1
	if nl := bytes.LastIndexByte(before, '\n'); nl >= 0 {
		col = int(off) - nl
	}
	return fmt.Sprintf("line %d column %d", line, col)
}

// jsonMessage strips encoding/json's "json: " prefix.
func jsonMessage(err error) string {
	return strings.TrimPrefix(err.Error(), "json: ")
}

// quoteShort quotes s for a message, cutting it if long.
func quoteShort(s string) string {
	const max = 40
	if len(s) > max {
		s = s[:max] + "…"
	}
	return strconv.Quote(s)
}
