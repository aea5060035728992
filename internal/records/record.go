// Package records holds the one record type that flows through bbo — from input
// readers, through prompt rendering and Bedrock batch files, to the output
// parquet — and the streaming readers and writers for it.
package records

import (
	"fmt"
	"strings"
)

// IDColumn is the column that identifies a record. Readers fill it in
// deterministically when the input has none, so reruns produce the same ids.
const IDColumn = "record_id"

// Header is the ordered list of column names shared by every record read
// from one source. It is immutable after construction and safe to share.
type Header struct {
	names []string
	index map[string]int
}

// NewHeader builds a header from column names. Empty or duplicate names are
// an error, because a record could not address such a column unambiguously.
func NewHeader(names []string) (*Header, error) {
	h := &Header{names: make([]string, len(names)), index: make(map[string]int, len(names))}
	for i, n := range names {
		if strings.TrimSpace(n) == "" {
			return nil, fmt.Errorf("column %d has an empty name: give every column a header", i+1)
		}
		if j, dup := h.index[n]; dup {
			return nil, fmt.Errorf("column %q appears twice (columns %d and %d): column names must be unique", n, j+1, i+1)
		}
		h.names[i] = n
		h.index[n] = i
	}
	return h, nil
}

// MustHeader is NewHeader for column lists fixed in code; it panics on a
// programming error, never on user input.
func MustHeader(names ...string) *Header {
	h, err := NewHeader(names)
	if err != nil {
		panic(err)
	}
	return h
}

// Names returns the column names in order. The caller must not modify it.
func (h *Header) Names() []string { return h.names }

// Len is the number of columns.
func (h *Header) Len() int { return len(h.names) }

// Index returns the position of a column.
func (h *Header) Index(name string) (int, bool) {
	i, ok := h.index[name]
	return i, ok
}

// Has reports whether the header has the column.
func (h *Header) Has(name string) bool {
	_, ok := h.index[name]
	return ok
}

// With returns a header with extra columns appended (existing names are kept
// once, in their original position).
func (h *Header) With(extra ...string) *Header {
	names := append([]string(nil), h.names...)
	for _, n := range extra {
		if !h.Has(n) && !contains(names[len(h.names):], n) {
			names = append(names, n)
		}
	}
	nh, err := NewHeader(names)
	if err != nil {
		panic(err) // unreachable: names are unique by construction
	}
	return nh
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Record is one row of input or output. Values are positional against
// Header; every value is text (numbers and nested values from parquet or
// JSONL are rendered as their JSON text), which is what prompt templates and
// Bedrock batch files need.
type Record struct {
	Header *Header
	Values []string
	// Source says where the record came from, for error messages:
	// "s3://bucket/inputs/a.csv line 12" or "images/0003.png".
	Source string
}

// Get returns the value of a column and whether the record has that column.
func (r Record) Get(col string) (string, bool) {
	if r.Header == nil {
		return "", false
	}
	i, ok := r.Header.index[col]
	if !ok || i >= len(r.Values) {
		return "", false
	}
	return r.Values[i], true
}

// ID returns the record's id (the record_id column), or "" if it has none.
func (r Record) ID() string {
	v, _ := r.Get(IDColumn)
	return v
}

// Map returns the record as a column → value map (for templates and tests;
// hot paths use Get).
func (r Record) Map() map[string]string {
	m := make(map[string]string, len(r.Values))
	for i, n := range r.Header.names {
		if i < len(r.Values) {
			m[n] = r.Values[i]
		}
	}
	return m
}

// Where names the record for error messages: its id, or its source.
func (r Record) Where() string {
	id := r.ID()
	switch {
	case id != "" && r.Source != "":
		return fmt.Sprintf("record %q (%s)", id, r.Source)
	case id != "":
		return fmt.Sprintf("record %q", id)
	case r.Source != "":
		return r.Source
	default:
		return "record"
	}
}
