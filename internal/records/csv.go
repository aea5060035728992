package records

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
)

// PandasIndexColumn is the header pandas gives an unnamed index column
// written by DataFrame.to_csv and read back. Readers drop it.
const PandasIndexColumn = "Unnamed: 0"

// ReadCSV streams the records of a CSV file (RFC 4180: comma separated,
// double-quoted fields may hold commas, doubled quotes and newlines).
//
// The first non-blank line is the header. A leading UTF-8 byte order mark
// is ignored. A column named "Unnamed: 0", or an empty first header cell
// (both are pandas index columns), is dropped; any other empty or
// duplicate column name is an error. Blank lines are skipped. If the header
// has no record_id column one is appended, with ids generated as described
// at ReadOptions. Records share one *Header.
//
// Rows with the wrong number of fields or an empty record_id are yielded as
// a *RowError naming source and line, and reading continues; any other
// error (reading r, an unusable header, a quote left open at the end of the
// input, a record over MaxLineBytes) is yielded once and ends the stream.
// An input without a header line is such an error.
//
// Quoting is lenient where pandas is: a quote inside an unquoted field, or
// text after a closing quote, is kept literally. Record.Values are
// substrings of one string per row, so a kept record holds its whole row.
//
// ReadCSV returns an iterator rather than a Reader type: range-over-func
// costs nothing measurable here and lets callers stop early with break.
func ReadCSV(r io.Reader, source string, opts ReadOptions) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		p := csvParser{lr: newLineReader(r)}
		if _, err := p.record(); err != nil {
			if err == io.EOF {
				err = errors.New("no header line: a CSV input must start with a line naming its columns")
			}
			yield(Record{}, fmt.Errorf("%s: read CSV header: %w", source, err))
			return
		}
		raw := make([]string, len(p.ends))
		s, prev := string(p.rec), 0
		for i, e := range p.ends {
			raw[i], prev = s[prev:e], e+p.sep
		}
		h, dest, idIdx, err := csvHeader(raw)
		if err != nil {
			yield(Record{}, fmt.Errorf("%s: CSV header: %w", source, err))
			return
		}
		ids := idGen{prefix: opts.IDPrefix}
		var wbuf []byte
		for row := 1; ; row++ {
			line, err := p.record()
			if err == io.EOF {
				return
			}
			if err != nil {
				var re *RowError
				if errors.As(err, &re) {
					re.Source = source
				} else {
					err = fmt.Errorf("%s line %d: %w", source, p.lr.line, err)
				}
				yield(Record{}, err)
				return
			}
			if len(p.ends) != len(dest) {
				err := &RowError{Source: source, Line: line, Err: fmt.Errorf("row has %d fields but the header has %d: quote fields that contain commas", len(p.ends), len(dest))}
				if !yield(Record{}, err) {
					return
				}
				continue
			}
			vals := make([]string, h.Len())
			s, prev := string(p.rec), 0
			for i, e := range p.ends {
				if d := dest[i]; d >= 0 {
					vals[d] = s[prev:e]
				}
				prev = e + p.sep
			}
			if idIdx < 0 {
				vals[len(vals)-1] = ids.id(row)
			} else if blank(vals[idIdx]) {
				if !yield(Record{}, &RowError{Source: source, Line: line, Err: errEmptyID}) {
					return
				}
				continue
			}
			var src string
			wbuf, src = where(wbuf, source, "line", line)
			if !yield(Record{Header: h, Values: vals, Source: src}, nil) {
				return
			}
		}
	}
}

// csvHeader builds the header from the raw header fields: dest maps each
// field to its value index (-1: dropped), idIdx is the record_id index or
// -1 when ids are generated (then it is the last column).
func csvHeader(raw []string) (h *Header, dest []int, idIdx int, err error) {
	dest = make([]int, len(raw))
	names := make([]string, 0, len(raw)+1)
	for i, n := range raw {
		if n == PandasIndexColumn || (i == 0 && n == "" && len(raw) > 1) {
			dest[i] = -1
			continue
		}
		dest[i] = len(names)
		names = append(names, n)
	}
	h, err = NewHeader(names)
	if err != nil {
		return nil, nil, 0, err
	}
	idIdx, ok := h.Index(IDColumn)
	if !ok {
		h, idIdx = h.With(IDColumn), -1
	}
	return h, dest, idIdx, nil
}

// csvParser splits CSV records. After record returns, rec holds the
// unquoted bytes of all fields, each followed by sep separator bytes
// (1 for the comma of an unquoted line, 0 after unquoting), and ends the
// end offset of each field; both are valid until the next call.
type csvParser struct {
	lr   *lineReader
	rec  []byte
	buf  []byte
	ends []int
	sep  int
}

// record reads the next non-blank record and returns its first line.
func (p *csvParser) record() (int, error) {
	for {
		line, err := p.lr.next()
		if err != nil {
			return 0, err
		}
		start := p.lr.line
		body := trimEOL(line)
		if len(body) == 0 {
			continue
		}
		if bytes.IndexByte(body, '"') < 0 {
			p.rec, p.ends, p.sep = body, p.ends[:0], 1
			for off := 0; ; {
				i := bytes.IndexByte(body[off:], ',')
				if i < 0 {
					p.ends = append(p.ends, len(body))
					break
				}
				off += i
				p.ends = append(p.ends, off)
				off++
			}
			return start, nil
		}
		return start, p.quoted(line, start)
	}
}

// quoted parses a record that contains quotes, reading more lines while a
// quoted field is open.
func (p *csvParser) quoted(line []byte, start int) error {
	buf, ends := p.buf[:0], p.ends[:0]
	inQuote, fieldStart := false, true
	for {
		n := len(line)
		for i := 0; i < n; i++ {
			c := line[i]
			if inQuote {
				if c != '"' {
					buf = append(buf, c)
				} else if i+1 < n && line[i+1] == '"' {
					buf = append(buf, '"')
					i++
				} else {
					inQuote = false
				}
				continue
			}
			switch {
			case c == ',':
				ends = append(ends, len(buf))
				fieldStart = true
				continue
			case c == '"' && fieldStart:
				inQuote = true
			case c == '\n' || (c == '\r' && i == n-2 && line[n-1] == '\n'):
				i = n // end of record
				continue
			default:
				buf = append(buf, c)
			}
			fieldStart = false
		}
		if !inQuote {
			break
		}
		if len(buf) > MaxLineBytes {
			return &RowError{Line: start, Err: fmt.Errorf("quoted field is longer than %d MiB: look for a missing closing quote", MaxLineBytes>>20)}
		}
		var err error
		line, err = p.lr.next()
		if err == io.EOF {
			return &RowError{Line: start, Err: errors.New("quoted field is not closed before the end of the input: add the missing closing quote")}
		}
		if err != nil {
			return err
		}
	}
	p.buf, p.rec, p.ends, p.sep = buf, buf, append(ends, len(buf)), 0
	return nil
}
