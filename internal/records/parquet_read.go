package records

import (
	"github.com/bbo-dev/bbo/internal/jsontext"

	"encoding/base64"
	"fmt"
	"io"
	"iter"
	"math"
	"math/big"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/format"
)

// parquetBatch is how many rows ReadParquet decodes at a time.
const parquetBatch = 64

// ReadParquet streams the records of a parquet file, one row group and a
// small batch of rows at a time, so memory does not grow with the file.
//
// Each top-level column becomes a header column (plus record_id, appended
// and generated as described at ReadOptions when absent) and every value
// becomes text: strings as they are; integers and floats in Go's shortest
// round-trip form (as encoding/json writes them); booleans as true/false;
// timestamps as RFC 3339 in UTC, dates as 2006-01-02; decimals as decimal
// text; other byte arrays as text when they are valid UTF-8, else standard
// base64; null as "". Nested columns (structs, lists, maps) become compact
// JSON with the same leaf rules — a Hugging Face image column is
// {"bytes":"<base64>","path":"..."}; LIST columns are JSON arrays.
//
// A row with an empty record_id is yielded as a *RowError whose Line is
// the 1-based row number, and reading continues; an unreadable file is
// yielded once and ends the stream.
func ReadParquet(r io.ReaderAt, size int64, source string, opts ReadOptions) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		f, err := parquet.OpenFile(r, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
		if err != nil {
			yield(Record{}, fmt.Errorf("%s: open parquet: %w: is it a parquet file?", source, err))
			return
		}
		root := f.Schema()
		cols, leaves := pqTree(root.Fields(), 0, 0, 0)
		names := make([]string, len(cols))
		for i, c := range cols {
			names[i] = c.name
		}
		h, err := NewHeader(names)
		if err != nil {
			yield(Record{}, fmt.Errorf("%s: parquet schema: %w", source, err))
			return
		}
		idIdx, genID := h.Index(IDColumn)
		genID = !genID
		if genID {
			h = h.With(IDColumn)
			idIdx = h.Len() - 1
		}
		a := pqAssembler{cols: make([][]parquet.Value, leaves), pos: make([]int, leaves)}
		ids := idGen{prefix: opts.IDPrefix}
		var wbuf []byte
		rows := make([]parquet.Row, parquetBatch)
		rowNum := 0
		for gi, rg := range f.RowGroups() {
			ok, err := func() (bool, error) {
				rr := rg.Rows()
				defer rr.Close()
				for {
					n, err := rr.ReadRows(rows)
					for _, row := range rows[:n] {
						rowNum++
						a.load(row)
						vals := make([]string, h.Len())
						for i, c := range cols {
							vals[i] = a.column(c)
						}
						var rerr error
						if genID {
							vals[idIdx] = ids.id(rowNum)
						} else if blank(vals[idIdx]) {
							rerr = &RowError{Source: source, Line: rowNum, Err: errEmptyID}
						}
						if rerr != nil {
							if !yield(Record{}, rerr) {
								return false, nil
							}
							continue
						}
						var src string
						wbuf, src = where(wbuf, source, "row", rowNum)
						if !yield(Record{Header: h, Values: vals, Source: src}, nil) {
							return false, nil
						}
					}
					if err == io.EOF {
						return true, nil
					}
					if err != nil {
						return false, err
					}
				}
			}()
			if err != nil {
				yield(Record{}, fmt.Errorf("%s: read parquet row group %d: %w", source, gi, err))
				return
			}
			if !ok {
				return
			}
		}
	}
}

// pqNode is a schema node with the levels needed to assemble its values.
type pqNode struct {
	name               string
	typ                parquet.Type // leaves only
	leaf               bool
	optional, repeated bool
	def, rep           int // levels of this node, counting itself
	first, end         int // its leaf column range [first, end)
	children           []*pqNode
	list               bool // a LIST group rendered as a JSON array
}

// pqTree builds nodes for fields whose parent has the given levels; leaf is
// the index of the first leaf column under them.
func pqTree(fields []parquet.Field, def, rep, leaf int) ([]*pqNode, int) {
	out := make([]*pqNode, len(fields))
	for i, f := range fields {
		n := &pqNode{name: f.Name(), leaf: f.Leaf(), optional: f.Optional(), repeated: f.Repeated(), def: def, rep: rep, first: leaf}
		if n.optional || n.repeated {
			n.def++
		}
		if n.repeated {
			n.rep++
		}
		if n.leaf {
			n.typ = f.Type()
			leaf++
		} else {
			n.children, leaf = pqTree(f.Fields(), n.def, n.rep, leaf)
			n.list = isList(f) && len(n.children) == 1 && n.children[0].repeated
		}
		n.end = leaf
		out[i] = n
	}
	return out, leaf
}

