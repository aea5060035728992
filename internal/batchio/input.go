// Package batchio reads and writes the files of Amazon Bedrock batch
// inference jobs — JSONL input lines, JSONL output lines and the job's
// manifest.json.out — and packs a stream of request lines into job files
// that respect Bedrock's per-job limits.
package batchio

import (
	"github.com/bbo-dev/bbo/internal/jsontext"

	"bufio"
	"fmt"
	"io"
)

// AppendInputLine appends one Bedrock batch input line,
// {"recordId":"<id>","modelInput":<modelInput>} and a newline, to dst.
// The id is escaped as a JSON string (invalid UTF-8 becomes U+FFFD);
// modelInput must already be one JSON value and is copied as is.
func AppendInputLine(dst []byte, recordID string, modelInput []byte) []byte {
	dst = append(dst, `{"recordId":`...)
	dst = jsontext.AppendString(dst, recordID)
	dst = append(dst, `,"modelInput":`...)
	dst = append(dst, modelInput...)
	return append(dst, "}\n"...)
}

// Writer writes Bedrock batch input lines through a buffer and counts the
// records and bytes written. Call Flush when done.
type Writer struct {
	bw      *bufio.Writer
	line    []byte
	records int
	bytes   int64
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{bw: bufio.NewWriterSize(w, 256<<10)}
}

// Write writes one input line (see AppendInputLine).
func (w *Writer) Write(recordID string, modelInput []byte) error {
	w.line = AppendInputLine(w.line[:0], recordID, modelInput)
	return w.WriteLine(w.line)
}

// WriteLine writes a line already built by AppendInputLine.
func (w *Writer) WriteLine(line []byte) error {
	n, err := w.bw.Write(line)
	w.bytes += int64(n)
	if err != nil {
		return fmt.Errorf("write batch input line %d: %w", w.records+1, err)
	}
	w.records++
	return nil
}

// Records is the number of lines written.
func (w *Writer) Records() int { return w.records }

// Bytes is the number of bytes written.
func (w *Writer) Bytes() int64 { return w.bytes }

// Flush writes buffered data to the underlying writer.
func (w *Writer) Flush() error {
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("flush batch input: %w", err)
	}
	return nil
}
