package records

import (
	"errors"
	"fmt"
	"io"
	"iter"
	"reflect"
	"strings"
	"testing"
)

// collected is what a reader yielded, flattened for comparison.
type collected struct {
	header []string
	rows   [][]string
	srcs   []string
	rowErr []int // lines of RowErrors
	fatal  string
}

func collect(t *testing.T, seq iter.Seq2[Record, error]) collected {
	t.Helper()
	var c collected
	for rec, err := range seq {
		var re *RowError
		switch {
		case errors.As(err, &re):
			c.rowErr = append(c.rowErr, re.Line)
		case err != nil:
			if c.fatal != "" {
				t.Fatalf("second fatal error %v after %q", err, c.fatal)
			}
			c.fatal = err.Error()
		default:
			if len(rec.Values) != rec.Header.Len() {
				t.Fatalf("record has %d values, header %d", len(rec.Values), rec.Header.Len())
			}
			if c.header == nil {
				c.header = rec.Header.Names()
			}
			c.rows = append(c.rows, rec.Values)
			c.srcs = append(c.srcs, rec.Source)
		}
	}
	return c
}

func TestReadCSV(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		opts   ReadOptions
		header []string
		rows   [][]string
		rowErr []int
		fatal  string // substring
	}{
		{name: "generated ids", in: "a,b\n1,2\n3,4\n",
			header: []string{"a", "b", "record_id"}, rows: [][]string{{"1", "2", "r00000001"}, {"3", "4", "r00000002"}}},
		{name: "id prefix", in: "a\nx\n", opts: ReadOptions{IDPrefix: "f0003"},
			header: []string{"a", "record_id"}, rows: [][]string{{"x", "f0003r00000001"}}},
		{name: "record_id kept", in: "record_id,text\nk1,hello\n",
			header: []string{"record_id", "text"}, rows: [][]string{{"k1", "hello"}}},
		{name: "quoting", in: "record_id,text\nk1,\"a, \"\"b\"\"\"\nk2,\"\"\n",
			header: []string{"record_id", "text"}, rows: [][]string{{"k1", `a, "b"`}, {"k2", ""}}},
		{name: "embedded newline", in: "record_id,text\nk1,\"line1\nline2\"\nk2,z\n",
			header: []string{"record_id", "text"}, rows: [][]string{{"k1", "line1\nline2"}, {"k2", "z"}}},
		{name: "crlf", in: "record_id,text\r\nk1,a\r\nk2,\"b\r\nc\"\r\n",
			header: []string{"record_id", "text"}, rows: [][]string{{"k1", "a"}, {"k2", "b\r\nc"}}},
		{name: "bom", in: "\ufeffrecord_id,t\nk,v\n",
			header: []string{"record_id", "t"}, rows: [][]string{{"k", "v"}}},
		{name: "ragged rows continue", in: "record_id,t\nk1,v\nk2\nk3,v,extra\nk4,v\n",
			header: []string{"record_id", "t"}, rows: [][]string{{"k1", "v"}, {"k4", "v"}}, rowErr: []int{3, 4}},
		{name: "empty record_id", in: "record_id,t\n,v\n  ,v\nk,v\n",
			header: []string{"record_id", "t"}, rows: [][]string{{"k", "v"}}, rowErr: []int{2, 3}},
		{name: "pandas Unnamed: 0", in: "Unnamed: 0,a\n0,x\n1,y\n",
			header: []string{"a", "record_id"}, rows: [][]string{{"x", "r00000001"}, {"y", "r00000002"}}},
		{name: "pandas empty first cell", in: ",a\n0,x\n",
			header: []string{"a", "record_id"}, rows: [][]string{{"x", "r00000001"}}},
		{name: "blank lines skipped", in: "\n\na\n\nx\n\n",
			header: []string{"a", "record_id"}, rows: [][]string{{"x", "r00000001"}}},
		{name: "no trailing newline", in: "a\nx",
			header: []string{"a", "record_id"}, rows: [][]string{{"x", "r00000001"}}},
		{name: "unicode", in: "record_id,text\nk,héllo 世界 🎉\n",
			header: []string{"record_id", "text"}, rows: [][]string{{"k", "héllo 世界 🎉"}}},
		{name: "lenient bare quote", in: "record_id,t\nk,5\" screen\n",
			header: []string{"record_id", "t"}, rows: [][]string{{"k", `5" screen`}}},
		{name: "header only", in: "record_id,t\n"},
		{name: "empty file", in: "", fatal: "no header line"},
		{name: "duplicate header", in: "a,a\n1,2\n", fatal: "appears twice"},
		{name: "unclosed quote", in: "record_id,t\nk1,v\nk2,\"open\n", rows: [][]string{{"k1", "v"}},
			header: []string{"record_id", "t"}, rowErr: []int{3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := collect(t, ReadCSV(strings.NewReader(tc.in), "in.csv", tc.opts))
			if tc.fatal != "" || c.fatal != "" {
				if tc.fatal == "" || !strings.Contains(c.fatal, tc.fatal) || !strings.Contains(c.fatal, "in.csv") {
					t.Fatalf("fatal = %q, want one naming in.csv containing %q", c.fatal, tc.fatal)
				}
				return
			}
			if !reflect.DeepEqual(c.header, tc.header) {
				t.Errorf("header = %q, want %q", c.header, tc.header)
			}
			if !reflect.DeepEqual(c.rows, tc.rows) {
				t.Errorf("rows = %q, want %q", c.rows, tc.rows)
			}
			if !reflect.DeepEqual(c.rowErr, tc.rowErr) {
				t.Errorf("row error lines = %v, want %v", c.rowErr, tc.rowErr)
			}
		})
	}
}

