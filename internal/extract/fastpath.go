package extract

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// The fast path evaluates plain key chains ($.a, $.a.b, $["a b"]) directly
// on the JSON text, without decoding the document. It gives the same
// Values as the library path (tests and a fuzz target compare the two):
// duplicate keys resolve to the last one, strings with escapes or invalid
// UTF-8 are decoded by encoding/json, and objects and arrays are rendered
// through the same decode-and-encode as library results.

// parseSimplePath returns the keys of a plain key chain, or false.
func parseSimplePath(p string) ([]string, bool) {
	if len(p) < 2 || p[0] != '$' {
		return nil, false
	}
	var keys []string
	for i := 1; i < len(p); {
		switch p[i] {
		case '.':
			j := i + 1
			if j >= len(p) || !(isLetter(p[j]) || p[j] == '_') {
				return nil, false
			}
			for j < len(p) && (isLetter(p[j]) || p[j] == '_' || p[j] >= '0' && p[j] <= '9') {
				j++
			}
			keys = append(keys, p[i+1:j])
			i = j
		case '[':
			if i+1 >= len(p) || p[i+1] != '"' {
				return nil, false
			}
			j := i + 2
			for j < len(p) && p[j] != '"' {
				if p[j] < 0x20 || p[j] > 0x7e || p[j] == '\\' {
					return nil, false
				}
				j++
			}
			if j+1 >= len(p) || p[j+1] != ']' {
				return nil, false
			}
			keys = append(keys, p[i+2:j])
			i = j + 2
		default:
			return nil, false
		}
	}
	return keys, true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// simpleLookup follows keys through js, which must be valid JSON.
func simpleLookup(js string, keys []string) (Value, error) {
	pos := 0
	for _, k := range keys {
		if js[pos] != '{' {
			return Value{Null: true}, nil
		}
		at, ok := memberValue(js, pos, k)
		if !ok {
			return Value{Null: true}, nil
		}
		pos = at
	}
	switch c := js[pos]; c {
	case '"':
		end := skipValid(js, pos)
		raw := js[pos+1 : end-1]
		if strings.IndexByte(raw, '\\') < 0 && utf8.ValidString(raw) {
			return Value{Text: raw}, nil
		}
		var s string
		if err := json.Unmarshal(bytesOf(js[pos:end]), &s); err != nil {
			return Value{}, err
		}
		return Value{Text: s}, nil
	case '{', '[':
		return renderRaw(js[pos:skipValid(js, pos)])
	case 'n':
		return Value{Null: true}, nil
	case 't':
		return Value{Text: "true"}, nil
	case 'f':
		return Value{Text: "false"}, nil
	default:
		return Value{Text: js[pos:skipValid(js, pos)]}, nil
	}
}

// memberValue returns where the value of the last member named key of the
// object at js[pos] starts.
func memberValue(js string, pos int, key string) (int, bool) {
	found, at := false, 0
	i := skipWS(js, pos+1)
	if js[i] == '}' {
		return 0, false
	}
	for {
		end := skipValid(js, i) // the key string
		raw := js[i+1 : end-1]
		match := false
		if strings.IndexByte(raw, '\\') < 0 {
			match = raw == key
		} else {
			var s string
			match = json.Unmarshal(bytesOf(js[i:end]), &s) == nil && s == key
		}
		i = skipWS(js, end)
		i = skipWS(js, i+1) // ':'
		if match {
			found, at = true, i
		}
		i = skipWS(js, skipValid(js, i))
		if js[i] == '}' {
			return at, found
		}
		i = skipWS(js, i+1) // ','
	}
}

func skipWS(js string, i int) int {
	for i < len(js) {
		switch js[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipValid returns the index just past the JSON value starting at js[i];
// js must be valid JSON.
func skipValid(js string, i int) int {
	switch js[i] {
	case '"':
		i++
		for {
			switch js[i] {
			case '"':
				return i + 1
			case '\\':
				i += 2
			default:
				i++
			}
		}
	case '{', '[':
		depth := 0
		for {
			switch js[i] {
			case '{', '[':
				depth++
				i++
			case '}', ']':
				depth--
				i++
				if depth == 0 {
					return i
				}
			case '"':
				i = skipValid(js, i)
			default:
				i++
			}
		}
	default:
		for i < len(js) {
			switch js[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
			i++
		}
		return i
	}
}
