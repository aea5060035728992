package records

import (
	"github.com/bbo-dev/bbo/internal/memprobe"

	"bytes"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// csvRow is a 200-byte row of 4 columns like the inputs bbo sees.
func csvRow(i int) string {
	id := fmt.Sprintf("id-%09d", i)
	title := strings.Repeat("t", 40)
	desc := strings.Repeat("d", 200-len(id)-40-10-4)
	return id + "," + title + "," + desc + ",cat-" + strconv.Itoa(i%100000+100000) + "\n"
}

func BenchmarkReadCSV(b *testing.B) {
	var in bytes.Buffer
	in.WriteString("record_id,title,description,category\n")
	const rows = 10_000
	for i := range rows {
		in.WriteString(csvRow(i))
	}
	data := in.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for _, err := range ReadCSV(bytes.NewReader(data), "bench.csv", ReadOptions{}) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != rows {
			b.Fatalf("%d rows", n)
		}
	}
	b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkReadCSVQuoted(b *testing.B) {
	var in bytes.Buffer
	in.WriteString("title,description\n")
	const rows = 10_000
	for i := range rows {
		fmt.Fprintf(&in, "\"t%d, with comma\",\"%s \"\"quoted\"\"\nsecond line\"\n", i, strings.Repeat("d", 150))
	}
	data := in.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		for _, err := range ReadCSV(bytes.NewReader(data), "bench.csv", ReadOptions{}) {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "rows/s")
}

// genReader produces a CSV of n rows on the fly, so the benchmark's input
// takes no memory.
func genReader(n int) io.Reader {
	return memprobe.Lines("code,title,description,category\n", n, func(dst []byte, i int) []byte {
		return append(dst, csvRow(i)...)
	})
}

// BenchmarkReadCSV1M streams 1,000,000 generated rows and reports the peak
// live heap, which must stay flat however many rows are read.
func BenchmarkReadCSV1M(b *testing.B) {
	const rows = 1_000_000
	b.ReportAllocs()
	b.SetBytes(int64(rows * len(csvRow(1))))
	var peak uint64
	for b.Loop() {
		runtime.GC()
		n := 0
		peak = max(peak, memprobe.PeakHeap(func() {
			for _, err := range ReadCSV(genReader(rows), "gen.csv", ReadOptions{}) {
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
		}))
		if n != rows {
			b.Fatalf("%d rows", n)
		}
	}
	b.ReportMetric(memprobe.MB(peak), "peak-MB")
}

func BenchmarkReadJSONL(b *testing.B) {
	var in bytes.Buffer
	const rows = 10_000
	for i := range rows {
		fmt.Fprintf(&in, "{\"record_id\":\"id-%09d\",\"title\":%q,\"price\":%d.5,\"tags\":[\"a\",\"b\"]}\n", i, strings.Repeat("t", 120), i)
	}
	data := in.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		for _, err := range ReadJSONL(bytes.NewReader(data), "bench.jsonl", ReadOptions{}) {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "rows/s")
}

func benchStrings(rows int) (*Header, [][]string) {
	h := MustHeader("record_id", "a", "b", "c", "d", "e", "f", "g")
	vals := make([][]string, rows)
	for i := range vals {
		s := strconv.Itoa(i)
		vals[i] = []string{"id-" + s, "alpha" + s, "beta", "gamma-" + s, "delta", "eps" + s, "zeta", "eta-" + s}
	}
	return h, vals
}

// BenchmarkParquetWriter writes rows of 8 short string columns; the
// target is at least 300,000 rows/s.
func BenchmarkParquetWriter(b *testing.B) {
	const rows = 20_000
	h, vals := benchStrings(rows)
	size := 0
	for _, v := range vals {
		for _, s := range v {
			size += len(s)
		}
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		w, err := NewParquetWriter(io.Discard, StringColumns(h))
		if err != nil {
			b.Fatal(err)
		}
		for _, v := range vals {
			if err := w.WriteRecord(Record{Header: h, Values: v}); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkParquetWriterEmbedding writes 4 strings and a 1024-float
// embedding per row.
func BenchmarkParquetWriterEmbedding(b *testing.B) {
	const rows = 2_000
	cols := []Column{{"record_id", KindString}, {"a", KindString}, {"b", KindString}, {"n", KindInt64}, {"emb", KindFloat32List}}
	emb := make([]float32, 1024)
	for i := range emb {
		emb[i] = float32(i) / 1024
	}
	b.SetBytes(rows * (4*1024 + 30))
	b.ReportAllocs()
	for b.Loop() {
		w, err := NewParquetWriter(io.Discard, cols)
		if err != nil {
			b.Fatal(err)
		}
		row := make([]Value, 5)
		for i := range rows {
			row[0], row[1], row[2] = StringValue("id-"+strconv.Itoa(i)), StringValue("alpha"), StringValue("beta")
			row[3], row[4] = Int64Value(int64(i)), FloatsValue(emb)
			if err := w.Write(row); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkReadParquet(b *testing.B) {
	const rows = 20_000
	h, vals := benchStrings(rows)
	var buf bytes.Buffer
	w, err := NewParquetWriter(&buf, StringColumns(h))
	if err != nil {
		b.Fatal(err)
	}
	for _, v := range vals {
		if err := w.WriteRecord(Record{Header: h, Values: v}); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for _, err := range ReadParquet(bytes.NewReader(data), int64(len(data)), "bench.parquet", ReadOptions{}) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != rows {
			b.Fatalf("%d rows", n)
		}
	}
	b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "rows/s")
}