func isList(f parquet.Node) bool {
	if lt := f.Type().LogicalType(); lt != nil {
		_, ok := lt.Value.(*format.ListType)
		return ok
	}
	if ct := f.Type().ConvertedType(); ct != nil {
		return *ct == deprecated.List
	}
	return false
}

// pqAssembler turns the leaf values of one row back into text per column.
type pqAssembler struct {
	cols [][]parquet.Value // values of each leaf column in the current row
	pos  []int             // next unread value of each leaf column
	buf  []byte
}

func (a *pqAssembler) load(row parquet.Row) {
	for i := range a.cols {
		a.cols[i], a.pos[i] = nil, 0
	}
	row.Range(func(c int, vs []parquet.Value) bool {
		if c < len(a.cols) {
			a.cols[c] = vs
		}
		return true
	})
}

// column renders a top-level column: flat leaves as text, null as "",
// anything nested as compact JSON.
func (a *pqAssembler) column(n *pqNode) string {
	if n.leaf && !n.repeated {
		v, ok := a.next(n.first)
		if !ok || v.IsNull() {
			return ""
		}
		a.buf, _ = appendLeaf(a.buf[:0], v, n.typ)
		return string(a.buf)
	}
	if n.optional && a.peekDef(n.first) < n.def {
		a.skip(n)
		return ""
	}
	a.buf = a.emit(a.buf[:0], n)
	return string(a.buf)
}

func (a *pqAssembler) next(c int) (parquet.Value, bool) {
	if c >= len(a.cols) || a.pos[c] >= len(a.cols[c]) {
		return parquet.Value{}, false
	}
	v := a.cols[c][a.pos[c]]
	a.pos[c]++
	return v, true
}

func (a *pqAssembler) peekDef(c int) int {
	if c >= len(a.cols) || a.pos[c] >= len(a.cols[c]) {
		return -1
	}
	return a.cols[c][a.pos[c]].DefinitionLevel()
}

func (a *pqAssembler) peekRep(c int) int {
	if c >= len(a.cols) || a.pos[c] >= len(a.cols[c]) {
		return -1
	}
	return a.cols[c][a.pos[c]].RepetitionLevel()
}

// skip consumes the single placeholder value every leaf under an absent
// node has.
func (a *pqAssembler) skip(n *pqNode) {
	for c := n.first; c < n.end; c++ {
		if a.pos[c] < len(a.cols[c]) {
			a.pos[c]++
		}
	}
}

// emit appends the JSON of one occurrence of n, whose parent is present.
func (a *pqAssembler) emit(buf []byte, n *pqNode) []byte {
	if n.first == n.end {
		return append(buf, "null"...)
	}
	if n.repeated {
		return a.emitRepeated(buf, n, func(buf []byte, n *pqNode, a *pqAssembler) []byte { return a.one(buf, n) })
	}
	if n.optional && a.peekDef(n.first) < n.def {
		a.skip(n)
		return append(buf, "null"...)
	}
	return a.one(buf, n)
}

// emitRepeated appends the JSON array of the occurrences of repeated node n,
// rendering each with elem.
func (a *pqAssembler) emitRepeated(buf []byte, n *pqNode, elem func([]byte, *pqNode, *pqAssembler) []byte) []byte {
	if a.peekDef(n.first) < n.def {
		a.skip(n)
		return append(buf, "[]"...)
	}
	buf = append(buf, '[')
	for i := 0; ; i++ {
		if i > 0 {
			buf = append(buf, ',')
		}
		before := a.pos[n.first]
		buf = elem(buf, n, a)
		if a.pos[n.first] == before || a.peekRep(n.first) != n.rep {
			break
		}
	}
	return append(buf, ']')
}

// one appends the JSON of a present occurrence of n.
func (a *pqAssembler) one(buf []byte, n *pqNode) []byte {
	if n.leaf {
		v, ok := a.next(n.first)
		if !ok || v.IsNull() {
			return append(buf, "null"...)
		}
		start := len(buf)
		buf, lit := appendLeaf(buf, v, n.typ)
		if lit {
			return buf
		}
		text := string(buf[start:])
		return jsontext.AppendString(buf[:start], text)
	}
	if n.list {
		rep := n.children[0]
		return a.emitRepeated(buf, rep, func(buf []byte, rep *pqNode, a *pqAssembler) []byte {
			if !rep.leaf && len(rep.children) == 1 {
				return a.emit(buf, rep.children[0])
			}
			return a.one(buf, rep)
		})
	}
	buf = append(buf, '{')
	for i, c := range n.children {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = jsontext.AppendString(buf, c.name)
		buf = append(buf, ':')
		buf = a.emit(buf, c)
	}
	return append(buf, '}')
}

