package records

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// MaxLineBytes bounds one physical line of CSV or JSONL input (and one CSV
// record, which may span lines inside quotes). 64 MiB leaves room for
// base64-encoded images in a single field.
const MaxLineBytes = 64 << 20

// ReadOptions configure ReadCSV, ReadJSONL and ReadParquet. The zero value
// is ready to use.
type ReadOptions struct {
	// IDPrefix is prepended verbatim to the record ids generated for inputs
	// without a record_id column. Ids are IDPrefix + "r" + the 1-based data
	// row number zero-padded to 8 digits (r00000001), which is unique within
	// one source; give each file of a multi-file input its own prefix (for
	// example "f0003") to keep ids unique across files.
	IDPrefix string
}

// RowError reports one input row that could not become a record. Readers
// yield it and carry on with the next row, so callers can count and report
// failed rows; any other error a reader yields ends the stream.
type RowError struct {
	// Source names the input (file name or S3 URI).
	Source string
	// Line is the 1-based physical line where the row starts (CSV, JSONL)
	// or the 1-based row number (parquet).
	Line int
	// Err says what is wrong with the row.
	Err error
}

// Error names the source and line.
func (e *RowError) Error() string {
	return fmt.Sprintf("%s line %d: %v", e.Source, e.Line, e.Err)
}

// Unwrap returns the underlying error.
func (e *RowError) Unwrap() error { return e.Err }

// errLineTooLong is returned by lineReader for a line over MaxLineBytes.
var errLineTooLong = fmt.Errorf("line is longer than %d MiB: split the input or shorten the field", MaxLineBytes>>20)

// errEmptyID is the row error for a blank record_id value.
var errEmptyID = errors.New("empty " + IDColumn + ": give every row an id, or drop the column so ids are generated")

// lineReader reads physical lines of up to MaxLineBytes without a
// per-line allocation; lines that fit the bufio buffer alias it.
type lineReader struct {
	br   *bufio.Reader
	long []byte
	line int // physical lines read so far
	max  int
}

func newLineReader(r io.Reader) *lineReader {
	br := bufio.NewReaderSize(r, 64<<10)
	// A UTF-8 byte order mark (Excel writes one) is not part of the first
	// column's name.
	if b, err := br.Peek(3); err == nil && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		_, _ = br.Discard(3)
	}
	return &lineReader{br: br, max: MaxLineBytes}
}

// next returns the next line including its '\n', valid until the next call.
// It returns io.EOF at the end, errLineTooLong (after skipping the rest of
// the line) for an oversized line, and other read errors as they come.
func (lr *lineReader) next() ([]byte, error) {
	line, err := lr.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		lr.long = append(lr.long[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = lr.br.ReadSlice('\n')
			if len(lr.long)+len(line) > lr.max {
				for err == bufio.ErrBufferFull {
					_, err = lr.br.ReadSlice('\n')
				}
				lr.line++
				lr.long = nil // do not keep a huge buffer alive
				if err != nil && err != io.EOF {
					return nil, err
				}
				return nil, errLineTooLong
			}
			lr.long = append(lr.long, line...)
		}
		line = lr.long
	}
	if len(line) == 0 {
		if err == nil {
			err = io.EOF
		}
		return nil, err
	}
	lr.line++
	if err == io.EOF {
		err = nil // the last line has no newline; EOF comes on the next call
	}
	return line, err
}

// trimEOL removes a trailing "\n" or "\r\n".
func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

// idGen makes the deterministic ids of inputs without a record_id column.
type idGen struct {
	prefix string
	buf    []byte
}

func (g *idGen) id(row int) string {
	b := append(g.buf[:0], g.prefix...)
	b = append(b, 'r')
	var d [20]byte
	digits := strconv.AppendInt(d[:0], int64(row), 10)
	for i := len(digits); i < 8; i++ {
		b = append(b, '0')
	}
	b = append(b, digits...)
	g.buf = b
	return string(b)
}

// where makes a Record.Source like "inputs/a.csv line 12".
func where(buf []byte, source, unit string, n int) ([]byte, string) {
	buf = append(buf[:0], source...)
	buf = append(buf, ' ')
	buf = append(buf, unit...)
	buf = append(buf, ' ')
	buf = strconv.AppendInt(buf, int64(n), 10)
	return buf, string(buf)
}

// blank reports whether an id value is missing.
func blank(s string) bool { return strings.TrimSpace(s) == "" }
