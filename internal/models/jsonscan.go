package models

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// scanner is a small pull parser for modelOutput objects: it visits the
// keys of an object, decodes only the values a family needs and validates
// everything it skips, so a modelOutput it accepts is valid JSON. It is
// several times faster than encoding/json on these small objects because
// it does no reflection and skips unwanted values in one pass.
type scanner struct {
	b     []byte
	i     int
	depth int
}

// maxDepth bounds nesting, like encoding/json, so hostile input cannot
// exhaust the stack.
const maxDepth = 10000

var errEOF = errors.New("unexpected end of JSON input")

func (s *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("at offset %d: %s", s.i, fmt.Sprintf(format, args...))
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// atEnd reports whether only whitespace is left.
func (s *scanner) atEnd() bool {
	s.ws()
	return s.i >= len(s.b)
}

// peek returns the next non-space byte without consuming it: 0 at the end,
// and also for a NUL byte, which is never valid JSON outside strings, so
// callers that care tell the two apart with atEnd.
func (s *scanner) peek() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

func (s *scanner) expect(c byte) error {
	if s.peek() != c {
		if s.i >= len(s.b) {
			return errEOF
		}
		return s.errorf("want %q, found %q", c, s.b[s.i])
	}
	s.i++
	return nil
}

// null consumes a null literal if one is next.
func (s *scanner) null() bool {
	if s.peek() == 'n' && len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
}

// object calls fn for each key of the object that is next; fn must consume
// the value (by decoding it or calling skip).
func (s *scanner) object(fn func(key []byte) error) error {
	if err := s.expect('{'); err != nil {
		return err
	}
	if s.depth++; s.depth > maxDepth {
		return s.errorf("nested too deeply")
	}
	if s.peek() == '}' {
		s.i++
		s.depth--
		return nil
	}
	for {
		if s.peek() != '"' {
			if s.i >= len(s.b) {
				return errEOF
			}
			return s.errorf("want an object key, found %q", s.b[s.i])
		}
		key, err := s.rawString()
		if err != nil {
			return err
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		if err := fn(key); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			s.depth--
			return nil
		default:
			if s.i >= len(s.b) {
				return errEOF
			}
			return s.errorf("want ',' or '}' in object, found %q", s.b[s.i])
		}
	}
}

// array calls fn for each element of the array that is next.
func (s *scanner) array(fn func() error) error {
	if err := s.expect('['); err != nil {
		return err
	}
	if s.depth++; s.depth > maxDepth {
		return s.errorf("nested too deeply")
	}
	if s.peek() == ']' {
		s.i++
		s.depth--
		return nil
	}
	for {
		if err := fn(); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			s.depth--
			return nil
		default:
			if s.i >= len(s.b) {
				return errEOF
			}
			return s.errorf("want ',' or ']' in array, found %q", s.b[s.i])
		}
	}
}

// rawString consumes a string and returns its contents still escaped; it
// validates escapes and rejects control characters.
func (s *scanner) rawString() ([]byte, error) {
	if err := s.expect('"'); err != nil {
		return nil, err
	}
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			raw := s.b[start:s.i]
			s.i++
			return raw, nil
		case c == '\\':
			if s.i+1 >= len(s.b) {
				return nil, errEOF
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) {
					return nil, errEOF
				}
				for _, h := range s.b[s.i+2 : s.i+6] {
					if unhex(h) < 0 {
						return nil, s.errorf("invalid \\u escape")
					}
				}
				s.i += 6
			default:
				return nil, s.errorf("invalid escape \\%c in string", s.b[s.i+1])
			}
		case c < 0x20:
			return nil, s.errorf("control character %#x in string", c)
		default:
			s.i++
		}
	}
	return nil, errEOF
}

// str consumes a string (or null, as "") and returns it decoded. Like encoding/json it
// replaces invalid UTF-8 and unpaired surrogates with U+FFFD.
func (s *scanner) str() (string, error) {
	if s.null() {
		return "", nil
	}
	raw, err := s.rawString()
	if err != nil {
		return "", err
	}
	plain := true
	for _, c := range raw {
		if c == '\\' || c >= utf8.RuneSelf {
			plain = false
			break
		}
	}
	if plain || (!containsByte(raw, '\\') && utf8.Valid(raw)) {
		return string(raw), nil
	}
	return string(unescape(raw)), nil
}

func containsByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