// appendLeaf appends the text of a non-null leaf value; lit reports that
// the text is a JSON literal (number or boolean) rather than a string.
func appendLeaf(buf []byte, v parquet.Value, t parquet.Type) (_ []byte, lit bool) {
	var lt format.LogicalTypeValue
	if l := t.LogicalType(); l != nil {
		lt = l.Value
	}
	var ct deprecated.ConvertedType = -1
	if c := t.ConvertedType(); c != nil {
		ct = *c
	}
	switch v.Kind() {
	case parquet.Boolean:
		return strconv.AppendBool(buf, v.Boolean()), true
	case parquet.Int32, parquet.Int64:
		var i int64
		if v.Kind() == parquet.Int32 {
			i = int64(v.Int32())
		} else {
			i = v.Int64()
		}
		switch l := lt.(type) {
		case *format.TimestampType:
			return appendTime(buf, i, l.Unit.Value), false
		case *format.DateType:
			return time.Unix(i*86400, 0).UTC().AppendFormat(buf, time.DateOnly), false
		case *format.DecimalType:
			return appendDecimal(buf, big.NewInt(i), int(l.Scale)), true
		case *format.IntType:
			if !l.IsSigned {
				if v.Kind() == parquet.Int32 {
					return strconv.AppendUint(buf, uint64(uint32(i)), 10), true
				}
				return strconv.AppendUint(buf, uint64(i), 10), true
			}
		}
		switch ct {
		case deprecated.TimestampMillis:
			return appendTime(buf, i, &format.MilliSeconds{}), false
		case deprecated.TimestampMicros:
			return appendTime(buf, i, &format.MicroSeconds{}), false
		case deprecated.Date:
			return time.Unix(i*86400, 0).UTC().AppendFormat(buf, time.DateOnly), false
		}
		return strconv.AppendInt(buf, i, 10), true
	case parquet.Int96:
		// Legacy Spark/Impala timestamps: nanoseconds of the day, then the
		// Julian day number.
		x := v.Int96()
		nanos := int64(uint64(x[1])<<32 | uint64(x[0]))
		days := int64(x[2]) - 2440588
		return time.Unix(days*86400, nanos).UTC().AppendFormat(buf, time.RFC3339Nano), false
	case parquet.Float:
		return appendFloat(buf, float64(v.Float()), 32)
	case parquet.Double:
		return appendFloat(buf, v.Double(), 64)
	case parquet.ByteArray, parquet.FixedLenByteArray:
		b := v.ByteArray()
		switch l := lt.(type) {
		case *format.StringType, *format.EnumType, *format.JsonType:
			return append(buf, b...), false
		case *format.DecimalType:
			return appendDecimal(buf, twosComplement(b), int(l.Scale)), true
		case *format.UUIDType:
			if len(b) == 16 {
				return fmt.Appendf(buf, "%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), false
			}
		}
		if ct == deprecated.UTF8 || utf8.Valid(b) {
			return append(buf, b...), false
		}
		return base64.StdEncoding.AppendEncode(buf, b), false
	}
	return append(buf, v.String()...), false
}

func appendTime(buf []byte, i int64, unit format.TimeUnitValue) []byte {
	var t time.Time
	switch unit.(type) {
	case *format.MilliSeconds:
		t = time.UnixMilli(i)
	case *format.NanoSeconds:
		t = time.Unix(0, i)
	default:
		t = time.UnixMicro(i)
	}
	return t.UTC().AppendFormat(buf, time.RFC3339Nano)
}

// appendFloat writes floats as encoding/json does; NaN and infinities,
// which JSON cannot hold as numbers, are written as strings.
func appendFloat(buf []byte, f float64, bits int) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.AppendFloat(buf, f, 'g', -1, bits), false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(buf, f, format, -1, bits), true
}

func twosComplement(b []byte) *big.Int {
	x := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		x.Sub(x, new(big.Int).Lsh(big.NewInt(1), uint(len(b))*8))
	}
	return x
}

// appendDecimal writes unscaled × 10^-scale as decimal text.
func appendDecimal(buf []byte, unscaled *big.Int, scale int) []byte {
	s := unscaled.String()
	if scale <= 0 {
		return append(buf, s...)
	}
	neg := s[0] == '-'
	if neg {
		buf, s = append(buf, '-'), s[1:]
	}
	for len(s) <= scale {
		s = "0" + s
	}
	buf = append(buf, s[:len(s)-scale]...)
	buf = append(buf, '.')
	return append(buf, s[len(s)-scale:]...)
}
