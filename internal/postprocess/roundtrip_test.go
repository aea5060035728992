package postprocess

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/bbo-dev/bbo/internal/batchio"
	"github.com/bbo-dev/bbo/internal/jobspec"
	"github.com/bbo-dev/bbo/internal/records"
	"github.com/bbo-dev/bbo/internal/s3io"
)

// writeJob stores the request rows and the output of job index with n
// records (every 1000th an error line) and returns its TaskItem and the
// output file's size.
func writeJob(t testing.TB, c *s3.Client, p string, index, n int) (jobspec.TaskItem, int) {
	t.Helper()
	nnnn := batchio.IndexName(index)
	ids := make([]string, n)
	out := make([]byte, 0, n*600)
	for i := range ids {
		ids[i] = "j" + nnnn + "-r" + strconv.Itoa(i)
		if i%1000 == 999 {
			out = append(out, errorLine(ids[i])...)
		} else {
			out = append(out, claudeLine(ids[i], category("t-shirt", 0.9))...)
		}
	}
	put(t, c, "batch_inputs_parquet/"+p+"/"+nnnn+".snappy.parquet", requestRows(t, ids, classify))
	id := "job" + nnnn
	put(t, c, "batch_outputs_json/"+p+"/"+nnnn+"/"+id+"/"+nnnn+".jsonl.out", out)
	it := jobspec.TaskItem{
		JobConfig: jobspec.JobConfig{JobIndex: index, JobName: p + "-part-" + nnnn, ModelID: haiku, JobNamePrefix: p,
			S3URIOutput:      "s3://bkt/batch_outputs_json/" + p + "/" + nnnn + "/",
			InputParquetPath: "s3://bkt/batch_inputs_parquet/" + p + "/" + nnnn + ".snappy.parquet", Records: n},
		JobARN: "arn:aws:bedrock:us-east-1:1:model-invocation-job/" + id, Status: jobspec.StatusPartiallyCompleted,
	}
	return it, len(out)
}

// TestRoundTrip200k is the postprocess side of the 200,000-record
// preprocess→postprocess round trip: four jobs of 50,000 requests, every
// row comes back.
func TestRoundTrip200k(t *testing.T) {
	if testing.Short() {
		t.Skip("200,000 records: skipped with -short")
	}
	if raceEnabled {
		t.Skip("200,000 records: too slow under -race; TestHandle covers the same paths")
	}
	c := newS3(t)
	h := &Handler{S3: c, Bucket: bucket, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	const jobs, per = 4, 50_000
	start := time.Now()
	total := 0
	for j := range jobs {
		it, _ := writeJob(t, c, "rt", j, per)
		out, err := h.Handle(context.Background(), it)
		if err != nil {
			t.Fatal(err)
		}
		if out.Stats.Rows != per || out.Stats.Failed != per/1000 || out.Stats.Succeeded != per-per/1000 {
			t.Errorf("job %d stats = %+v", j, out.Stats)
		}
		u, _ := s3io.ParseURI(out.OutputPath)
		ra, err := s3io.NewReaderAt(context.Background(), c, u)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rec, err := range records.ReadParquet(ra, ra.Size(), out.OutputPath, records.ReadOptions{}) {
			if err != nil {
				t.Fatal(err)
			}
			if v, _ := rec.Get("category"); v != "t-shirt" {
				if e, _ := rec.Get("error"); e == "" {
					t.Fatalf("%s: category %q and no error", rec.Where(), v)
				}
			}
			n++
		}
		total += n
	}
	if total != jobs*per {
		t.Errorf("read back %d rows, want %d", total, jobs*per)
	}
	t.Logf("%d records postprocessed and read back in %v", total, time.Since(start))
}

func BenchmarkHandle(b *testing.B) {
	c := newS3(b)
	h := &Handler{S3: c, Bucket: bucket, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	it, size := writeJob(b, c, "bench", 0, 10_000)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Handle(context.Background(), it); err != nil {
			b.Fatal(err)
		}
	}
}
