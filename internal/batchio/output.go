package batchio

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"
	"unicode/utf8"
)

// MaxLineBytes is the longest output line ReadOutput accepts (image jobs
// echo the base64 image in modelInput).
const MaxLineBytes = 64 << 20

// OutputLine is one line of a Bedrock batch output file. Exactly one of
// ModelOutput and Error is set. modelInput is skipped, not kept.
type OutputLine struct {
	RecordID string
	// ModelOutput is the raw JSON of modelOutput. It points into the
	// reader's buffer and is valid only until the loop body returns:
	// copy it to keep it.
	ModelOutput []byte
	Error       *RecordError
}

// RecordError is the error Bedrock reports for one record, from an
// {"errorCode": 400, "errorMessage": "..."} object or a plain string.
type RecordError struct {
	Code    int // 0 when Bedrock gave none
	Message string
}

func (e *RecordError) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("Bedrock error %d: %s", e.Code, e.Message)
	}
	return "Bedrock error: " + e.Message
}

// LineError is a malformed output line. Reading goes on after it; the
// caller records the record (RecordID, when it could be read) as failed.
type LineError struct {
	Source   string
	Line     int
	RecordID string // "" if unknown
	Err      error
}

func (e *LineError) Error() string {
	id := ""
	if e.RecordID != "" {
		id = fmt.Sprintf(" (record %q)", e.RecordID)
	}
	return fmt.Sprintf("%s line %d%s: malformed Bedrock output line: %v", e.Source, e.Line, id, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// ReadOutput iterates over the lines of a Bedrock batch output file
// (JSONL; source names it in errors). Keys may come in any order (Bedrock
// puts recordId last); blank lines are skipped. A malformed line yields a
// *LineError and reading continues; a read error is yielded and ends the
// iteration. Lines up to MaxLineBytes are accepted.
func ReadOutput(r io.Reader, source string) iter.Seq2[OutputLine, error] {
	return func(yield func(OutputLine, error) bool) {
		br := bufio.NewReaderSize(r, 1<<20)
		var long []byte
		lineNo := 0
		for {
			line, err := br.ReadSlice('\n')
			tooLong := false
			if errors.Is(err, bufio.ErrBufferFull) {
				long = append(long[:0], line...)
				for errors.Is(err, bufio.ErrBufferFull) {
					line, err = br.ReadSlice('\n')
					if !tooLong {
						long = append(long, line...)
						if len(long) > MaxLineBytes {
							tooLong = true
							long = long[:0]
						}
					}
				}
				line = long
			}
			if len(line) > 0 {
				lineNo++
				var out OutputLine
				var perr error
				if tooLong {
					perr = fmt.Errorf("line is longer than %d MB", MaxLineBytes>>20)
				} else if !isBlank(line) {
					out, perr = parseOutputLine(line)
				} else {
					goto next
				}
				if perr != nil {
					if !yield(OutputLine{RecordID: out.RecordID}, &LineError{Source: source, Line: lineNo, RecordID: out.RecordID, Err: perr}) {
						return
					}
				} else if !yield(out, nil) {
					return
				}
			}
		next:
			if err != nil {
				if err != io.EOF {
					yield(OutputLine{}, fmt.Errorf("read %s after line %d: %w", source, lineNo, err))
				}
				return
			}
		}
	}
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if !isSpace(c) {
			return false
		}
	}
	return true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// parseOutputLine parses one line with a hand-written scanner that finds
// the top-level keys and skips (validating) every value, so modelInput —
// the bulk of an image job's line — is never decoded. It accepts exactly
// the lines encoding/json accepts as an object (a fuzz test checks this);
// of duplicate keys the last wins.
func parseOutputLine(b []byte) (OutputLine, error) {
	var out OutputLine
	var idRaw, outRaw, errRaw []byte
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return out, errors.New("not a JSON object")
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			if i >= len(b) || b[i] != '"' {
				return out, fmt.Errorf("expected a key at byte %d", i)
			}
			end, esc, err := scanString(b, i)
			if err != nil {
				return out, err
			}
			key := b[i+1 : end-1]
			if esc {
				var s string
				if json.Unmarshal(b[i:end], &s) == nil {
					key = []byte(s)
				}
			}
			i = skipSpace(b, end)
			if i >= len(b) || b[i] != ':' {
				return out, fmt.Errorf("expected ':' at byte %d", i)
			}
			i = skipSpace(b, i+1)
			vend, err := skipValue(b, i, 1)
			if err != nil {
				return out, err
			}
			switch string(key) {
			case "recordId":
				idRaw = b[i:vend]
			case "modelOutput":
				outRaw = b[i:vend]
			case "error":
				errRaw = b[i:vend]
			}
			i = skipSpace(b, vend)
			if i >= len(b) {
				return out, errors.New("unexpected end of line inside the object")
			}
			if b[i] == '}' {
				i++
				break
			}
			if b[i] != ',' {
				return out, fmt.Errorf("expected ',' or '}' at byte %d", i)
			}
			i = skipSpace(b, i+1)
		}
	}
	if i = skipSpace(b, i); i != len(b) {
		return out, fmt.Errorf("unexpected data after the object at byte %d", i)
	}
	if idRaw == nil || string(idRaw) == "null" {
		return out, errors.New("no recordId")
	}
	if idRaw[0] != '"' {
		return out, fmt.Errorf("recordId is %s, not a string", idRaw)
	}
	if raw := idRaw[1 : len(idRaw)-1]; bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		out.RecordID = string(raw)
	} else if err := json.Unmarshal(idRaw, &out.RecordID); err != nil {
		return out, fmt.Errorf("recordId: %w", err)
	}
	if outRaw != nil && string(outRaw) != "null" {
		out.ModelOutput = outRaw
		return out, nil
	}
	if errRaw != nil && string(errRaw) != "null" {
		out.Error = parseRecordError(errRaw)
		return out, nil
	}
	return out, errors.New("neither modelOutput nor error")
}

