package preprocess

import (
	"github.com/bbo-dev/bbo/internal/s3test"

	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/bbo-dev/bbo/internal/config"
	"github.com/bbo-dev/bbo/internal/hfdataset"
	"github.com/bbo-dev/bbo/internal/records"
	"github.com/bbo-dev/bbo/internal/s3io"
	"github.com/bbo-dev/bbo/internal/taskerr"
)

const claude = "anthropic.claude-3-haiku-20240307-v1:0"

// countingS3 is the real client, remembering which keys were downloaded.
type countingS3 struct {
	*s3.Client
	mu   sync.Mutex
	gets map[string]int
}

func (c *countingS3) GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	c.mu.Lock()
	c.gets[aws.ToString(in.Key)]++
	c.mu.Unlock()
	return c.Client.GetObject(ctx, in, opts...)
}

type env struct {
	api *countingS3
	h   *Handler
}

func newEnv(t testing.TB) *env {
	t.Helper()
	c := s3test.New(t, "bkt")
	api := &countingS3{Client: c, gets: map[string]int{}}
	return &env{api: api, h: &Handler{S3: api, Bucket: "bkt", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}}
}

func (e *env) put(t testing.TB, key string, data []byte) {
	t.Helper()
	if err := s3io.Put(context.Background(), e.api, s3io.URI{Bucket: "bkt", Key: key}, data, ""); err != nil {
		t.Fatal(err)
	}
}

