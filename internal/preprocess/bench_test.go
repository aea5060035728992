package preprocess

import (
	"context"
	"runtime"
	"testing"

	"github.com/bbo-dev/bbo/internal/config"
	"github.com/bbo-dev/bbo/internal/memprobe"
)

// BenchmarkPreprocess runs Handle on a 200,000-record CSV in an in-process
// S3 server. peak-heap-MB includes the fake server, which keeps the input
// and every output object in memory; work-heap-MB subtracts what is still
// held after the run (the stored objects), leaving Handle's own working set.
func BenchmarkPreprocess(b *testing.B) {
	const n = 200_000
	e := newEnv(b)
	data := topicCSV(n, false, "")
	e.put(b, "bench/in.csv", data)
	in := req("s3://bkt/bench/in.csv", func(r *config.JobRequest) { r.MaxRecordsPerJob = 10_000 })
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var peak, after uint64
	for b.Loop() {
		peak = max(peak, memprobe.PeakHeap(func() {
			out, err := e.h.Handle(context.Background(), in)
			if err != nil || out.Summary.Requests != n {
				b.Fatalf("requests %d, %v", out.Summary.Requests, err)
			}
		}))
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	after = ms.HeapInuse
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(memprobe.MB(peak), "peak-heap-MB")
	if peak > after {
		b.ReportMetric(memprobe.MB(peak-after), "work-heap-MB")
	}
}