// parseRecordError reads Bedrock's per-record error: an object with
// errorCode/errorMessage, a string, or anything else (kept as JSON text).
func parseRecordError(raw []byte) *RecordError {
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return &RecordError{Message: s}
		}
	case '{':
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) == nil {
			e := &RecordError{}
			if c, ok := m["errorCode"]; ok {
				s := string(c)
				var str string
				if json.Unmarshal(c, &str) == nil {
					s = str
				}
				if n, err := strconv.ParseFloat(s, 64); err == nil && n == float64(int(n)) {
					e.Code = int(n)
				}
			}
			if msg, ok := m["errorMessage"]; ok {
				if json.Unmarshal(msg, &e.Message) != nil {
					e.Message = string(msg)
				}
			}
			if e.Message == "" {
				e.Message = string(raw)
			}
			return e
		}
	}
	return &RecordError{Message: string(raw)}
}

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

// strSafe marks bytes that need no attention inside a JSON string.
var strSafe = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanString validates the string starting at b[i] ('"') and returns the
// index past its closing quote and whether it has escapes.
func scanString(b []byte, i int) (end int, escaped bool, err error) {
	i++
	for {
		for i < len(b) && strSafe[b[i]] {
			i++
		}
		if i >= len(b) {
			return 0, false, errors.New("unterminated string")
		}
		switch c := b[i]; c {
		case '"':
			return i + 1, escaped, nil
		case '\\':
			escaped = true
			if i+1 >= len(b) {
				return 0, false, errors.New("unterminated string")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return 0, false, errors.New("unterminated string")
				}
				for _, h := range b[i+2 : i+6] {
					if !isHex(h) {
						return 0, false, fmt.Errorf("invalid \\u escape at byte %d", i)
					}
				}
				i += 6
			default:
				return 0, false, fmt.Errorf("invalid escape at byte %d", i)
			}
		default:
			return 0, false, fmt.Errorf("control character in string at byte %d", i)
		}
	}
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// skipValue validates the JSON value starting at b[i] and returns the index
// past it.
func skipValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return 0, errors.New("unexpected end of line: value expected")
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := scanString(b, i)
		return end, err
	case c == '{' || c == '[':
		if depth >= maxDepth {
			return 0, errors.New("nested too deeply")
		}
		return skipContainer(b, i, depth+1)
	case c == 't':
		return literal(b, i, "true")
	case c == 'f':
		return literal(b, i, "false")
	case c == 'n':
		return literal(b, i, "null")
	case c == '-' || c >= '0' && c <= '9':
		return scanNumber(b, i)
	default:
		return 0, fmt.Errorf("invalid character %q at byte %d", c, i)
	}
}

func skipContainer(b []byte, i, depth int) (int, error) {
	obj := b[i] == '{'
	closer := byte(']')
	if obj {
		closer = '}'
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == closer {
		return i + 1, nil
	}
	for {
		if obj {
			if i >= len(b) || b[i] != '"' {
				return 0, fmt.Errorf("expected a key at byte %d", i)
			}
			end, _, err := scanString(b, i)
			if err != nil {
				return 0, err
			}
			i = skipSpace(b, end)
			if i >= len(b) || b[i] != ':' {
				return 0, fmt.Errorf("expected ':' at byte %d", i)
			}
			i = skipSpace(b, i+1)
		}
		end, err := skipValue(b, i, depth)
		if err != nil {
			return 0, err
		}
		i = skipSpace(b, end)
		if i >= len(b) {
			return 0, errors.New("unexpected end of line inside a value")
		}
		if b[i] == closer {
			return i + 1, nil
		}
		if b[i] != ',' {
			return 0, fmt.Errorf("expected ',' or %q at byte %d", closer, i)
		}
		i = skipSpace(b, i+1)
	}
}

func literal(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, fmt.Errorf("invalid literal at byte %d", i)
	}
	return i + len(lit), nil
}

// scanNumber validates a JSON number per RFC 8259.
func scanNumber(b []byte, i int) (int, error) {
	start := i
	bad := func() (int, error) { return 0, fmt.Errorf("invalid number at byte %d", start) }
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return bad()
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return bad()
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return bad()
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	return i, nil
}
