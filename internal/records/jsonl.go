package records

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"unicode/utf8"
)

// ReadJSONL streams the records of a JSON Lines file: one JSON object per
// line, blank lines skipped, lines up to MaxLineBytes.
//
// The first object's keys, in their order, are the header (plus record_id,
// appended and generated as described at ReadOptions when absent). Values
// become text: strings as they are, numbers and booleans as their JSON
// text, null as "", objects and arrays as compact JSON. A later object
// without a key of the header gets "" for it.
//
// A line that is not one JSON object, repeats a key, has a key that is not
// in the header, has an empty record_id, or is longer than MaxLineBytes is
// yielded as a *RowError naming source and line, and reading continues. An
// unusable first line or an error reading r is yielded once and ends the
// stream; an input with no object at all yields nothing.
func ReadJSONL(r io.Reader, source string, opts ReadOptions) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		lr := newLineReader(r)
		var (
			h     *Header
			idIdx int
			genID bool
			seen  []bool
			ids   = idGen{prefix: opts.IDPrefix}
			wbuf  []byte
			p     jsonlParser
			row   int
		)
		for {
			line, err := lr.next()
			if err == io.EOF {
				return
			}
			if err != nil && err != errLineTooLong {
				yield(Record{}, fmt.Errorf("%s line %d: %w", source, lr.line+1, err))
				return
			}
			n := lr.line
			if err == nil {
				if line = bytes.TrimSpace(line); len(line) == 0 {
					continue
				}
				err = p.parse(line)
			}
			row++
			if h == nil {
				if err == nil {
					h, err = NewHeader(p.keys)
				}
				if err != nil {
					yield(Record{}, fmt.Errorf("%s line %d: the first object names the columns and cannot be read: %w", source, n, err))
					return
				}
				if genID = !h.Has(IDColumn); genID {
					h = h.With(IDColumn)
				}
				idIdx, _ = h.Index(IDColumn)
				seen = make([]bool, h.Len())
			}
			var vals []string
			if err == nil {
				vals, err = p.values(h, seen, genID)
			}
			if err == nil {
				if genID {
					vals[idIdx] = ids.id(row)
				} else if blank(vals[idIdx]) {
					err = errEmptyID
				}
			}
			if err != nil {
				if !yield(Record{}, &RowError{Source: source, Line: n, Err: err}) {
					return
				}
				continue
			}
			var src string
			wbuf, src = where(wbuf, source, "line", n)
			if !yield(Record{Header: h, Values: vals, Source: src}, nil) {
				return
			}
		}
	}
}

// jsonlParser parses one line into keys and text values, reusing its slices.
type jsonlParser struct {
	keys []string
	vals []string
	cb   bytes.Buffer
}

var errNotObject = errors.New("line is not a JSON object: write one {...} object per line")

// values places the parsed values by header column. genID says the
// record_id column is generated, so an input key of that name is foreign.
func (p *jsonlParser) values(h *Header, seen []bool, genID bool) ([]string, error) {
	vals := make([]string, h.Len())
	clear(seen)
	for i, k := range p.keys {
		j, ok := h.Index(k)
		if !ok || (genID && k == IDColumn) {
			return nil, fmt.Errorf("key %q is not among the keys of the first line: give every line the same keys", k)
		}
		if seen[j] {
			return nil, fmt.Errorf("key %q appears twice in the object", k)
		}
		seen[j] = true
		vals[j] = p.vals[i]
	}
	return vals, nil
}

// parse reads one line holding one JSON object. It validates the line with
// json.Valid and then walks the top-level object by hand, which keeps key
// order and is an order of magnitude faster than json.Decoder tokens.
func (p *jsonlParser) parse(line []byte) error {
	p.keys, p.vals = p.keys[:0], p.vals[:0]
	if !json.Valid(line) {
		var v any
		err := json.Unmarshal(line, &v) // for a precise message
		if err == nil {
			err = errors.New("not a JSON value")
		}
		return fmt.Errorf("invalid JSON: %w", err)
	}
	i := skipWS(line, 0)
	if line[i] != '{' {
		return errNotObject
	}
	i = skipWS(line, i+1)
	for line[i] != '}' {
		end := stringEnd(line, i)
		key, err := p.text(line[i:end])
		if err != nil {
			return fmt.Errorf("invalid JSON key: %w", err)
		}
		i = skipWS(line, skipWS(line, end)+1) // past ':'
		end = valueEnd(line, i)
		v, err := p.text(line[i:end])
		if err != nil {
			return fmt.Errorf("invalid JSON value for key %q: %w", key, err)
		}
		p.keys = append(p.keys, key)
		p.vals = append(p.vals, v)
		if i = skipWS(line, end); line[i] == ',' {
			i = skipWS(line, i+1)
		}
	}
	return nil
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the JSON string starting at b[i],
// which must be valid.
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// valueEnd returns the index just past the valid JSON value starting at b[i].
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = stringEnd(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
		i++
	}
	return i
}

// text renders one JSON value as record text.
func (p *jsonlParser) text(raw []byte) (string, error) {
	switch raw[0] {
	case '"':
		body := raw[1 : len(raw)-1]
		if bytes.IndexByte(body, '\\') < 0 && utf8.Valid(body) {
			return string(body), nil // the common case, including big base64 strings
		}
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case 'n':
		return "", nil
	case '{', '[':
		p.cb.Reset()
		if err := json.Compact(&p.cb, raw); err != nil {
			return "", err
		}
		return p.cb.String(), nil
	default:
		return string(raw), nil
	}
}
