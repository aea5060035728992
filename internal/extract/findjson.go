package extract

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// NoJSONError reports a model response in which no JSON object or array
// could be found. The caller keeps the raw response and records Error() in
// the record's error column.
type NoJSONError struct {
	// Snippet is the start of the response (about 80 characters).
	Snippet string
	// Truncated is set when the response holds JSON that is cut off, which
	// usually means the model hit max_tokens.
	Truncated bool
}

func (e *NoJSONError) Error() string {
	if e.Truncated {
		return fmt.Sprintf("the JSON in the model response is cut off (did the model hit max_tokens? raise max_tokens or ask for shorter output); response starts: %q", e.Snippet)
	}
	return fmt.Sprintf("no JSON object or array found in the model response (expected {...} or [...], optionally inside a ``` fence); response starts: %q", e.Snippet)
}

// snippetLen is how much of a response error messages show.
const snippetLen = 80

func snippet(s string) string {
	if len(s) <= snippetLen {
		return s
	}
	cut := snippetLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// FindJSON returns the JSON object or array in a model response, as a
// substring of text, and whether one was found. It accepts what models
// really return:
//
//   - the response is JSON (surrounding white space is ignored);
//   - JSON inside a ``` or ```json fence (fences are searched first, so
//     braces in the prose around them do not matter);
//   - JSON with prose before or after it: the first balanced {...} or [...]
//     (scanned respecting strings and escapes) that is valid JSON. A
//     balanced candidate that is not valid JSON is skipped whole, so nothing
//     nested inside it is picked; of several valid candidates the first wins.
//
// Invalid JSON is never repaired: a trailing comma, single quotes or
// comments make a candidate invalid, and so does JSON cut off by max_tokens
// (FindJSON then reports false rather than picking an object nested inside
// the cut-off one). A returned string is always valid per json.Valid.
func FindJSON(text string) (string, bool) {
	j, _, ok := findJSON(text)
	return j, ok
}

// findJSON is FindJSON that also says whether cut-off JSON was seen.
func findJSON(text string) (js string, truncated, ok bool) {
	t := strings.TrimSpace(text)
	if len(t) > 0 && (t[0] == '{' || t[0] == '[') && validJSON(t) {
		return t, false, true
	}
	budget := 16*len(text) + 4096
	rest := text
	for {
		i := strings.Index(rest, "```")
		if i < 0 {
			break
		}
		rest = rest[i+3:]
		// Skip a language tag such as "json".
		k := 0
		for k < len(rest) && (isIdentByte(rest[k])) {
			k++
		}
		body := rest[k:]
		end := strings.Index(body, "```")
		if end >= 0 {
			body = body[:end]
		}
		j, tr, found := scanCandidates(body, &budget)
		if found {
			return j, false, true
		}
		truncated = truncated || tr
		if end < 0 {
			break
		}
		rest = rest[k+end+3:]
	}
	j, tr, found := scanCandidates(text, &budget)
	if found {
		return j, false, true
	}
	return "", truncated || tr, false
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// scanCandidates looks for the first balanced {...} or [...] in s that is
// valid JSON. budget bounds the bytes scanned over all calls, so that
// adversarial input (thousands of unmatched braces) stays linear.
func scanCandidates(s string, budget *int) (js string, truncated, ok bool) {
	for i := 0; i < len(s); {
		k := strings.IndexAny(s[i:], "{[")
		if k < 0 {
			return "", false, false
		}
		start := i + k
		end, closed := balancedEnd(s, start, budget)
		if *budget < 0 {
			return "", false, false
		}
		if !closed {
			if plausibleStart(s[start:]) {
				// JSON that starts well but never closes: cut off. Anything
				// after it is nested inside it, so picking it would be wrong.
				return "", true, false
			}
			i = start + 1
			continue
		}
		if c := s[start:end]; validJSON(c) {
			return c, false, true
		}
		i = end
	}
	return "", false, false
}

// balancedEnd returns the index just past the bracket that closes the one at
// s[start], counting brackets of both kinds outside strings; closed is false
// if s ends first.
func balancedEnd(s string, start int, budget *int) (end int, closed bool) {
	depth := 0
	i := start
	for i < len(s) {
		c := s[i]
		switch c {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				*budget -= i + 1 - start
				return i + 1, true
			}
		case '"':
			i++
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' {
					i++
				}
				i++
			}
		}
		i++
	}
	*budget -= len(s) - start
	return len(s), false
}

// plausibleStart reports whether s (starting with { or [) looks like the
// start of real JSON rather than a stray bracket in prose.
func plausibleStart(s string) bool {
	open := s[0]
	t := strings.TrimLeft(s[1:], " \t\r\n")
	if t == "" {
		return true // "{" at the very end: cut off right after it
	}
	c := t[0]
	if open == '{' {
		return c == '"' || c == '}'
	}
	return c == '"' || c == '{' || c == '[' || c == ']' || c == '-' || c >= '0' && c <= '9' ||
		strings.HasPrefix(t, "true") || strings.HasPrefix(t, "false") || strings.HasPrefix(t, "null")
}

// bytesOf views s as bytes without copying; the result must not be modified.
func bytesOf(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

func validJSON(s string) bool { return json.Valid(bytesOf(s)) }