func TestReadCSVRecordSource(t *testing.T) {
	c := collect(t, ReadCSV(strings.NewReader("a\n\"x\ny\"\nz\n"), "s3://b/in.csv", ReadOptions{}))
	want := []string{"s3://b/in.csv line 2", "s3://b/in.csv line 4"}
	if !reflect.DeepEqual(c.srcs, want) {
		t.Fatalf("sources = %q, want %q", c.srcs, want)
	}
}

func TestRowErrorMessage(t *testing.T) {
	var got error
	for _, err := range ReadCSV(strings.NewReader("record_id,t\nk1\n"), "in.csv", ReadOptions{}) {
		got = err
	}
	var re *RowError
	if !errors.As(got, &re) || re.Line != 2 || re.Source != "in.csv" {
		t.Fatalf("error = %#v, want RowError at in.csv line 2", got)
	}
	if msg := got.Error(); !strings.HasPrefix(msg, "in.csv line 2: row has 1 fields but the header has 2") {
		t.Fatalf("message = %q", msg)
	}
}

func TestReadCSVStopEarly(t *testing.T) {
	n := 0
	for range ReadCSV(strings.NewReader("a\n1\n2\n3\n"), "in.csv", ReadOptions{}) {
		n++
		break
	}
	if n != 1 {
		t.Fatalf("got %d records after break", n)
	}
}

func TestReadCSVLongField(t *testing.T) {
	big := strings.Repeat("x", 300<<10) // longer than the bufio buffer
	c := collect(t, ReadCSV(strings.NewReader("record_id,img\nk,"+big+"\nk2,\""+big+"\"\n"), "in.csv", ReadOptions{}))
	if c.fatal != "" || len(c.rows) != 2 || c.rows[0][1] != big || c.rows[1][1] != big {
		t.Fatalf("long fields not read back intact (fatal %q, %d rows)", c.fatal, len(c.rows))
	}
}

func TestReadJSONL(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		header []string
		rows   [][]string
		rowErr []int
		fatal  string
	}{
		{name: "key order and types", in: `{"z":"s","a":1.50,"b":true,"n":null,"o":{"k": [1, 2]}}` + "\n",
			header: []string{"z", "a", "b", "n", "o", "record_id"}, rows: [][]string{{"s", "1.50", "true", "", `{"k":[1,2]}`, "r00000001"}}},
		{name: "record_id kept", in: "{\"record_id\":\"k1\",\"t\":\"x\"}\n{\"record_id\":7,\"t\":\"y\"}\n",
			header: []string{"record_id", "t"}, rows: [][]string{{"k1", "x"}, {"7", "y"}}},
		{name: "missing key is empty", in: "{\"a\":\"1\",\"b\":\"2\"}\n{\"b\":\"3\"}\n",
			header: []string{"a", "b", "record_id"}, rows: [][]string{{"1", "2", "r00000001"}, {"", "3", "r00000002"}}},
		{name: "extra key is a row error", in: "{\"a\":\"1\"}\n{\"a\":\"2\",\"c\":3}\n{\"a\":\"4\"}\n",
			header: []string{"a", "record_id"}, rows: [][]string{{"1", "r00000001"}, {"4", "r00000003"}}, rowErr: []int{2}},
		{name: "blank lines and escapes", in: "\n{\"a\":\"q\\\"\\n\\u00e9\"}\n\n   \n{\"a\":\"世界\"}",
			header: []string{"a", "record_id"}, rows: [][]string{{"q\"\né", "r00000001"}, {"世界", "r00000002"}}},
		{name: "bad lines continue", in: "{\"a\":\"1\"}\n[1]\n{\"a\":\n{\"a\":\"1\"} x\n{\"a\":\"1\",\"a\":\"2\"}\n{\"a\":\"ok\"}\n",
			header: []string{"a", "record_id"}, rows: [][]string{{"1", "r00000001"}, {"ok", "r00000006"}}, rowErr: []int{2, 3, 4, 5}},
		{name: "empty record_id", in: "{\"record_id\":\"k\"}\n{\"record_id\":\"\"}\n{}\n",
			header: []string{"record_id"}, rows: [][]string{{"k"}}, rowErr: []int{2, 3}},
		{name: "generated id column is not an input key", in: "{\"a\":\"1\"}\n{\"a\":\"2\",\"record_id\":\"x\"}\n",
			header: []string{"a", "record_id"}, rows: [][]string{{"1", "r00000001"}}, rowErr: []int{2}},
		{name: "empty file"},
		{name: "bad first line", in: "not json\n{\"a\":1}\n", fatal: "first object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := collect(t, ReadJSONL(strings.NewReader(tc.in), "in.jsonl", ReadOptions{}))
			if tc.fatal != "" || c.fatal != "" {
				if tc.fatal == "" || !strings.Contains(c.fatal, tc.fatal) || !strings.Contains(c.fatal, "in.jsonl line 1") {
					t.Fatalf("fatal = %q, want one naming in.jsonl line 1 containing %q", c.fatal, tc.fatal)
				}
				return
			}
			if !reflect.DeepEqual(c.header, tc.header) {
				t.Errorf("header = %q, want %q", c.header, tc.header)
			}
			if !reflect.DeepEqual(c.rows, tc.rows) {
				t.Errorf("rows = %q, want %q", c.rows, tc.rows)
			}
			if !reflect.DeepEqual(c.rowErr, tc.rowErr) {
				t.Errorf("row error lines = %v, want %v", c.rowErr, tc.rowErr)
			}
		})
	}
}

