package records

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding"
)

// ColumnKind is the parquet type of a column ParquetWriter writes.
type ColumnKind int

// Column kinds. KindString and KindInt64 are optional (nullable) columns;
// KindFloat32List is an optional list of required 32-bit floats (embeddings).
const (
	KindString ColumnKind = iota
	KindInt64
	KindFloat32List
)

// String names the kind as in error messages.
func (k ColumnKind) String() string {
	switch k {
	case KindString:
		return "string"
	case KindInt64:
		return "int64"
	case KindFloat32List:
		return "list<float32>"
	}
	return fmt.Sprintf("ColumnKind(%d)", int(k))
}

// Column is one column of a ParquetWriter schema.
type Column struct {
	Name string
	Kind ColumnKind
}

// StringColumns is the all-string schema for records of h, in h's order.
func StringColumns(h *Header) []Column {
	cols := make([]Column, h.Len())
	for i, n := range h.Names() {
		cols[i] = Column{Name: n, Kind: KindString}
	}
	return cols
}

// Value is one cell for ParquetWriter.Write. Which field is used depends on
// the column's kind; Null writes a null whatever the kind. A Float32List
// cell with nil Floats and Null false is an empty list.
type Value struct {
	Str    string
	Int    int64
	Floats []float32
	Null   bool
}

// StringValue is a String cell.
func StringValue(s string) Value { return Value{Str: s} }

// Int64Value is an Int64 cell.
func Int64Value(i int64) Value { return Value{Int: i} }

// FloatsValue is a Float32List cell. The writer copies f during Write.
func FloatsValue(f []float32) Value { return Value{Floats: f} }

// NullValue is a null cell.
func NullValue() Value { return Value{Null: true} }

// Row group limits: a row group is flushed at whichever comes first, so
// writer memory stays bounded whatever the row count.
const (
	rowGroupRows  = 10_000
	rowGroupBytes = 64 << 20
	writeBatch    = 128 // rows handed to parquet-go per call
)

// ParquetWriter streams rows to a snappy-compressed parquet file, flushing
// a row group every 10,000 rows or 64 MiB of values. It is not safe for
// concurrent use.
type ParquetWriter struct {
	w        *parquet.GenericWriter[any]
	cols     []Column
	stringly bool
	rows     []parquet.Row
	vals     []parquet.Value
	buffered int // approximate bytes in the current row group
	groupN   int
	err      error
}

// NewParquetWriter starts a parquet file on w with the given columns, in
// order. Column names must be unique and non-empty.
func NewParquetWriter(w io.Writer, cols []Column) (*ParquetWriter, error) {
	if len(cols) == 0 {
		return nil, errors.New("parquet writer: no columns: give the file at least one column")
	}
	names := make([]string, len(cols))
	fields := make([]parquet.Field, len(cols))
	stringly := true
	for i, c := range cols {
		names[i] = c.Name
		var n parquet.Node
		switch c.Kind {
		case KindString:
			n = parquet.Optional(parquet.String())
		case KindInt64:
			n = parquet.Optional(parquet.Int(64))
			stringly = false
		case KindFloat32List:
			n = parquet.Optional(parquet.List(parquet.Required(parquet.Leaf(parquet.FloatType))))
			stringly = false
		default:
			return nil, fmt.Errorf("parquet writer: column %q has unknown kind %d", c.Name, int(c.Kind))
		}
		fields[i] = &namedField{Node: n, name: c.Name}
	}
	if _, err := NewHeader(names); err != nil {
		return nil, fmt.Errorf("parquet writer: %w", err)
	}
	schema := parquet.NewSchema("bbo", orderedGroup(fields))
	pw := parquet.NewGenericWriter[any](w, schema,
		parquet.Compression(&parquet.Snappy),
		parquet.MaxRowsPerRowGroup(rowGroupRows),
		parquet.CreatedBy("bbo", "", ""),
	)
	return &ParquetWriter{w: pw, cols: append([]Column(nil), cols...), stringly: stringly}, nil
}

// Columns returns the writer's schema. The caller must not modify it.
func (pw *ParquetWriter) Columns() []Column { return pw.cols }

// Write appends one row; values are positional against the columns.
func (pw *ParquetWriter) Write(values []Value) error {
	if pw.err != nil {
		return pw.err
	}
	if len(values) != len(pw.cols) {
		return fmt.Errorf("parquet writer: row has %d values for %d columns", len(values), len(pw.cols))
	}
	start := len(pw.vals)
	for i, v := range values {
		switch {
		case v.Null:
			pw.vals = append(pw.vals, parquet.NullValue().Level(0, 0, i))
		case pw.cols[i].Kind == KindString:
			pw.vals = append(pw.vals, stringValue(v.Str, i))
			pw.buffered += len(v.Str)
		case pw.cols[i].Kind == KindInt64:
			pw.vals = append(pw.vals, parquet.Int64Value(v.Int).Level(0, 1, i))
			pw.buffered += 8
		default: // Float32List
			if len(v.Floats) == 0 {
				pw.vals = append(pw.vals, parquet.NullValue().Level(0, 1, i))
				continue
			}
			for j, f := range v.Floats {
				rep := 1
				if j == 0 {
					rep = 0
				}
				pw.vals = append(pw.vals, parquet.FloatValue(f).Level(rep, 2, i))
			}
			pw.buffered += 4 * len(v.Floats)
		}
	}
	pw.rows = append(pw.rows, pw.vals[start:len(pw.vals):len(pw.vals)])
	if len(pw.rows) >= writeBatch || len(pw.vals) >= 64<<10 {
		return pw.flushBatch()
	}
	return nil
}

