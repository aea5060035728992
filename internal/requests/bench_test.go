package requests

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/bbo-dev/bbo/internal/batchio"
	"github.com/bbo-dev/bbo/internal/config"
	"github.com/bbo-dev/bbo/internal/memprobe"
	"github.com/bbo-dev/bbo/internal/records"
	"github.com/bbo-dev/bbo/prompts"
)

const filler = "a sentence of filler text that pads the row to a realistic length for product data"

// csvGen streams n CSV rows of about 200 bytes without holding them in
// memory, so benchmarks measure the pipeline, not a prebuilt buffer.
func csvGen(n int) io.Reader {
	return memprobe.Lines("id,topic,notes\n", n, func(dst []byte, i int) []byte {
		return fmt.Appendf(dst, "row%08d,topic number %d,\"%s, %s\"\n", i, i%977, filler, filler[:40])
	})
}

// discardJob writes job lines to io.Discard, optionally with the request
// rows as parquet, as preprocess does.
type discardSink struct{}

type discardJob struct{}

func (s discardSink) Open(int) (batchio.JobWriter[Row], error) { return &discardJob{}, nil }

func (j *discardJob) Add(it batchio.Item[Row]) error {
	if _, err := io.Discard.Write(it.Line); err != nil {
		return err
	}
	return nil
}
func (j *discardJob) Close() error { return nil }

type parquetJob struct {
	pw   *records.ParquetWriter
	vals []records.Value
}

type parquetSink struct{}

func (parquetSink) Open(int) (batchio.JobWriter[Row], error) { return &parquetJob{}, nil }

func (j *parquetJob) Add(it batchio.Item[Row]) error {
	if j.pw == nil {
		var err error
		j.pw, err = records.NewParquetWriter(io.Discard, records.StringColumns(RowHeader(it.Value.Record.Header)))
		if err != nil {
			return err
		}
	}
	j.vals = j.vals[:0]
	for _, v := range it.Value.Record.Values {
		j.vals = append(j.vals, records.Value{Str: v})
	}
	j.vals = append(j.vals, records.Value{Str: it.Value.RequestID}, records.Value{Str: it.Value.PromptID})
	return j.pw.Write(j.vals)
}

func (j *parquetJob) Close() error {
	if j.pw == nil {
		return nil
	}
	return j.pw.Close()
}

func runPack(b *testing.B, n int, sink batchio.JobSink[Row]) (Summary, uint64) {
	b.Helper()
	bld, err := New(Options{ModelID: "anthropic.claude-3-haiku-20240307-v1:0", Prompts: prompts.Default(),
		PromptConfig: config.PromptConfig{PromptID: "joke_about_topic"}})
	if err != nil {
		b.Fatal(err)
	}
	lim := batchio.DefaultLimits()
	lim.MaxRecordsPerJob = 50_000
	p, err := batchio.NewPacker[Row](lim, sink)
	if err != nil {
		b.Fatal(err)
	}
	var sum Summary
	peak := memprobe.PeakHeap(func() {
		sum, err = Pack(context.Background(), records.ReadCSV(csvGen(n), "gen.csv", records.ReadOptions{}), bld, p,
			func(err error) error { b.Errorf("record failed: %v", err); return nil })
	})
	if err != nil {
		b.Fatal(err)
	}
	if sum.Requests != n {
		b.Fatalf("packed %d of %d", sum.Requests, n)
	}
	return sum, peak
}

// BenchmarkCSVToJSONL is the text path of preprocess: CSV rows of ~200 bytes
// → template → Claude modelInput → Bedrock batch JSONL. Target: ≥ 200,000
// records/s on one core.
func BenchmarkCSVToJSONL(b *testing.B) {
	for _, tc := range []struct {
		name string
		sink batchio.JobSink[Row]
	}{{"jsonl", discardSink{}}, {"jsonl+rows-parquet", parquetSink{}}} {
		b.Run(tc.name, func(b *testing.B) {
			const n = 100_000
			b.ReportAllocs()
			b.SetBytes(n * 200)
			for b.Loop() {
				runPack(b, n, tc.sink)
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkCSVToJSONL1M streams 1,000,000 records and reports the peak heap.
// Target: under 200 MB.
func BenchmarkCSVToJSONL1M(b *testing.B) {
	const n = 1_000_000
	for b.Loop() {
		_, peak := runPack(b, n, parquetSink{})
		b.ReportMetric(memprobe.MB(peak), "peak-heap-MB")
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}