func (e *env) get(t testing.TB, uri string) []byte {
	t.Helper()
	u, err := s3io.ParseURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s3io.ReadAll(context.Background(), e.api, u, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// inputLines returns the recordIds of a job's Bedrock input, checking each
// line is valid JSON with a modelInput.
func (e *env) inputLines(t *testing.T, uri string) []string {
	t.Helper()
	var ids []string
	for _, l := range strings.Split(strings.TrimSuffix(string(e.get(t, uri)), "\n"), "\n") {
		var v struct {
			RecordID   string          `json:"recordId"`
			ModelInput json.RawMessage `json:"modelInput"`
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil || v.RecordID == "" || len(v.ModelInput) == 0 {
			t.Fatalf("bad input line %q: %v", l, err)
		}
		ids = append(ids, v.RecordID)
	}
	return ids
}

// rows reads a job's request rows.
func (e *env) rows(t *testing.T, uri string) []records.Record {
	t.Helper()
	u, _ := s3io.ParseURI(uri)
	ra, err := s3io.NewReaderAt(context.Background(), e.api, u)
	if err != nil {
		t.Fatal(err)
	}
	var out []records.Record
	for r, err := range records.ReadParquet(ra, ra.Size(), uri, records.ReadOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func (e *env) failures(t *testing.T, uri string) []FailureLine {
	t.Helper()
	var out []FailureLine
	for _, l := range strings.Split(strings.TrimSpace(string(e.get(t, uri))), "\n") {
		var f FailureLine
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			t.Fatalf("bad failure line %q: %v", l, err)
		}
		out = append(out, f)
	}
	return out
}

// topicCSV makes n rows of id,topic (ids given) or topic only.
func topicCSV(n int, withID bool, prefix string) []byte {
	var b bytes.Buffer
	if withID {
		b.WriteString("record_id,topic\n")
	} else {
		b.WriteString("topic\n")
	}
	for i := range n {
		if withID {
			fmt.Fprintf(&b, "%s%d,", prefix, i)
		}
		fmt.Fprintf(&b, "topic %d\n", i)
	}
	return b.Bytes()
}

func req(s3uri string, mut ...func(*config.JobRequest)) Input {
	r := config.JobRequest{S3URI: s3uri, JobNamePrefix: "p1", ModelID: claude,
		PromptConfig: &config.PromptConfig{Mode: "single", PromptID: "joke_about_topic"}}
	for _, m := range mut {
		m(&r)
	}
	return Input{Request: r, RunID: "run123456"}
}

func jobSizes(out Output) []int {
	var n []int
	for _, j := range out.Jobs {
		n = append(n, j.Records)
	}
	return n
}

func TestCSVSingleMode(t *testing.T) {
	e := newEnv(t)
	e.put(t, "in/a.csv", topicCSV(250, true, "id"))
	out, err := e.h.Handle(context.Background(), req("s3://bkt/in/a.csv", func(r *config.JobRequest) { r.MaxRecordsPerJob = 100 }))
	if err != nil {
		t.Fatal(err)
	}
	if got := jobSizes(out); fmt.Sprint(got) != "[100 150]" {
		t.Fatalf("job sizes %v, want [100 150] (remainder of 50 merged)", got)
	}
	if out.Summary.MergedRemainder != 50 || out.Summary.RecordsRead != 250 || out.Summary.Requests != 250 || out.Summary.ErrorsURI != "" {
		t.Errorf("summary %+v", out.Summary)
	}
	j := out.Jobs[1]
	want := `{"job_index":1,"job_name":"p1-part-0001-7e00a8","model_id":"` + claude + `","job_name_prefix":"p1","s3_uri_input":"s3://bkt/batch_inputs_json/p1/0001.jsonl","s3_uri_output":"s3://bkt/batch_outputs_json/p1/0001/","input_parquet_path":"s3://bkt/batch_inputs_parquet/p1/0001.snappy.parquet","records":150}`
	if b, _ := json.Marshal(j); string(b) != want {
		t.Errorf("job config\n got %s\nwant %s", b, want)
	}
	ids := e.inputLines(t, j.S3URIInput)
	rows := e.rows(t, j.InputParquetPath)
	if len(ids) != 150 || len(rows) != 150 {
		t.Fatalf("%d lines, %d rows", len(ids), len(rows))
	}
	if got := strings.Join(rows[0].Header.Names(), ","); got != "record_id,topic,request_id,prompt_id" {
		t.Errorf("row columns %s", got)
	}
	r := rows[0].Map()
	if r["request_id"] != ids[0] || r["record_id"] != "id100" || r["prompt_id"] != "joke_about_topic" || r["topic"] != "topic 100" {
		t.Errorf("row %v, first id %s", r, ids[0])
	}
	// Same request and run id: same job names (idempotent reruns).
	again, err := e.h.Handle(context.Background(), req("s3://bkt/in/a.csv", func(r *config.JobRequest) { r.MaxRecordsPerJob = 100 }))
	if err != nil || again.Jobs[0].JobName != out.Jobs[0].JobName {
		t.Errorf("rerun: %v %v", again.Jobs, err)
	}
}

func TestFormats(t *testing.T) {
	e := newEnv(t)
	var jl bytes.Buffer
	for i := range 120 {
		fmt.Fprintf(&jl, "{\"topic\":\"t%d\",\"n\":%d}\n", i, i)
	}
	jl.WriteString("not json\n")
	e.put(t, "in/a.jsonl", jl.Bytes())
	var pq bytes.Buffer
	pw, err := records.NewParquetWriter(&pq, records.StringColumns(records.MustHeader("topic")))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 130 {
		if err := pw.WriteRecord(records.Record{Values: []string{fmt.Sprintf("p%d", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	e.put(t, "in/b.parquet", pq.Bytes())
	e.put(t, "in/c.xlsx", []byte("x"))
	for _, tc := range []struct {
		name, uri       string
		requests, fails int
		errName         string
	}{
		{name: "jsonl with a bad line", uri: "s3://bkt/in/a.jsonl", requests: 120, fails: 1},
		{name: "parquet", uri: "s3://bkt/in/b.parquet", requests: 130},
		{name: "unsupported extension", uri: "s3://bkt/in/c.xlsx", errName: taskerr.InvalidInput},
		{name: "missing object", uri: "s3://bkt/in/none.csv", errName: taskerr.InputNotFound},
		{name: "missing bucket", uri: "s3://nobucket/x.csv", errName: taskerr.InputNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := e.h.Handle(context.Background(), req(tc.uri))
			if tc.errName != "" {
				if taskerr.Name(err) != tc.errName {
					t.Fatalf("err = %v (%s), want %s", err, taskerr.Name(err), tc.errName)
				}
				if tc.errName == taskerr.InvalidInput && !strings.Contains(err.Error(), ".xlsx") {
					t.Errorf("error does not name the extension: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out.Summary.Requests != tc.requests || out.Summary.FailedRecords != tc.fails || len(out.Jobs) != 1 {
				t.Fatalf("summary %+v, %d jobs", out.Summary, len(out.Jobs))
			}
			if tc.fails > 0 && len(e.failures(t, out.Summary.ErrorsURI)) != tc.fails {
				t.Errorf("errors file does not hold %d failures", tc.fails)
			}
			if rows := e.rows(t, out.Jobs[0].InputParquetPath); rows[0].ID() == "" || len(rows) != tc.requests {
				t.Errorf("rows %d, first id %q", len(rows), rows[0].ID())
			}
		})
	}
}

func TestPrefixOfCSVs(t *testing.T) {
	e := newEnv(t)
	e.put(t, "multi/a.csv", topicCSV(80, false, ""))
	e.put(t, "multi/b.csv", topicCSV(80, false, ""))
	e.put(t, "multi/readme.txt", []byte("notes"))
	e.put(t, "other/a.csv", []byte("topic,extra\nx,y\n"))
	e.put(t, "other/b.csv", []byte("topic\nx\n"))
	t.Run("unique ids, skipped file counted", func(t *testing.T) {
		out, err := e.h.Handle(context.Background(), req("s3://bkt/multi"))
		if err != nil {
			t.Fatal(err)
		}
		if out.Summary.Requests != 160 || out.Summary.SkippedFiles != 1 {
			t.Fatalf("summary %+v", out.Summary)
		}
		seen := map[string]bool{}
		for _, id := range e.inputLines(t, out.Jobs[0].S3URIInput) {
			if seen[id] {
				t.Fatalf("duplicate id %s", id)
			}
			seen[id] = true
		}
		if !seen["f0001-r00000001"] || !seen["f0002-r00000080"] {
			t.Errorf("ids not prefixed per file: %d ids", len(seen))
		}
	})
	t.Run("different columns", func(t *testing.T) {
		e.h.MinRecordsPerJob = 1
		defer func() { e.h.MinRecordsPerJob = 0 }()
		_, err := e.h.Handle(context.Background(), req("s3://bkt/other/"))
		if taskerr.Name(err) != taskerr.InvalidInput || !strings.Contains(err.Error(), "other/b.csv has columns [topic, record_id]") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("empty prefix", func(t *testing.T) {
		_, err := e.h.Handle(context.Background(), req("s3://bkt/nothing/"))
		if taskerr.Name(err) != taskerr.InputNotFound {
			t.Fatalf("err = %v", err)
		}
	})
}

func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	img.Set(0, 0, color.RGBA{R: 255, A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegBytes(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 4, 3)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func imageReq(uri string) Input {
	return req(uri, func(r *config.JobRequest) {
		r.InputType = "image"
		r.PromptConfig = &config.PromptConfig{Mode: "single", PromptID: "image_classification"}
	})
}

func TestImages(t *testing.T) {
	e := newEnv(t)
	e.h.MinRecordsPerJob = 2
	e.put(t, "imgs/a.png", pngBytes(t, 2, 2))
	e.put(t, "imgs/b.JPG", jpegBytes(t))
	e.put(t, "imgs/c.png", pngBytes(t, 3, 1))
	e.put(t, "imgs/corrupt.png", []byte("\x89PNG\r\n\x1a\nnot really"))
	e.put(t, "imgs/huge.jpg", bytes.Repeat([]byte{0xff}, 4<<20))
	e.put(t, "imgs/notes.txt", []byte("x"))
	e.put(t, "table/list.csv", []byte("image_path,label\ns3://bkt/imgs/a.png,x\n../imgs/c.png,y\ns3://bkt/imgs/missing.png,z\n"))

	t.Run("folder", func(t *testing.T) {
		out, err := e.h.Handle(context.Background(), imageReq("s3://bkt/imgs/"))
		if err != nil {
			t.Fatal(err)
		}
		if out.Summary.Requests != 3 || out.Summary.FailedRecords != 2 || out.Summary.SkippedFiles != 1 {
			t.Fatalf("summary %+v", out.Summary)
		}
		fails := e.failures(t, out.Summary.ErrorsURI)
		text := fmt.Sprint(fails)
		if !strings.Contains(text, "corrupt image") || !strings.Contains(text, "image too large") || fails[0].RecordID == "" {
			t.Errorf("failures %s", text)
		}
		if n := e.api.gets["imgs/huge.jpg"]; n != 0 {
			t.Errorf("the oversize image was downloaded %d times; a HEAD should reject it", n)
		}
		rows := e.rows(t, out.Jobs[0].InputParquetPath)
		if got := strings.Join(rows[0].Header.Names(), ","); got != "record_id,image_path,file_name,request_id,prompt_id" {
			t.Errorf("columns %s", got)
		}
		if !strings.Contains(string(e.get(t, out.Jobs[0].S3URIInput)), `"media_type":"image/png"`) {
			t.Error("PNG not sent as image/png")
		}
	})
	t.Run("csv of image paths", func(t *testing.T) {
		out, err := e.h.Handle(context.Background(), imageReq("s3://bkt/table/list.csv"))
		if err != nil {
			t.Fatal(err)
		}
		if out.Summary.Requests != 2 || out.Summary.FailedRecords != 1 {
			t.Fatalf("summary %+v", out.Summary)
		}
		if f := e.failures(t, out.Summary.ErrorsURI); !strings.Contains(f[0].Reason, "missing.png does not exist") {
			t.Errorf("failure %+v", f)
		}
	})
	t.Run("no images", func(t *testing.T) {
		e.put(t, "noimg/a.txt", []byte("x"))
		_, err := e.h.Handle(context.Background(), imageReq("s3://bkt/noimg/"))
		if taskerr.Name(err) != taskerr.InputNotFound || !strings.Contains(err.Error(), "No images found under s3://bkt/noimg/") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestPromptModes(t *testing.T) {
	e := newEnv(t)
	var b bytes.Buffer
	b.WriteString("record_id,pid,kind,topic,product_description\n")
	for i := range 110 {
		pid, kind := "joke_about_topic", "clothing"
		if i == 0 {
			pid, kind = "no_such_prompt", "spaceship"
		}
		fmt.Fprintf(&b, "r%d,%s,%s,t%d,a red shirt\n", i, pid, kind, i)
	}
	e.put(t, "modes.csv", b.Bytes())
	t.Run("mapped", func(t *testing.T) {
		out, err := e.h.Handle(context.Background(), req("s3://bkt/modes.csv", func(r *config.JobRequest) {
			r.PromptConfig = &config.PromptConfig{Mode: "mapped", ColumnName: "pid"}
		}))
		if err != nil {
			t.Fatal(err)
		}
		f := e.failures(t, out.Summary.ErrorsURI)
		if out.Summary.Requests != 109 || len(f) != 1 || f[0].RecordID != "r0" || f[0].PromptID != "no_such_prompt" {
			t.Fatalf("summary %+v failures %+v", out.Summary, f)
		}
	})
	t.Run("expanded", func(t *testing.T) {
		out, err := e.h.Handle(context.Background(), req("s3://bkt/modes.csv", func(r *config.JobRequest) {
			r.PromptConfig = &config.PromptConfig{Mode: "expanded", CategoryColumn: "kind", ExpansionMapping: map[string]string{"clothing": "detailed_clothing_analysis"}}
		}))
		if err != nil {
			t.Fatal(err)
		}
		ids := e.inputLines(t, out.Jobs[0].S3URIInput)
		if out.Summary.Requests != 327 || ids[0] != "r1-001" || ids[2] != "r1-003" || out.Summary.FailedRecords != 1 {
			t.Fatalf("summary %+v, ids %v", out.Summary, ids[:3])
		}
	})
}

func TestHuggingFace(t *testing.T) {
	e := newEnv(t)
	var shard bytes.Buffer
	pw, _ := records.NewParquetWriter(&shard, records.StringColumns(records.MustHeader("topic")))
	for i := range 60 {
		_ = pw.WriteRecord(records.Record{Values: []string{fmt.Sprintf("hf %d", i)}})
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/datasets/org/ds/parquet/default/train":
			_ = json.NewEncoder(w).Encode([]string{srv.URL + "/s/0.parquet", srv.URL + "/s/1.parquet"})
		case "/api/datasets/org/ds/parquet":
			_, _ = io.WriteString(w, `{"default":{"train":["`+srv.URL+`/s/0.parquet"],"test":["`+srv.URL+`/s/0.parquet"]}}`)
		case "/s/0.parquet", "/s/1.parquet":
			_, _ = w.Write(shard.Bytes())
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	e.h.HF = hfdataset.New(srv.URL, "", srv.Client())
	dsReq := func(split string) Input {
		return req("", func(r *config.JobRequest) { r.DatasetID, r.Split = "org/ds", split })
	}
	out, err := e.h.Handle(context.Background(), dsReq(""))
	if err != nil {
		t.Fatal(err)
	}
	ids := e.inputLines(t, out.Jobs[0].S3URIInput)
	if out.Summary.Requests != 120 || ids[0] != "f0001-r00000001" || ids[60] != "f0002-r00000001" {
		t.Fatalf("summary %+v ids %v", out.Summary, ids[:2])
	}
	if len(e.get(t, "s3://bkt/hf/org/ds/0001.parquet")) != shard.Len() {
		t.Error("shard not copied to hf/org/ds/0001.parquet")
	}
	_, err = e.h.Handle(context.Background(), dsReq("validation"))
	if taskerr.Name(err) != taskerr.InputNotFound || !strings.Contains(err.Error(), "default/test, default/train") {
		t.Fatalf("err = %v", err)
	}
}

func TestLimitsAndErrors(t *testing.T) {
	e := newEnv(t)
	e.put(t, "big.csv", topicCSV(1000, false, ""))
	e.put(t, "small.csv", topicCSV(40, false, ""))
	e.put(t, "bad.csv", []byte("other\n"+strings.Repeat("x\n", 150)))
	t.Run("max_num_jobs truncates", func(t *testing.T) {
		out, err := e.h.Handle(context.Background(), req("s3://bkt/big.csv", func(r *config.JobRequest) { r.MaxRecordsPerJob, r.MaxNumJobs = 200, 2 }))
		if err != nil {
			t.Fatal(err)
		}
		if !out.Summary.Truncated || len(out.Jobs) != 2 || out.Summary.Requests != 400 {
			t.Fatalf("summary %+v jobs %v", out.Summary, jobSizes(out))
		}
	})
	t.Run("too few records", func(t *testing.T) {
		_, err := e.h.Handle(context.Background(), req("s3://bkt/small.csv"))
		if taskerr.Name(err) != taskerr.TooFewRecords || !strings.Contains(err.Error(), "40 records") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("lowered minimum for emulators", func(t *testing.T) {
		h := *e.h
		h.MinRecordsPerJob = 10
		out, err := h.Handle(context.Background(), req("s3://bkt/small.csv", func(r *config.JobRequest) { r.MaxRecordsPerJob = 20 }))
		if err != nil || fmt.Sprint(jobSizes(out)) != "[20 20]" {
			t.Fatalf("jobs %v, %v", jobSizes(out), err)
		}
	})
	t.Run("all records fail", func(t *testing.T) {
		_, err := e.h.Handle(context.Background(), req("s3://bkt/bad.csv"))
		if taskerr.Name(err) != taskerr.InvalidInput || !strings.Contains(err.Error(), "s3://bkt/batch_errors/p1/preprocess.jsonl") || !strings.Contains(err.Error(), "topic") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("invalid request lists every problem", func(t *testing.T) {
		_, err := e.h.Handle(context.Background(), Input{Request: config.JobRequest{S3URI: "s3://bkt/big.csv", ModelID: "nope"}})
		if taskerr.Name(err) != taskerr.InvalidConfig || !strings.Contains(err.Error(), "model_id") || !strings.Contains(err.Error(), "job_name_prefix") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestInputDecoding(t *testing.T) {
	for _, tc := range []struct {
		name, in, errName string
	}{
		{name: "ok", in: `{"request":{"s3_uri":"s3://b/a.csv","job_name_prefix":"p","model_id":"m","prompt_id":"x"},"run_id":"r"}`},
		{name: "typo", in: `{"request":{"s3_uri":"s3://b/a.csv","job_name_prefx":"p"}}`, errName: taskerr.InvalidConfig},
		{name: "wrong type", in: `{"request":{"max_num_jobs":"3"}}`, errName: taskerr.InvalidConfig},
		{name: "no request", in: `{"run_id":"r"}`, errName: taskerr.InvalidConfig},
		{name: "not an object", in: `[1]`, errName: taskerr.InvalidConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var in Input
			err := json.Unmarshal([]byte(tc.in), &in)
			if tc.errName == "" {
				if err != nil || in.RunID != "r" || in.Request.JobNamePrefix != "p" {
					t.Fatalf("Input = %+v, %v", in, err)
				}
				return
			}
			if taskerr.Name(err) != tc.errName {
				t.Fatalf("err = %v (%s)", err, taskerr.Name(err))
			}
			if tc.name == "typo" && !strings.Contains(err.Error(), "job_name_prefx") {
				t.Errorf("error does not name the field: %v", err)
			}
		})
	}
}

func TestFromEnv(t *testing.T) {
	vars := map[string]string{"BUCKET_NAME": "b", "MAX_RECORDS_PER_JOB": "500", "BBO_MIN_RECORDS_PER_JOB": "5", "HF_ENDPOINT": "http://hub", "BBO_IMAGE_CONCURRENCY": "16"}
	h, err := FromEnv(nil, func(k string) string { return vars[k] }, nil)
	if err != nil || h.Bucket != "b" || h.DefaultMaxRecordsPerJob != 500 || h.MinRecordsPerJob != 5 || h.HF.Endpoint() != "http://hub" || h.ImageConcurrency != 16 {
		t.Fatalf("FromEnv = %+v, %v", h, err)
	}
	vars["MAX_RECORDS_PER_JOB"] = "lots"
	if _, err := FromEnv(nil, func(k string) string { return vars[k] }, nil); err == nil || !strings.Contains(err.Error(), "MAX_RECORDS_PER_JOB") {
		t.Errorf("err = %v", err)
	}
}

func FuzzInputUnmarshal(f *testing.F) {
	f.Add([]byte(`{"request":{"s3_uri":"s3://b/a.csv","job_name_prefix":"p","model_id":"m","prompt_id":"x"},"run_id":"r"}`))
	f.Add([]byte(`{"request":null}`))
	f.Add([]byte(`{"request":{"prompt_config":{"mode":"expanded","expansion_mapping":{"a":"b"}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var in Input
		if err := in.UnmarshalJSON(data); err != nil {
			if taskerr.Name(err) != taskerr.InvalidConfig {
				t.Fatalf("error without InvalidConfig name: %v", err)
			}
		}
	})
}

// One execution runs at most config.MaxJobsPerExecution jobs: an input that
// needs more fails before any job is submitted, saying what to change.
func TestTooManyJobsForOneExecution(t *testing.T) {
	e := newEnv(t)
	e.h.MinRecordsPerJob = 1
	var b strings.Builder
	b.WriteString("topic\n")
	for i := range config.MaxJobsPerExecution + 1 {
		fmt.Fprintf(&b, "t%d\n", i)
	}
	e.put(t, "inputs/many.csv", []byte(b.String()))
	in := Input{Request: config.JobRequest{S3URI: "s3://bkt/inputs/many.csv", JobNamePrefix: "many",
		ModelID: "anthropic.claude-3-haiku-20240307-v1:0", PromptID: "joke_about_topic", MaxRecordsPerJob: 1}, RunID: "r"}
	_, err := e.h.Handle(context.Background(), in)
	if taskerr.Name(err) != taskerr.InvalidConfig || !strings.Contains(err.Error(), "raise max_records_per_job") {
		t.Fatalf("err = %v, want InvalidConfig telling to raise max_records_per_job", err)
	}
}
