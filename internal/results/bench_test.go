package results

import (
	"fmt"
	"io"
	"testing"

	"github.com/bbo-dev/bbo/internal/batchio"
	"github.com/bbo-dev/bbo/internal/memprobe"
	"github.com/bbo-dev/bbo/internal/records"
	"github.com/bbo-dev/bbo/internal/requests"
	"github.com/bbo-dev/bbo/prompts"
)

// outGen streams n Claude output lines shaped like the real ones (text
// prompt in modelInput, a JSON answer in a text block, usage), in reverse
// order, without holding them in memory.
func outGen(n int) io.Reader {
	return memprobe.Lines("", n, func(dst []byte, i int) []byte {
		id := n - i
		return fmt.Appendf(dst, `{"modelInput":{"anthropic_version":"bedrock-2023-05-31","max_tokens":1024,"messages":[{"role":"user","content":[{"type":"text","text":"Analyze this clothing item and classify it into one of these categories: shorts, shoes, pants, dress, t-shirt. Return JSON with category and confidence. Item %d"}]}]},`+
			`"modelOutput":{"id":"msg_bdrk_01FG6eytc1PqvqSz7USxa45i","type":"message","role":"assistant","model":"claude-3-haiku-20240307","content":[{"type":"text","text":"{\n    \"category\": \"t-shirt\",\n    \"confidence\": 0.9\n}"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":457,"output_tokens":25}},`+
			`"recordId":"rec%08d"}`+"\n", id, id)
	})
}

func benchRequests(b *testing.B, n int) *Requests {
	b.Helper()
	h := records.MustHeader("record_id", "image_path", "file_name", requests.RequestIDColumn, requests.PromptIDColumn)
	reqs, err := LoadRequests(func(yield func(records.Record, error) bool) {
		for i := range n {
			id := fmt.Sprintf("rec%08d", i)
			path := fmt.Sprintf("s3://bucket/inputs/clothing/%08d.jpg", i)
			if !yield(records.Record{Header: h, Values: []string{id, path, path[len(path)-12:], id, "classify_clothing_category"}}, nil) {
				return
			}
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	return reqs
}

func runJob(b *testing.B, reqs *Requests, c *Collector, n int) {
	b.Helper()
	st, err := Write(io.Discard, reqs, c, batchio.ReadOutput(outGen(n), "0000.jsonl.out"))
	if err != nil {
		b.Fatal(err)
	}
	if st.Succeeded != n {
		b.Fatalf("stats %+v, want %d succeeded", st, n)
	}
}

// BenchmarkOutputToParquet is postprocess for one 50,000-record job: read
// Bedrock output JSONL, parse Claude's output, extract output_schema fields,
// join to the request rows and write snappy parquet. Target: ≥ 100,000
// records/s on one core.
func BenchmarkOutputToParquet(b *testing.B) {
	const n = 50_000
	reqs := benchRequests(b, n)
	c, err := NewCollector("anthropic.claude-3-haiku-20240307-v1:0", prompts.Default(), reqs.PromptIDs())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		runJob(b, reqs, c, n)
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkOutputToParquet1M runs 1,000,000 records as 20 jobs of 50,000
// (postprocess's unit of work) and reports the peak heap. Target: under
// 200 MB.
func BenchmarkOutputToParquet1M(b *testing.B) {
	const jobs, n = 20, 50_000
	for b.Loop() {
		peak := memprobe.PeakHeap(func() {
			for range jobs {
				reqs := benchRequests(b, n)
				c, err := NewCollector("anthropic.claude-3-haiku-20240307-v1:0", prompts.Default(), reqs.PromptIDs())
				if err != nil {
					b.Fatal(err)
				}
				runJob(b, reqs, c, n)
			}
		})
		b.ReportMetric(memprobe.MB(peak), "peak-heap-MB")
	}
	b.ReportMetric(float64(jobs*n*b.N)/b.Elapsed().Seconds(), "records/s")
}
