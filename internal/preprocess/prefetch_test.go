package preprocess

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/bbo-dev/bbo/internal/awsenv"
	"github.com/bbo-dev/bbo/internal/records"
	"github.com/bbo-dev/bbo/internal/s3io"
)

// gauge sits in front of the S3 stand-in: it delays every HEAD and GET of an
// object under bkt/<prefix> and records how many run at once.
type gauge struct {
	next   http.Handler
	prefix string
	delay  func(key string) time.Duration

	cur, peak, total atomic.Int64
}

func (g *gauge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key, ok := strings.CutPrefix(r.URL.Path, "/bkt/")
	if ok && strings.HasPrefix(key, g.prefix) && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		n := g.cur.Add(1)
		g.total.Add(1)
		for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
		}
		// The request stops counting before its response starts, so a client
		// that sends its next request on receipt is never counted twice.
		cw := &countedWriter{ResponseWriter: w, done: func() { g.cur.Add(-1) }}
		defer cw.finish()
		w = cw
		if d := g.delay(key); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
	}
	g.next.ServeHTTP(w, r)
}

// countedWriter calls done once, before the first byte of the response.
type countedWriter struct {
	http.ResponseWriter
	once sync.Once
	done func()
}

func (c *countedWriter) finish() { c.once.Do(c.done) }

func (c *countedWriter) WriteHeader(code int) {
	c.finish()
	c.ResponseWriter.WriteHeader(code)
}

func (c *countedWriter) Write(p []byte) (int, error) {
	c.finish()
	return c.ResponseWriter.Write(p)
}

// newGaugedEnv is newEnv with a gauge on objects under prefix.
func newGaugedEnv(t testing.TB, prefix string, delay func(key string) time.Duration) (*env, *gauge) {
	t.Helper()
	g := &gauge{next: gofakes3.New(s3mem.New()).Server(), prefix: prefix, delay: delay}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	c := awsenv.S3(awsenv.Static(srv.URL))
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	api := &countingS3{Client: c, gets: map[string]int{}}
	h := &Handler{S3: api, Bucket: "bkt", MinRecordsPerJob: 1, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return &env{api: api, h: h}, g
}

// putImages stores n distinct PNGs as imgs/000.png, imgs/001.png, ... and
// returns their bytes.
func putImages(t testing.TB, e *env, n int) [][]byte {
	t.Helper()
	imgs := make([][]byte, n)
	for i := range n {
		imgs[i] = tinyPNG(t, i+1)
		e.put(t, fmt.Sprintf("imgs/%03d.png", i), imgs[i])
	}
	return imgs
}

// tinyPNG is a w×1 PNG: distinct bytes for each width.
func tinyPNG(t testing.TB, w int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, 1))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// randomDelays gives each key a fixed random delay below limit.
func randomDelays(seed uint64, limit time.Duration) func(string) time.Duration {
	return func(key string) time.Duration {
		h := seed
		for _, c := range []byte(key) {
			h = h*1099511628211 ^ uint64(c)
		}
		return time.Duration(rand.New(rand.NewPCG(h, seed)).Int64N(int64(limit)))
	}
}

// prefetchGoroutines counts goroutines still running a prefetcher's fetch
// or its pulled record source. It does not wait: wrap must have ended them
// all by the time it returns.
func prefetchGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "preprocess.(*prefetcher).start.func") || strings.Contains(g, "iter.Pull2") {
			n++
		}
	}
	return n
}

// jobLines returns the raw lines of every job's Bedrock input, in job order.
func jobLines(t *testing.T, e *env, out Output) []string {
	t.Helper()
	var lines []string
	for _, j := range out.Jobs {
		lines = append(lines, strings.Split(strings.TrimSuffix(string(e.get(t, j.S3URIInput)), "\n"), "\n")...)
	}
	return lines
}