func TestReadJSONLErrorNamesKey(t *testing.T) {
	var msgs []string
	for _, err := range ReadJSONL(strings.NewReader("{\"a\":1}\n{\"zz\":2}\n"), "in.jsonl", ReadOptions{}) {
		if err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	if len(msgs) != 1 || !strings.Contains(msgs[0], `in.jsonl line 2: key "zz"`) {
		t.Fatalf("errors = %q", msgs)
	}
}

func TestReadJSONLLongLine(t *testing.T) {
	big := strings.Repeat("A", 1<<20)
	in := fmt.Sprintf("{\"record_id\":\"k\",\"image\":%q}\n", big)
	c := collect(t, ReadJSONL(strings.NewReader(in), "in.jsonl", ReadOptions{}))
	if len(c.rows) != 1 || c.rows[0][1] != big {
		t.Fatalf("long line not read back intact: %d rows, fatal %q", len(c.rows), c.fatal)
	}
}

func TestLineReaderTooLong(t *testing.T) {
	lr := newLineReader(strings.NewReader("ok\n" + strings.Repeat("x", 200<<10) + "\nnext\n"))
	lr.max = 100 << 10
	var got []string
	for {
		line, err := lr.next()
		if err == io.EOF {
			break
		}
		if err == errLineTooLong {
			got = append(got, fmt.Sprintf("too long at %d", lr.line))
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(line))
	}
	want := []string{"ok\n", "too long at 2", "next\n"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("lines = %q, want %q", got, want)
	}
}

func FuzzReadCSV(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "record_id,t\n\"k\",\"a\"\"b\nc\"\n", "\ufeffUnnamed: 0,x\n0,1\n1\n", ",a\n,\n", "\"", "a\n\"x", "a\r\nb\r\n", "record_id\n\n \n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for rec, err := range ReadCSV(strings.NewReader(in), "fuzz.csv", ReadOptions{}) {
			if err == nil && len(rec.Values) != rec.Header.Len() {
				t.Fatalf("record has %d values, header %d", len(rec.Values), rec.Header.Len())
			}
			if err == nil && rec.ID() == "" {
				t.Fatal("record without id")
			}
		}
	})
}

func FuzzReadJSONL(f *testing.F) {
	for _, s := range []string{"{\"a\":1}\n{\"a\":2,\"b\":3}\n", "{\"record_id\":\"\"}\n", "{}\n{}\n", "[]\n", "{\"a\":{\"b\":[null,true]}}", "\n\n{\"a\":\"\\u0000\"}", "{\"a\":1}{\"a\":2}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for rec, err := range ReadJSONL(strings.NewReader(in), "fuzz.jsonl", ReadOptions{}) {
			if err == nil && len(rec.Values) != rec.Header.Len() {
				t.Fatalf("record has %d values, header %d", len(rec.Values), rec.Header.Len())
			}
			if err == nil && rec.ID() == "" {
				t.Fatal("record without id")
			}
		}
	})
}
