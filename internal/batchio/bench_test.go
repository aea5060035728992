package batchio

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// textLine is a ~1 KB output line of a text job.
var textLine = `{"modelInput":{"anthropic_version":"bedrock-2023-05-31","max_tokens":1024,"messages":[{"role":"user","content":[{"type":"text","text":"` +
	strings.Repeat("Based on the following clothing item details, generate a title. ", 8) +
	`"}]}]},"modelOutput":{"id":"msg_bdrk_01DgLtA8tHywj93stSdTrf7z","type":"message","role":"assistant","model":"claude-3-haiku-20240307","content":[{"type":"text","text":"{\n    \"title\": \"Navy Blue Cotton Casual Shorts\",\n    \"description\": \"Comfortable shorts.\"\n}"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":145,"output_tokens":106}},"recordId":"988bee90-af1f-4cd5-b6c6-4ac25fbaf157"}` + "\n"

func BenchmarkReadOutput(b *testing.B) {
	const n = 1000
	data := bytes.Repeat([]byte(textLine), n)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		count := 0
		for line, err := range ReadOutput(bytes.NewReader(data), "bench") {
			if err != nil || line.ModelOutput == nil {
				b.Fatal(err)
			}
			count++
		}
		if count != n {
			b.Fatalf("read %d lines", count)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "lines/s")
}

func BenchmarkReadOutputImage(b *testing.B) {
	line := `{"modelInput":{"messages":[{"content":[{"source":{"data":"` + strings.Repeat("QUJD", 10_000) + `"}}]}]},"modelOutput":{"content":[{"text":"{}"}]},"recordId":"r"}` + "\n"
	data := bytes.Repeat([]byte(line), 100)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		for _, err := range ReadOutput(bytes.NewReader(data), "bench") {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkAppendInputLine(b *testing.B) {
	in := []byte(`{"anthropic_version":"bedrock-2023-05-31","max_tokens":1024,"messages":[{"role":"user","content":[{"type":"text","text":"` + strings.Repeat("x", 800) + `"}]}]}`)
	var buf []byte
	b.ReportAllocs()
	b.SetBytes(int64(len(in) + 60))
	for b.Loop() {
		buf = AppendInputLine(buf[:0], "d2c8053b-eb62-40da-8eaf-bfb8ccc8b916", in)
	}
}

type discardSink struct{}
type discardJob struct{}

func (discardSink) Open(int) (JobWriter[int], error) { return discardJob{}, nil }
func (discardJob) Add(Item[int]) error               { return nil }
func (discardJob) Close() error                      { return nil }

func BenchmarkPacker(b *testing.B) {
	line := []byte(textLine)
	const n = 10_000
	b.ReportAllocs()
	b.SetBytes(int64(len(line) * n))
	for b.Loop() {
		p, err := NewPacker[int](DefaultLimits(), discardSink{})
		if err != nil {
			b.Fatal(err)
		}
		for i := range n {
			if _, err := p.Add(Item[int]{ID: "r", Line: line, Value: i}); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := p.Close(); err != nil {
			b.Fatal(fmt.Errorf("close: %w", err))
		}
	}
}
