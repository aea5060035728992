package backends

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// StubModel is the "model" the stub names in responses that carry a model
// field, so that no stub answer can be mistaken for a real model's.
const StubModel = "bbo-stub"

// StubPrefix starts every plain-text stub answer.
const StubPrefix = "[bbo stub] "

// Stub is the offline, deterministic backend. It answers each family in
// its real response shape. When the prompt shows a JSON example object
// (as bbo's prompt templates do) the answer is a JSON object with the same
// keys: a value of an enumeration "a|b|c" is one of its options, a range
// "0.0-1.0" a number in it, an array a few strings, other strings short
// labelled text. The choice hashes the record's images and prompt, so
// different images get different categories but a rerun gets the same.
// "Label: <...>" answer lines asked for by the prompt are answered the
// same way. Other answers are short text starting with StubPrefix. Titan
// embeddings are unit vectors hashed from the text.
//
// JSON answers stay clean (no marker keys that would become columns); they
// are marked by the response envelope instead: Claude's id "stub-..." and
// model "bbo-stub", and an extra "model":"bbo-stub" on Nova and Llama
// responses (their parsers ignore unknown keys).
type Stub struct{}

// NewStub returns the stub backend.
func NewStub() *Stub { return &Stub{} }

// Invoke answers body deterministically; malformed bodies are 400 errors.
func (*Stub) Invoke(ctx context.Context, modelID string, body []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fam, err := Family(modelID)
	if err != nil {
		return nil, err
	}
	if fam == "titan-embed" {
		r, err := parseEmbed(body)
		if err != nil {
			return nil, err
		}
		return titanOutput(StubEmbedding(r.Text, r.Dimensions), tokens(len(r.Text))), nil
	}
	c, err := parseChat(fam, body)
	if err != nil {
		return nil, err
	}
	h := fnv.New64a()
	for _, img := range c.images() {
		h.Write([]byte(img))
		h.Write([]byte{0})
	}
	prompt := c.prompt()
	h.Write([]byte(prompt))
	seed := h.Sum64()

	text := StubAnswer(prompt, seed)
	in, out := tokens(c.textLen()), tokens(len(text))
	truncated := false
	if c.MaxTokens > 0 && out > c.MaxTokens {
		text = strings.ToValidUTF8(text[:c.MaxTokens*4], "")
		out, truncated = c.MaxTokens, true
	}
	stop := stopReason(fam, truncated)
	switch fam {
	case "claude":
		return claudeOutput(fmt.Sprintf("stub-%016x", seed), StubModel, text, stop, in, out), nil
	case "nova":
		return novaOutput(text, stop, in, out, StubModel), nil
	default:
		return llamaOutput(text, stop, in, out, StubModel), nil
	}
}