// unescape decodes a validated raw string.
func unescape(raw []byte) []byte {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(raw[i:])
			out = utf8.AppendRune(out, r) // RuneError for invalid bytes
			i += size
			continue
		}
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		e := raw[i+1]
		i += 2
		switch e {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := hex4(raw[i:])
			i += 4
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					r2 = hex4(raw[i+2:])
				}
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					r = d
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default: // '"', '\\', '/'
			out = append(out, e)
		}
	}
	return out
}

func unhex(c byte) rune {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0')
	case 'a' <= c && c <= 'f':
		return rune(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

func hex4(b []byte) rune {
	return unhex(b[0])<<12 | unhex(b[1])<<8 | unhex(b[2])<<4 | unhex(b[3])
}

// number consumes a number and returns its text, checked against the JSON
// grammar (strconv alone would accept "Inf", "0x1p3" and "1_0").
func (s *scanner) number() ([]byte, error) {
	s.ws()
	start := s.i
	b := s.b
	i := s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		if i >= len(b) {
			return nil, errEOF
		}
		return nil, s.errorf("want a number, found %q", b[i])
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == d {
			s.i = i
			return nil, s.errorf("no digits after the decimal point")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == d {
			s.i = i
			return nil, s.errorf("no digits in the exponent")
		}
	}
	s.i = i
	return b[start:i], nil
}

// integer consumes an integer (null counts as 0, like encoding/json).
func (s *scanner) integer() (int, error) {
	if s.null() {
		return 0, nil
	}
	t, err := s.number()
	if err != nil {
		return 0, err
	}
	n := 0
	neg := t[0] == '-'
	if neg {
		t = t[1:]
	}
	if len(t) > 18 {
		return 0, s.errorf("integer %s out of range", t)
	}
	for _, c := range t {
		if c < '0' || c > '9' {
			return 0, s.errorf("want an integer, found %s", t)
		}
		n = n*10 + int(c-'0')
	}
	if neg {
		n = -n
	}
	return n, nil
}

// float32 consumes a number that fits a float32.
func (s *scanner) float32() (float32, error) {
	t, err := s.number()
	if err != nil {
		return 0, err
	}
	f, err := strconv.ParseFloat(string(t), 32)
	if err != nil {
		return 0, s.errorf("number %s does not fit a float32", t)
	}
	return float32(f), nil
}

// skip consumes and validates any value.
func (s *scanner) skip() error {
	switch c := s.peek(); c {
	case '{':
		return s.object(func([]byte) error { return s.skip() })
	case '[':
		return s.array(s.skip)
	case '"':
		_, err := s.rawString()
		return err
	case 't', 'f', 'n':
		for _, lit := range [...]string{"true", "false", "null"} {
			if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
				s.i += len(lit)
				return nil
			}
		}
		return s.errorf("invalid literal")
	default:
		if s.i >= len(s.b) {
			return errEOF
		}
		if c == '-' || ('0' <= c && c <= '9') {
			_, err := s.number()
			return err
		}
		return s.errorf("unexpected %q", c)
	}
}

// parseObject runs fn over the top-level object in b and checks that
// nothing but whitespace follows it. what names the family for errors.
func parseObject(b []byte, what string, fn func(s *scanner, key []byte) error) error {
	s := &scanner{b: b}
	switch c := s.peek(); {
	case s.atEnd():
		return fmt.Errorf("%w: %s modelOutput is empty", ErrBadOutput, what)
	case s.null():
		if s.atEnd() {
			return fmt.Errorf("%w: %s modelOutput is null", ErrBadOutput, what)
		}
		return fmt.Errorf("%w: %s modelOutput is not a JSON object", ErrBadOutput, what)
	case c != '{':
		return fmt.Errorf("%w: %s modelOutput is not a JSON object (starts with %q)", ErrBadOutput, what, c)
	}
	if err := s.object(func(key []byte) error {
		if err := fn(s, key); err != nil {
			return fmt.Errorf("field %q: %w", key, err)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("%w: %s modelOutput: %v", ErrBadOutput, what, err)
	}
	if !s.atEnd() {
		return fmt.Errorf("%w: %s modelOutput: data after the object at offset %d", ErrBadOutput, what, s.i)
	}
	return nil
}

// textBlocks concatenates the text blocks of a chat answer without copying
// in the common case of a single block.
type textBlocks struct {
	n     int
	first string
	buf   []byte // only when there are several blocks
}

func (t *textBlocks) add(text string) {
	t.n++
	switch t.n {
	case 1:
		t.first = text
		return
	case 2:
		t.buf = append(t.buf, t.first...)
	}
	t.buf = append(t.buf, text...)
}

// String is the concatenated text.
func (t *textBlocks) String() string {
	if t.n > 1 {
		return string(t.buf)
	}
	return t.first
}