func TestImagePrefetchOrder(t *testing.T) {
	const n = 30
	e, g := newGaugedEnv(t, "imgs/", randomDelays(7, 8*time.Millisecond))
	imgs := putImages(t, e, n)
	for _, conc := range []int{1, 4, 0} {
		t.Run(fmt.Sprintf("concurrency=%d", conc), func(t *testing.T) {
			g.peak.Store(0)
			e.h.ImageConcurrency = conc
			in := imageReq("s3://bkt/imgs/")
			in.Request.MaxRecordsPerJob = 7
			out, err := e.h.Handle(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if out.Summary.Requests != n || out.Summary.FailedRecords != 0 {
				t.Fatalf("summary %+v", out.Summary)
			}
			lines := jobLines(t, e, out)
			if len(lines) != n {
				t.Fatalf("%d lines, want %d", len(lines), n)
			}
			for i, l := range lines {
				var v struct {
					RecordID string `json:"recordId"`
				}
				if err := json.Unmarshal([]byte(l), &v); err != nil {
					t.Fatal(err)
				}
				if want := records.ImageID(fmt.Sprintf("s3://bkt/imgs/%03d.png", i)); v.RecordID != want {
					t.Fatalf("line %d is record %s, want %s: order not kept", i, v.RecordID, want)
				}
				if !strings.Contains(l, base64.StdEncoding.EncodeToString(imgs[i])) {
					t.Fatalf("line %d (%s) does not carry image %03d.png", i, v.RecordID, i)
				}
			}
			want := int64(conc)
			if conc == 0 {
				want = DefaultImageConcurrency
			}
			if p := g.peak.Load(); p > want || (want > 1 && p < 2) {
				t.Errorf("peak concurrent object requests %d, want 2..%d", p, want)
			}
		})
	}
}

func TestImagePrefetchBounds(t *testing.T) {
	const n = 25
	e, _ := newGaugedEnv(t, "imgs/", randomDelays(3, 4*time.Millisecond))
	imgs := putImages(t, e, n)
	src := &s3Images{api: e.api, base: s3io.URI{Bucket: "bkt", Key: "imgs/"}}
	for _, conc := range []int{1, 2, 5} {
		t.Run(fmt.Sprintf("concurrency=%d", conc), func(t *testing.T) {
			// In flight is counted at the client here: a fetch cancelled
			// because its record never needed the image ends at once for
			// the prefetcher, while the server notices the closed
			// connection only some time later.
			var cur, peak atomic.Int64
			fetch := func(ctx context.Context, path string) ([]byte, error) {
				n := cur.Add(1)
				defer cur.Add(-1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				return src.FetchImage(ctx, path)
			}
			pf := newPrefetcher(fetch, "", conc)
			recs := func(yield func(records.Record, error) bool) {
				for i := range n {
					if !yield(records.ImageRecord(fmt.Sprintf("s3://bkt/imgs/%03d.png", i)), nil) {
						return
					}
				}
			}
			i := 0
			for rec, err := range pf.wrap(context.Background(), recs) {
				if err != nil {
					t.Fatal(err)
				}
				if h := pf.held.Load(); h > int64(conc) {
					t.Fatalf("record %d: %d images held, bound %d", i, h, conc)
				}
				// Every third record is never asked for its image, as when a
				// record fails before the builder needs it: the bound must hold.
				if i%3 != 2 {
					path, _ := rec.Get(records.ImagePathColumn)
					data, err := pf.FetchImage(context.Background(), path)
					if err != nil || !bytes.Equal(data, imgs[i]) {
						t.Fatalf("record %d: got %d bytes, %v; want image %03d.png", i, len(data), err, i)
					}
				}
				time.Sleep(time.Millisecond) // a consumer slower than nothing
				i++
			}
			if i != n {
				t.Fatalf("%d records, want %d", i, n)
			}
			if m := pf.maxHeld.Load(); m != int64(conc) {
				t.Errorf("at most %d images held, want exactly the bound %d (window filled)", m, conc)
			}
			if p := peak.Load(); p > int64(conc) {
				t.Errorf("%d fetches at once, bound %d", p, conc)
			}
			if h := pf.held.Load(); h != 0 {
				t.Errorf("%d images still held after the stream ended", h)
			}
		})
	}
}

func TestImagePrefetchEarlyStop(t *testing.T) {
	const n = 40
	e, g := newGaugedEnv(t, "imgs/", func(string) time.Duration { return 20 * time.Millisecond })
	putImages(t, e, n)
	src := &s3Images{api: e.api}
	recs := func(yield func(records.Record, error) bool) {
		for i := range n {
			if !yield(records.ImageRecord(fmt.Sprintf("s3://bkt/imgs/%03d.png", i)), nil) {
				return
			}
		}
	}
	before := prefetchGoroutines()
	tests := []struct {
		name string
		run  func(t *testing.T, pf *prefetcher)
	}{
		{"consumer breaks", func(t *testing.T, pf *prefetcher) {
			i := 0
			for rec := range pf.wrap(context.Background(), recs) {
				path, _ := rec.Get(records.ImagePathColumn)
				if _, err := pf.FetchImage(context.Background(), path); err != nil {
					t.Fatal(err)
				}
				if i++; i == 3 {
					break
				}
			}
		}},
		{"context cancelled", func(t *testing.T, pf *prefetcher) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			i, failed := 0, 0
			for rec := range pf.wrap(ctx, recs) {
				if i++; i == 3 {
					cancel()
				}
				path, _ := rec.Get(records.ImagePathColumn)
				if _, err := pf.FetchImage(ctx, path); err != nil {
					if !errors.Is(err, context.Canceled) {
						t.Fatalf("record %d: %v, want context.Canceled", i, err)
					}
					failed++
				}
			}
			if failed == 0 {
				t.Error("no fetch failed after cancel")
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g.total.Store(0)
			pf := newPrefetcher(src.FetchImage, "", 8)
			start := time.Now()
			tc.run(t, pf)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v: outstanding fetches were not cancelled", d)
			}
			if left := prefetchGoroutines(); left > before {
				t.Errorf("%d prefetch goroutines left running", left-before)
			}
			if h := pf.held.Load(); h != 0 {
				t.Errorf("%d images still held", h)
			}
		})
	}
	t.Run("max_num_jobs", func(t *testing.T) {
		g.total.Store(0)
		in := imageReq("s3://bkt/imgs/")
		in.Request.MaxRecordsPerJob, in.Request.MaxNumJobs = 5, 1
		out, err := e.h.Handle(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if !out.Summary.Truncated || out.Summary.Requests != 5 {
			t.Fatalf("summary %+v", out.Summary)
		}
		// 6 records are built (the sixth finds the jobs full) and at most
		// 8 more are fetched ahead: 2 requests each.
		if got := g.total.Load(); got > 2*(6+8) {
			t.Errorf("%d object requests for a run that stopped after 6 records", got)
		}
		if left := prefetchGoroutines(); left > before {
			t.Errorf("%d prefetch goroutines left running", left-before)
		}
	})
}

func TestImagePrefetchDuplicates(t *testing.T) {
	e, _ := newGaugedEnv(t, "imgs/", randomDelays(11, 5*time.Millisecond))
	a, b := pngBytes(t, 2, 2), jpegBytes(t)
	e.put(t, "imgs/a.png", a)
	e.put(t, "imgs/b.jpg", b)
	e.put(t, "imgs/corrupt.png", []byte("\x89PNG\r\n\x1a\nnot really"))
	e.put(t, "imgs/huge.jpg", bytes.Repeat([]byte{0xff}, 4<<20))
	e.put(t, "table/list.csv", []byte("record_id,image_path\n"+
		"r1,s3://bkt/imgs/a.png\nr2,s3://bkt/imgs/a.png\nr3,../imgs/b.jpg\nr4,s3://bkt/imgs/missing.png\n"+
		"r5,s3://bkt/imgs/huge.jpg\nr6,s3://bkt/imgs/a.png\nr7,s3://bkt/imgs/corrupt.png\nr8,\n"+
		"r9,s3://bkt/imgs/b.jpg\nr10,s3://bkt/imgs/a.png\n"))
	wantImage := map[string][]byte{"r1": a, "r2": a, "r3": b, "r6": a, "r9": b, "r10": a}
	wantFailed := []string{"r4", "r5", "r7", "r8"}

	var first struct {
		lines, fails string
	}
	for _, conc := range []int{1, 3, 8} {
		t.Run(fmt.Sprintf("concurrency=%d", conc), func(t *testing.T) {
			e.h.ImageConcurrency = conc
			out, err := e.h.Handle(context.Background(), imageReq("s3://bkt/table/list.csv"))
			if err != nil {
				t.Fatal(err)
			}
			if out.Summary.Requests != len(wantImage) || out.Summary.FailedRecords != len(wantFailed) {
				t.Fatalf("summary %+v", out.Summary)
			}
			lines := jobLines(t, e, out)
			var ids []string
			for _, l := range lines {
				var v struct {
					RecordID string `json:"recordId"`
				}
				if err := json.Unmarshal([]byte(l), &v); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, v.RecordID)
				if !strings.Contains(l, base64.StdEncoding.EncodeToString(wantImage[v.RecordID])) {
					t.Errorf("request %s does not carry its image", v.RecordID)
				}
			}
			if got := strings.Join(ids, ","); got != "r1,r2,r3,r6,r9,r10" {
				t.Errorf("requests %s", got)
			}
			var failed []string
			for _, f := range e.failures(t, out.Summary.ErrorsURI) {
				failed = append(failed, f.RecordID)
			}
			if got := strings.Join(failed, ","); got != strings.Join(wantFailed, ",") {
				t.Errorf("failed %s, want %s", got, strings.Join(wantFailed, ","))
			}
			// Concurrency must change nothing in what is written.
			lj, fj := strings.Join(lines, "\n"), string(e.get(t, out.Summary.ErrorsURI))
			if first.lines == "" {
				first.lines, first.fails = lj, fj
			} else if lj != first.lines || fj != first.fails {
				t.Errorf("output differs from concurrency 1:\nfailures %s\nwant     %s", fj, first.fails)
			}
		})
	}
}

// BenchmarkImagePrefetch runs Handle on a folder of 200 small images behind
// an S3 that takes 10 ms per object request (each image is a HEAD and a
// GET), one at a time and with the default prefetch window.
func BenchmarkImagePrefetch(b *testing.B) {
	const n = 200
	e, _ := newGaugedEnv(b, "imgs/", func(string) time.Duration { return 10 * time.Millisecond })
	var size int64
	for _, img := range putImages(b, e, n) {
		size += int64(len(img))
	}
	for _, conc := range []int{1, DefaultImageConcurrency} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			e.h.ImageConcurrency = conc
			in := imageReq("s3://bkt/imgs/")
			in.Request.MaxRecordsPerJob = n
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				out, err := e.h.Handle(context.Background(), in)
				if err != nil || out.Summary.Requests != n {
					b.Fatalf("requests %d, %v", out.Summary.Requests, err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