// StubEmbedding returns the deterministic unit vector of dims dimensions
// the stub gives text.
func StubEmbedding(text string, dims int) []float32 {
	h := fnv.New64a()
	h.Write([]byte(text))
	x := h.Sum64()
	v := make([]float64, dims)
	var norm float64
	for i := range v {
		x = splitmix(x)
		v[i] = float64(int64(x>>11))/float64(1<<52) - 1 // [-1, 1)
		norm += v[i] * v[i]
	}
	norm = math.Sqrt(norm)
	out := make([]float32, dims)
	for i := range v {
		out[i] = float32(v[i] / norm)
	}
	return out
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	z := x
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// pick hashes seed with key into a number.
func pick(seed uint64, key string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	h.Write(b[:])
	h.Write([]byte(key))
	return splitmix(h.Sum64())
}

// answerLine matches a "Label: <description>" line a prompt asks for.
var answerLine = regexp.MustCompile(`(?m)^\s*([A-Za-z][A-Za-z ]{0,30}):\s*<([^>\n]{1,80})>\s*$`)

// StubAnswer is the text the stub answers prompt with; seed varies the
// choices (Invoke hashes the record's images and prompt into it).
func StubAnswer(prompt string, seed uint64) string {
	if obj, ok := jsonExample(prompt); ok {
		var b strings.Builder
		b.WriteString("{\n")
		writeObject(&b, obj, seed, "", "    ")
		b.WriteString("\n}")
		return b.String()
	}
	if m := answerLine.FindAllStringSubmatch(prompt, -1); len(m) > 0 {
		var b strings.Builder
		b.WriteString(StubPrefix)
		b.WriteString("deterministic answer, not a model's.")
		for _, l := range m {
			label := strings.TrimSpace(l[1])
			b.WriteString("\n")
			b.WriteString(label)
			b.WriteString(": ")
			b.WriteString(stubString(seed, strings.ToLower(label), l[2]))
		}
		return b.String()
	}
	return fmt.Sprintf("%sdeterministic reply %08x to a prompt of %d characters.", StubPrefix, uint32(seed), utf8.RuneCountInString(prompt))
}

// field is one key of a prompt's JSON example, in order.
type field struct {
	key string
	val exampleValue
}

// exampleValue is a value of a prompt's JSON example.
type exampleValue struct {
	kind  byte // 's' string, 'a' array, 'o' object, 'b' bare token
	text  string
	elems []exampleValue
	obj   []field
}

// jsonExample finds the last brace-delimited example object in prompt
// with at least one "key": value pair. Examples need not be valid JSON
// ("confidence": 0.0-1.0).
func jsonExample(prompt string) ([]field, bool) {
	var best []field
	for i := 0; i < len(prompt); i++ {
		if prompt[i] != '{' {
			continue
		}
		p := exampleParser{s: prompt, i: i}
		obj, ok := p.object(0)
		if ok && len(obj) > 0 {
			best = obj
			i = p.i - 1
		}
	}
	return best, best != nil
}

type exampleParser struct {
	s string
	i int
}

func (p *exampleParser) ws() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *exampleParser) str() (string, bool) {
	if p.i >= len(p.s) || p.s[p.i] != '"' {
		return "", false
	}
	var b strings.Builder
	for p.i++; p.i < len(p.s); p.i++ {
		c := p.s[p.i]
		switch c {
		case '"':
			p.i++
			return b.String(), true
		case '\\':
			if p.i+1 < len(p.s) {
				p.i++
				b.WriteByte(p.s[p.i])
			}
		case '\n':
			return "", false
		default:
			b.WriteByte(c)
		}
	}
	return "", false
}

func (p *exampleParser) object(depth int) ([]field, bool) {
	if depth > 8 || p.i >= len(p.s) || p.s[p.i] != '{' {
		return nil, false
	}
	p.i++
	var out []field
	for {
		p.ws()
		if p.i >= len(p.s) {
			return nil, false
		}
		if p.s[p.i] == '}' {
			p.i++
			return out, true
		}
		if p.s[p.i] == ',' {
			p.i++
			continue
		}
		key, ok := p.str()
		if !ok || key == "" {
			return nil, false
		}
		p.ws()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return nil, false
		}
		p.i++
		p.ws()
		v, ok := p.value(depth)
		if !ok {
			return nil, false
		}
		out = append(out, field{key: key, val: v})
	}
}

func (p *exampleParser) value(depth int) (exampleValue, bool) {
	if p.i >= len(p.s) {
		return exampleValue{}, false
	}
	switch p.s[p.i] {
	case '"':
		s, ok := p.str()
		return exampleValue{kind: 's', text: s}, ok
	case '{':
		o, ok := p.object(depth + 1)
		return exampleValue{kind: 'o', obj: o}, ok
	case '[':
		p.i++
		v := exampleValue{kind: 'a'}
		for {
			p.ws()
			if p.i >= len(p.s) {
				return exampleValue{}, false
			}
			switch p.s[p.i] {
			case ']':
				p.i++
				return v, true
			case ',':
				p.i++
				continue
			}
			e, ok := p.value(depth + 1)
			if !ok {
				return exampleValue{}, false
			}
			v.elems = append(v.elems, e)
		}
	}
	start := p.i
	for p.i < len(p.s) && strings.IndexByte(",}]\n", p.s[p.i]) < 0 {
		p.i++
	}
	t := strings.TrimSpace(p.s[start:p.i])
	return exampleValue{kind: 'b', text: t}, t != ""
}

