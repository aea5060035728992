package postprocess

import (
	"github.com/bbo-dev/bbo/internal/s3test"

	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/bbo-dev/bbo/internal/batchio"
	"github.com/bbo-dev/bbo/internal/jobspec"
	"github.com/bbo-dev/bbo/internal/records"
	"github.com/bbo-dev/bbo/internal/s3io"
	"github.com/bbo-dev/bbo/internal/taskerr"
)

const (
	bucket   = "bkt"
	haiku    = "anthropic.claude-3-haiku-20240307-v1:0"
	classify = "classify_clothing_category"
)

func newS3(t testing.TB) *s3.Client {
	t.Helper()
	return s3test.New(t, bucket)
}

func put(t testing.TB, c *s3.Client, key string, body []byte) {
	t.Helper()
	if err := s3io.Put(context.Background(), c, s3io.URI{Bucket: bucket, Key: key}, body, "application/octet-stream"); err != nil {
		t.Fatal(err)
	}
}

// requestRows writes a job's request rows as preprocess does.
func requestRows(t testing.TB, ids []string, prompt string) []byte {
	t.Helper()
	var buf bytes.Buffer
	h := records.MustHeader("record_id", "image_path", "request_id", "prompt_id")
	pw, err := records.NewParquetWriter(&buf, records.StringColumns(h))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if err := pw.WriteRecord(records.Record{Header: h, Values: []string{id, "s3://bkt/inputs/" + id + ".jpg", id, prompt}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// claudeLine is a Bedrock output line shaped like the real Claude records
// (modelInput first, recordId last). Built by concatenation: the round-trip
// test makes 200,000 of them.
func claudeLine(id, text string) string {
	q, _ := json.Marshal(text)
	return `{"modelInput":{"anthropic_version":"bedrock-2023-05-31","max_tokens":1024,"messages":[{"role":"user","content":[{"type":"text","text":"classify"}]}]},` +
		`"modelOutput":{"id":"msg_bdrk_01FG6eytc1PqvqSz7USxa45i","type":"message","role":"assistant","model":"claude-3-haiku-20240307",` +
		`"content":[{"type":"text","text":` + string(q) + `}],"stop_reason":"end_turn","stop_sequence":null,` +
		`"usage":{"input_tokens":457,"output_tokens":25}},"recordId":"` + id + `"}` + "\n"
}

func errorLine(id string) string {
	return fmt.Sprintf(`{"modelInput":{},"error":{"errorCode":400,"errorMessage":"Input is too long for requested model."},"recordId":%q}`+"\n", id)
}

func category(c string, conf float64) string {
	return fmt.Sprintf("{\n    \"category\": %q,\n    \"confidence\": %g\n}", c, conf)
}

func manifest(total, ok, bad int) []byte {
	b, _ := json.Marshal(batchio.Manifest{TotalRecordCount: int64(total), ProcessedRecordCount: int64(total), SuccessRecordCount: int64(ok), ErrorRecordCount: int64(bad)})
	return b
}

const (
	jobID  = "abc123xyz"
	prefix = "stage1-classify"
)

func item(status string) jobspec.TaskItem {
	return jobspec.TaskItem{
		JobConfig: jobspec.JobConfig{
			JobIndex: 0, JobName: prefix + "-part-0000-run123", ModelID: haiku, JobNamePrefix: prefix,
			S3URIInput:       "s3://bkt/batch_inputs_json/" + prefix + "/0000.jsonl",
			S3URIOutput:      "s3://bkt/batch_outputs_json/" + prefix + "/0000/",
			InputParquetPath: "s3://bkt/batch_inputs_parquet/" + prefix + "/0000.snappy.parquet",
			Records:          4,
		},
		JobARN: "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/" + jobID,
		Status: status,
	}
}

// readTable reads a result table back, keyed by record_id.
func readTable(t testing.TB, c *s3.Client, uri string) (map[string]map[string]string, []string) {
	t.Helper()
	u, err := s3io.ParseURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	ra, err := s3io.NewReaderAt(context.Background(), c, u)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]map[string]string{}
	var cols []string
	for rec, err := range records.ReadParquet(ra, ra.Size(), uri, records.ReadOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		cols = rec.Header.Names()
		rows[rec.ID()] = rec.Map()
	}
	return rows, cols
}

func TestHandle(t *testing.T) {
	outDir := "batch_outputs_json/" + prefix + "/0000/" + jobID + "/"
	ids := []string{"r1", "r2", "r3", "r4"}
	type want struct {
		col, val string
	}
	tests := []struct {
		name     string
		status   string
		files    map[string]string // key under outDir → content
		manifest []byte
		stats    Stats
		rows     map[string][]want
		mismatch string
		errName  string
	}{
		{
			name:   "completed",
			status: jobspec.StatusCompleted,
			files: map[string]string{"0000.jsonl.out": claudeLine("r1", category("t-shirt", 0.9)) + claudeLine("r2", category("shoes", 0.8)) +
				claudeLine("r3", "```json\n"+category("dress", 0.7)+"\n```") + claudeLine("r4", category("pants", 1))},
			manifest: manifest(4, 4, 0),
			stats:    Stats{Rows: 4, Succeeded: 4, InputTokens: 4 * 457, OutputTokens: 4 * 25},
			rows: map[string][]want{
				"r1": {{"category", "t-shirt"}, {"confidence", "0.9"}, {"error", ""}, {"image_path", "s3://bkt/inputs/r1.jpg"}, {"input_tokens", "457"}},
				"r3": {{"category", "dress"}},
				"r4": {{"confidence", "1"}},
			},
		},
		{
			name:   "malformed model output is kept with an error",
			status: jobspec.StatusCompleted,
			files: map[string]string{"0000.jsonl.out": claudeLine("r1", "I think this is a t-shirt.") + claudeLine("r2", category("shoes", 0.8)) +
				claudeLine("r3", category("dress", 0.7)) + claudeLine("r4", `{"category": "pants", "confidence": 0.`)},
			manifest: manifest(4, 4, 0),
			stats:    Stats{Rows: 4, Succeeded: 2, Failed: 2, InputTokens: 4 * 457, OutputTokens: 4 * 25},
			rows: map[string][]want{
				"r1": {{"response", "I think this is a t-shirt."}, {"category", ""}},
				"r2": {{"category", "shoes"}, {"error", ""}},
			},
		},
		{
			name:   "partially completed with an error line and a missing record",
			status: jobspec.StatusPartiallyCompleted,
			files: map[string]string{"0000.jsonl.out": claudeLine("r1", category("t-shirt", 0.9)) + errorLine("r2") +
				claudeLine("r3", category("dress", 0.7))},
			manifest: manifest(4, 2, 2),
			stats:    Stats{Rows: 4, Succeeded: 2, Failed: 2, Missing: 1, InputTokens: 2 * 457, OutputTokens: 2 * 25},
			rows: map[string][]want{
				"r2": {{"error", "bedrock: Bedrock error 400: Input is too long for requested model."}, {"image_path", "s3://bkt/inputs/r2.jpg"}},
				"r1": {{"category", "t-shirt"}},
			},
			mismatch: "errorRecordCount 2 but 1 output lines have an error and 0 are malformed",
		},
		{
			name:   "two output files, an unreadable line and an unknown id",
			status: jobspec.StatusCompleted,
			files: map[string]string{
				"0000.jsonl.out":    claudeLine("r1", category("t-shirt", 0.9)) + claudeLine("r2", category("shoes", 0.8)),
				"0000-b.jsonl.out":  claudeLine("r3", category("dress", 0.7)) + `{"recordId":"r4","modelOutput":{` + "\n" + claudeLine("zz", category("x", 0)),
				"unrelated.txt":     "not an output file",
				"manifest.json.out": string(manifest(4, 4, 0)),
			},
			stats: Stats{Rows: 6, Succeeded: 3, Failed: 3, Missing: 1, Unknown: 1, Malformed: 1, InputTokens: 3 * 457, OutputTokens: 3 * 25},
			rows: map[string][]want{
				"r3": {{"category", "dress"}},
				"zz": {{"error", "output line for a recordId this job never sent"}},
				// The cut-off line has no readable recordId: r4 is missing
				// and the line gets a row of its own.
				"r4":                {{"error", "Bedrock returned no output line for this record (4 of 4 in the job's input)"}},
				"unreadable-line-2": {{"image_path", ""}},
			},
			mismatch: "errorRecordCount 0 but 0 output lines have an error and 1 are malformed",
		},
		{
			name:    "no output file",
			status:  jobspec.StatusCompleted,
			files:   map[string]string{"manifest.json.out": string(manifest(4, 4, 0))},
			errName: taskerr.OutputNotFound,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newS3(t)
			put(t, c, "batch_inputs_parquet/"+prefix+"/0000.snappy.parquet", requestRows(t, ids, classify))
			for k, v := range tc.files {
				put(t, c, outDir+k, []byte(v))
			}
			if tc.manifest != nil {
				put(t, c, outDir+batchio.ManifestName, tc.manifest)
			}
			h := &Handler{S3: c, Bucket: bucket, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			out, err := h.Handle(context.Background(), item(tc.status))
			if tc.errName != "" {
				if err == nil || taskerr.Name(err) != tc.errName {
					t.Fatalf("err = %v (%s), want %s", err, taskerr.Name(err), tc.errName)
				}
				if !strings.Contains(err.Error(), outDir) {
					t.Errorf("error %q does not name the prefix %s", err, outDir)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := "s3://bkt/batch_output_parquet/" + prefix + "/0000.snappy.parquet"; out.OutputPath != want {
				t.Errorf("output_path = %s, want %s", out.OutputPath, want)
			}
			if out.Stats != tc.stats {
				t.Errorf("stats = %+v, want %+v", out.Stats, tc.stats)
			}
			if out.Status != tc.status || out.JobName != item("").JobName {
				t.Errorf("status, job_name = %q, %q", out.Status, out.JobName)
			}
			if out.Manifest == nil {
				t.Error("manifest not read")
			}
			if !strings.Contains(out.ManifestMismatch, tc.mismatch) || (tc.mismatch == "") != (out.ManifestMismatch == "") {
				t.Errorf("manifest_mismatch = %q, want %q", out.ManifestMismatch, tc.mismatch)
			}
			rows, cols := readTable(t, c, out.OutputPath)
			if len(rows) != tc.stats.Rows {
				t.Errorf("table has %d rows, want %d", len(rows), tc.stats.Rows)
			}
			for _, col := range []string{"record_id", "image_path", "request_id", "prompt_id", "response", "category", "confidence", "input_tokens", "output_tokens", "error"} {
				if !strings.Contains(","+strings.Join(cols, ",")+",", ","+col+",") {
					t.Errorf("table lacks column %q: %v", col, cols)
				}
			}
			for id, ws := range tc.rows {
				row, ok := rows[id]
				if !ok {
					t.Errorf("no row %q", id)
					continue
				}
				for _, w := range ws {
					if row[w.col] != w.val {
						t.Errorf("row %q column %q = %q, want %q", id, w.col, row[w.col], w.val)
					}
				}
			}
			for id, row := range rows {
				if row["error"] == "" && row["response"] == "" {
					t.Errorf("row %q has neither a response nor an error", id)
				}
			}
		})
	}
}

func TestHandleBadInput(t *testing.T) {
	c := newS3(t)
	h := &Handler{S3: c, Bucket: bucket, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	noARN := item(jobspec.StatusCompleted)
	noARN.JobARN = ""
	missingRows := item(jobspec.StatusCompleted)
	put(t, c, "batch_outputs_json/"+prefix+"/0000/"+jobID+"/0000.jsonl.out", []byte(claudeLine("r1", "x")))
	tests := []struct {
		name    string
		in      jobspec.TaskItem
		errName string
		msg     string
	}{
		{"no job arn", noARN, taskerr.InvalidInput, "job_arn"},
		{"request rows missing", missingRows, taskerr.InputNotFound, "0000.snappy.parquet"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.Handle(context.Background(), tc.in)
			if err == nil || taskerr.Name(err) != tc.errName || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v (%s), want %s mentioning %q", err, taskerr.Name(err), tc.errName, tc.msg)
			}
		})
	}
}

func TestTaskItemJSON(t *testing.T) {
	raw := `{"job_index":3,"job_name":"P-part-0003-abcdef","model_id":"m","job_name_prefix":"P",
	 "s3_uri_input":"s3://B/batch_inputs_json/P/0003.jsonl","s3_uri_output":"s3://B/batch_outputs_json/P/0003/",
	 "input_parquet_path":"s3://B/batch_inputs_parquet/P/0003.snappy.parquet","records":1000,
	 "job_arn":"arn:aws:bedrock:us-east-1:1:model-invocation-job/j0b","status":"PartiallyCompleted","message":"",
	 "manifest":{"totalRecordCount":1000,"successRecordCount":990,"errorRecordCount":10}}`
	var it jobspec.TaskItem
	if err := json.Unmarshal([]byte(raw), &it); err != nil {
		t.Fatal(err)
	}
	if it.JobIndex != 3 || it.Records != 1000 || it.JobID() != "j0b" || it.Manifest == nil || it.Manifest.ErrorRecordCount != 10 {
		t.Errorf("decoded %+v", it)
	}
	o := Output{OutputPath: "s3://B/x", JobName: "j", Status: "Completed", OutputFiles: []string{}}
	b, _ := json.Marshal(o)
	for _, k := range []string{`"output_path"`, `"job_name"`, `"status"`, `"stats":{"rows":0,"succeeded":0,"failed":0,"missing":0,"unknown":0,"malformed":0,"input_tokens":0,"output_tokens":0}`} {
		if !bytes.Contains(b, []byte(k)) {
			t.Errorf("output JSON %s lacks %s", b, k)
		}
	}
	if bytes.Contains(b, []byte(`"manifest"`)) {
		t.Errorf("output JSON %s has a manifest though none was read", b)
	}
}
