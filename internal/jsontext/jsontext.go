// Package jsontext writes JSON text by hand for bbo's hot paths (Bedrock
// batch lines, model bodies), where encoding/json's reflection costs more
// than the work itself. Its output decodes exactly as encoding/json's does.
package jsontext

import "unicode/utf8"

// safeASCII[b] is true for ASCII bytes that appear unescaped inside a JSON
// string.
var safeASCII = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// AppendString appends s as a quoted JSON string. Like encoding/json it
// escapes '"', '\\', control characters, U+2028 and U+2029, and replaces
// each byte of invalid UTF-8 with U+FFFD; unlike encoding/json it leaves
// '<', '>' and '&' alone (HTML escaping is for embedding in web pages, not
// for Bedrock). Quoting is in-place: no allocation when dst has room.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = AppendStringBody(dst, s)
	return append(dst, '"')
}

// AppendStringBody is AppendString without the quotes.
func AppendStringBody(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		// Skip 8 plain bytes at a time: most prompts are long ASCII runs.
		for i+8 <= len(s) && plain8(s[i:i+8]) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		b := s[i]
		if b < utf8.RuneSelf {
			if safeASCII[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// plain8 reports whether none of the 8 bytes of s needs escaping or UTF-8
// checking: none is below 0x20, '"', '\\' or at or above 0x80.
func plain8(s string) bool {
	x := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	q := x ^ ('"' * lsb)   // zero bytes where x has '"'
	bs := x ^ ('\\' * lsb) // zero bytes where x has '\\'
	// (v - n*lsb) &^ v has a high bit set iff some byte of v is below n
	// (n <= 0x80): the usual SWAR "has less/has zero" tests. Bytes of x with
	// the high bit set (non-ASCII) are caught by "| x".
	return ((x-0x20*lsb)&^x|(q-lsb)&^q|(bs-lsb)&^bs|x)&msb == 0
}