var (
	colors  = []string{"black", "white", "navy blue", "red", "grey", "beige", "green", "light blue", "brown", "pink"}
	sizes   = []string{"XS", "S", "M", "L", "XL", "XXL"}
	rangeRe = regexp.MustCompile(`^(-?\d+(?:\.(\d+))?)\s*-\s*(-?\d+(?:\.\d+)?)$`)
)

// stubString fills a string described by desc for key.
func stubString(seed uint64, key, desc string) string {
	n := pick(seed, key)
	if strings.Contains(desc, "|") {
		opts := strings.Split(desc, "|")
		return strings.TrimSpace(opts[n%uint64(len(opts))])
	}
	lk, ld := strings.ToLower(key), strings.ToLower(desc)
	switch {
	case strings.Contains(lk, "color") || strings.Contains(lk, "colour") || strings.Contains(ld, "color"):
		return colors[n%uint64(len(colors))]
	case lk == "size" || strings.Contains(ld, "size"):
		return sizes[n%uint64(len(sizes))]
	}
	// key is the field's path in the answer (".title", ".size.waist"): name
	// the value after its last segment.
	name := lk[strings.LastIndexByte(lk, '.')+1:]
	return fmt.Sprintf("stub %s %04x", name, uint16(n))
}

func writeObject(b *strings.Builder, obj []field, seed uint64, path, indent string) {
	for i, f := range obj {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString(indent)
		b.WriteString(quote(f.key))
		b.WriteString(": ")
		writeValue(b, f.val, seed, path+"."+f.key, f.key, indent)
	}
}

func writeValue(b *strings.Builder, v exampleValue, seed uint64, path, key, indent string) {
	switch v.kind {
	case 's':
		b.WriteString(quote(stubString(seed, path, v.text)))
	case 'o':
		b.WriteString("{\n")
		writeObject(b, v.obj, seed, path, indent+"    ")
		b.WriteString("\n" + indent + "}")
	case 'a':
		n := 3
		b.WriteByte('[')
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			e := exampleValue{kind: 's', text: key}
			if len(v.elems) > 0 {
				e = v.elems[i%len(v.elems)]
			}
			if e.kind == 's' && !strings.Contains(e.text, "|") {
				b.WriteString(quote(fmt.Sprintf("stub %s %d", strings.ToLower(key), i+1)))
				continue
			}
			writeValue(b, e, seed, path+"["+strconv.Itoa(i)+"]", key, indent)
		}
		b.WriteByte(']')
	default:
		b.WriteString(bare(seed, path, v.text))
	}
}

// bare fills a bare example token: a range, a number, a boolean or null;
// anything else becomes a string.
func bare(seed uint64, path, t string) string {
	n := pick(seed, path)
	if m := rangeRe.FindStringSubmatch(t); m != nil {
		lo, _ := strconv.ParseFloat(m[1], 64)
		hi, _ := strconv.ParseFloat(m[3], 64)
		if hi < lo {
			lo, hi = hi, lo
		}
		frac := float64(n%1001) / 1000
		span := hi - lo
		if m[2] == "" && !strings.Contains(m[3], ".") && math.Abs(lo) < 1e15 && math.Abs(hi) < 1e15 {
			return strconv.FormatInt(int64(lo)+int64(n%uint64(span+1)), 10)
		}
		if v := math.Round((lo+frac*span)*100) / 100; !math.IsInf(v, 0) && !math.IsNaN(v) {
			return strconv.FormatFloat(v, 'g', -1, 64)
		}
	}
	if json.Valid([]byte(t)) && (t[0] == '-' || t[0] >= '0' && t[0] <= '9') {
		return t
	}
	if f, err := strconv.ParseFloat(t, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	switch t {
	case "true", "false", "true|false", "false|true", "boolean":
		return strconv.FormatBool(n%2 == 0)
	case "null":
		return "null"
	}
	return quote(stubString(seed, path, t))
}

// quote quotes s as a JSON string.
func quote(s string) string { return string(marshal(s)) }
