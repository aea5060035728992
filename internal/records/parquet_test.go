package records

import (
	"bytes"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
)

func writeParquet(t testing.TB, cols []Column, rows [][]Value) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewParquetWriter(&buf, cols)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readParquetAll(t testing.TB, b []byte, opts ReadOptions) collected {
	t.Helper()
	c := collect(t.(*testing.T), ReadParquet(bytes.NewReader(b), int64(len(b)), "in.parquet", opts))
	if c.fatal != "" {
		t.Fatal(c.fatal)
	}
	return c
}

func TestParquetRoundTrip(t *testing.T) {
	cols := []Column{{"record_id", KindString}, {"text", KindString}, {"n", KindInt64}, {"emb", KindFloat32List}, {"a_last", KindString}}
	rows := [][]Value{
		{StringValue("k1"), StringValue("héllo, 世界"), Int64Value(-42), FloatsValue([]float32{0.5, 1, -2.25}), StringValue("")},
		{StringValue("k2"), NullValue(), NullValue(), NullValue(), StringValue("x")},
		{StringValue("k3"), StringValue("multi\nline"), Int64Value(1 << 40), FloatsValue(nil), StringValue("y")},
	}
	b := writeParquet(t, cols, rows)

	t.Run("ReadParquet", func(t *testing.T) {
		c := readParquetAll(t, b, ReadOptions{})
		wantHeader := []string{"record_id", "text", "n", "emb", "a_last"}
		want := [][]string{
			{"k1", "héllo, 世界", "-42", "[0.5,1,-2.25]", ""},
			{"k2", "", "", "", "x"},
			{"k3", "multi\nline", "1099511627776", "[]", "y"},
		}
		if !reflect.DeepEqual(c.header, wantHeader) {
			t.Errorf("header = %q, want %q", c.header, wantHeader)
		}
		if !reflect.DeepEqual(c.rows, want) {
			t.Errorf("rows = %q, want %q", c.rows, want)
		}
		if c.srcs[1] != "in.parquet row 2" {
			t.Errorf("source = %q", c.srcs[1])
		}
	})

	t.Run("parquet-go generic reader", func(t *testing.T) {
		type row struct {
			RecordID *string   `parquet:"record_id,optional"`
			Text     *string   `parquet:"text,optional"`
			N        *int64    `parquet:"n,optional"`
			Emb      []float32 `parquet:"emb,optional,list"`
			ALast    *string   `parquet:"a_last,optional"`
		}
		got, err := parquet.Read[row](bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 {
			t.Fatalf("%d rows", len(got))
		}
		if *got[0].Text != "héllo, 世界" || *got[0].N != -42 || !reflect.DeepEqual(got[0].Emb, []float32{0.5, 1, -2.25}) || *got[0].ALast != "" {
			t.Errorf("row 1 = %+v", got[0])
		}
		if got[1].Text != nil || got[1].N != nil || got[1].Emb != nil || *got[1].ALast != "x" {
			t.Errorf("row 2 = %+v, want nulls", got[1])
		}
		if *got[2].N != 1<<40 || len(got[2].Emb) != 0 {
			t.Errorf("row 3 = %+v", got[2])
		}
	})

	t.Run("schema", func(t *testing.T) {
		f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, fl := range f.Schema().Fields() {
			names = append(names, fl.Name())
		}
		if want := []string{"record_id", "text", "n", "emb", "a_last"}; !reflect.DeepEqual(names, want) {
			t.Errorf("column order = %q, want %q", names, want)
		}
		if codec := f.Metadata().RowGroups[0].Columns[0].MetaData.Codec.String(); codec != "SNAPPY" {
			t.Errorf("codec = %s, want SNAPPY", codec)
		}
	})
}

func TestParquetWriteRecordRowGroups(t *testing.T) {
	h := MustHeader("record_id", "text")
	var buf bytes.Buffer
	w, err := NewParquetWriter(&buf, StringColumns(h))
	if err != nil {
		t.Fatal(err)
	}
	const n = 25_000
	for i := range n {
		id := strconv.Itoa(i)
		if err := w.WriteRecord(Record{Header: h, Values: []string{id, "t" + id}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if g := len(f.RowGroups()); g != 3 {
		t.Errorf("%d row groups, want 3 (10,000 rows each)", g)
	}
	i := 0
	for rec, err := range ReadParquet(bytes.NewReader(b), int64(len(b)), "in.parquet", ReadOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		if id := strconv.Itoa(i); rec.ID() != id || rec.Values[1] != "t"+id {
			t.Fatalf("row %d = %q", i, rec.Values)
		}
		i++
	}
	if i != n {
		t.Fatalf("read %d rows, want %d", i, n)
	}
}

func TestParquetWriterErrors(t *testing.T) {
	tests := []struct {
		name string
		cols []Column
		want string
	}{
		{"no columns", nil, "no columns"},
		{"duplicate", []Column{{"a", KindString}, {"a", KindInt64}}, "twice"},
		{"empty name", []Column{{"", KindString}}, "empty name"},
		{"bad kind", []Column{{"a", ColumnKind(9)}}, "unknown kind"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewParquetWriter(&bytes.Buffer{}, tc.cols)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
	t.Run("write mismatches", func(t *testing.T) {
		w, err := NewParquetWriter(&bytes.Buffer{}, []Column{{"a", KindString}, {"e", KindFloat32List}})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write([]Value{StringValue("x")}); err == nil {
			t.Error("short row accepted")
		}
		if err := w.WriteRecord(Record{Values: []string{"a", "b"}}); err == nil {
			t.Error("WriteRecord accepted a typed schema")
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err == nil {
			t.Error("second Close succeeded")
		}
	})
}

func TestReadParquetTypes(t *testing.T) {
	type image struct {
		Bytes []byte `parquet:"bytes"`
		Path  string `parquet:"path"`
	}
	type row struct {
		Image  image     `parquet:"image"`
		Label  int32     `parquet:"label"`
		Score  float64   `parquet:"score"`
		Small  float32   `parquet:"small"`
		OK     bool      `parquet:"ok"`
		Tags   []string  `parquet:"tags,list"`
		When   time.Time `parquet:"when,timestamp(millisecond)"`
		Note   *string   `parquet:"note,optional"`
		Raw    []byte    `parquet:"raw"`
		Nested *image    `parquet:"nested,optional"`
		Rep    []int64   `parquet:"rep"`
	}
	note := "n"
	in := []row{
		{Image: image{Bytes: []byte{0xff, 0xd8, 0x00}, Path: "a.jpg"}, Label: 3, Score: 0.1, Small: 1e-7, OK: true,
			Tags: []string{"x", "y\"z"}, When: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC), Note: &note, Raw: []byte("text"),
			Nested: &image{Path: "p"}, Rep: []int64{1, 2}},
		{Label: -1, Score: 1e21},
	}
	var buf bytes.Buffer
	if err := parquet.Write(&buf, in); err != nil {
		t.Fatal(err)
	}
	c := readParquetAll(t, buf.Bytes(), ReadOptions{IDPrefix: "p"})
	wantHeader := []string{"image", "label", "score", "small", "ok", "tags", "when", "note", "raw", "nested", "rep", "record_id"}
	if !reflect.DeepEqual(c.header, wantHeader) {
		t.Fatalf("header = %q, want %q", c.header, wantHeader)
	}
	want := [][]string{
		{`{"bytes":"/9gA","path":"a.jpg"}`, "3", "0.1", "1e-07", "true", `["x","y\"z"]`, "2024-05-06T07:08:09Z", "n", "text", `{"bytes":"","path":"p"}`, "[1,2]", "pr00000001"},
		{`{"bytes":"","path":""}`, "-1", "1e+21", "0", "false", "[]", "0001-01-01T00:00:00Z", "", "", "", "[]", "pr00000002"},
	}
	for i := range want {
		for j := range want[i] {
			if c.rows[i][j] != want[i][j] {
				t.Errorf("row %d column %s = %q, want %q", i+1, wantHeader[j], c.rows[i][j], want[i][j])
			}
		}
	}
}

func TestReadParquetEmptyID(t *testing.T) {
	b := writeParquet(t, []Column{{"record_id", KindString}}, [][]Value{{StringValue("a")}, {NullValue()}, {StringValue("c")}})
	var ids []string
	var rowErrs []int
	for rec, err := range ReadParquet(bytes.NewReader(b), int64(len(b)), "in.parquet", ReadOptions{}) {
		var re *RowError
		if errors.As(err, &re) {
			rowErrs = append(rowErrs, re.Line)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, rec.ID())
	}
	if !reflect.DeepEqual(ids, []string{"a", "c"}) || !reflect.DeepEqual(rowErrs, []int{2}) {
		t.Fatalf("ids %q, row errors %v", ids, rowErrs)
	}
}

func TestReadParquetNotParquet(t *testing.T) {
	b := []byte("record_id,text\nk,v\n")
	var errs []error
	for _, err := range ReadParquet(bytes.NewReader(b), int64(len(b)), "in.parquet", ReadOptions{}) {
		errs = append(errs, err)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "in.parquet") {
		t.Fatalf("errors = %v, want one naming the file", errs)
	}
}