// WriteRecord writes a record to an all-string schema (see StringColumns);
// its values are positional against the columns and "" is written as "".
func (pw *ParquetWriter) WriteRecord(rec Record) error {
	if pw.err != nil {
		return pw.err
	}
	if !pw.stringly {
		return errors.New("parquet writer: WriteRecord needs an all-string schema: use Write for typed columns")
	}
	if len(rec.Values) != len(pw.cols) {
		return fmt.Errorf("parquet writer: %s has %d values for %d columns", rec.Where(), len(rec.Values), len(pw.cols))
	}
	start := len(pw.vals)
	for i, s := range rec.Values {
		pw.vals = append(pw.vals, stringValue(s, i))
		pw.buffered += len(s)
	}
	pw.rows = append(pw.rows, pw.vals[start:len(pw.vals):len(pw.vals)])
	if len(pw.rows) >= writeBatch || len(pw.vals) >= 64<<10 {
		return pw.flushBatch()
	}
	return nil
}

// stringValue makes a present optional string value without copying s:
// parquet-go copies the bytes into its column buffers, and strings are
// immutable, so the aliasing is safe.
func stringValue(s string, col int) parquet.Value {
	return parquet.ByteArrayValue(unsafe.Slice(unsafe.StringData(s), len(s))).Level(0, 1, col)
}

// flushBatch hands the batched rows to parquet-go and ends the row group
// when it is big enough.
func (pw *ParquetWriter) flushBatch() error {
	if len(pw.rows) == 0 {
		return nil
	}
	n := len(pw.rows)
	if _, err := pw.w.WriteRows(pw.rows); err != nil {
		pw.err = fmt.Errorf("parquet writer: %w", err)
		return pw.err
	}
	clear(pw.vals) // drop references to the strings just written
	pw.rows, pw.vals = pw.rows[:0], pw.vals[:0]
	// parquet-go ends a row group by itself at rowGroupRows; track that so
	// the byte limit applies to the current group.
	pw.groupN += n
	if pw.groupN >= rowGroupRows {
		pw.groupN, pw.buffered = pw.groupN%rowGroupRows, 0
	}
	if pw.buffered >= rowGroupBytes {
		if err := pw.w.Flush(); err != nil {
			pw.err = fmt.Errorf("parquet writer: %w", err)
			return pw.err
		}
		pw.groupN, pw.buffered = 0, 0
	}
	return nil
}

// Close writes the remaining rows and the parquet footer. It does not close
// the underlying io.Writer.
func (pw *ParquetWriter) Close() error {
	if pw.err != nil {
		return pw.err
	}
	if err := pw.flushBatch(); err != nil {
		return err
	}
	if err := pw.w.Close(); err != nil {
		pw.err = fmt.Errorf("parquet writer: %w", err)
		return pw.err
	}
	pw.err = errors.New("parquet writer: already closed")
	return nil
}

// orderedGroup is a parquet group that keeps its fields in the given
// order; parquet.Group sorts them by name, which would reorder columns.
type orderedGroup []parquet.Field

func (g orderedGroup) ID() int                     { return 0 }
func (g orderedGroup) Type() parquet.Type          { return parquet.Group{}.Type() }
func (g orderedGroup) Optional() bool              { return false }
func (g orderedGroup) Repeated() bool              { return false }
func (g orderedGroup) Required() bool              { return true }
func (g orderedGroup) Leaf() bool                  { return false }
func (g orderedGroup) Fields() []parquet.Field     { return g }
func (g orderedGroup) Encoding() encoding.Encoding { return nil }
func (g orderedGroup) Compression() compress.Codec { return nil }
func (g orderedGroup) GoType() reflect.Type        { return g.group().GoType() }
func (g orderedGroup) String() string              { return g.group().String() }
func (g orderedGroup) group() parquet.Group {
	m := make(parquet.Group, len(g))
	for _, f := range g {
		m[f.Name()] = f
	}
	return m
}

// namedField names a node within an orderedGroup.
type namedField struct {
	parquet.Node
	name string
}

func (f *namedField) Name() string { return f.name }

// Value is only used by parquet-go's reflection paths, which this package
// does not take; it looks the field up in a map or struct.
func (f *namedField) Value(base reflect.Value) reflect.Value {
	for base.Kind() == reflect.Pointer || base.Kind() == reflect.Interface {
		if base.IsNil() {
			return reflect.Value{}
		}
		base = base.Elem()
	}
	switch base.Kind() {
	case reflect.Map:
		return base.MapIndex(reflect.ValueOf(f.name))
	case reflect.Struct:
		return base.FieldByNameFunc(func(n string) bool { return strings.EqualFold(n, f.name) })
	}
	return reflect.Value{}
}
