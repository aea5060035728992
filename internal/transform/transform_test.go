package transform

import (
	"github.com/bbo-dev/bbo/internal/s3test"

	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/bbo-dev/bbo/internal/config"
	"github.com/bbo-dev/bbo/internal/records"
	"github.com/bbo-dev/bbo/internal/s3io"
	"github.com/bbo-dev/bbo/internal/taskerr"
)

const bucket = "bkt"

func newS3(t testing.TB) *s3.Client {
	t.Helper()
	return s3test.New(t, bucket)
}

// writeTable stores a result table (all string columns) and returns its URI.
func writeTable(t testing.TB, c *s3.Client, key string, cols []string, rows [][]string) string {
	t.Helper()
	var buf bytes.Buffer
	h := records.MustHeader(cols...)
	pw, err := records.NewParquetWriter(&buf, records.StringColumns(h))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := pw.WriteRecord(records.Record{Header: h, Values: r}); err != nil {
			t.Fatal(err)
		}
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	u := s3io.URI{Bucket: bucket, Key: key}
	if err := s3io.Put(context.Background(), c, u, buf.Bytes(), "application/vnd.apache.parquet"); err != nil {
		t.Fatal(err)
	}
	return u.String()
}

type table struct {
	cols []string
	rows map[string]map[string]string
}

func readTable(t testing.TB, c *s3.Client, uri string) table {
	t.Helper()
	u, _ := s3io.ParseURI(uri)
	ra, err := s3io.NewReaderAt(context.Background(), c, u)
	if err != nil {
		t.Fatal(err)
	}
	tb := table{rows: map[string]map[string]string{}}
	for rec, err := range records.ReadParquet(ra, ra.Size(), uri, records.ReadOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		tb.cols = rec.Header.Names()
		tb.rows[rec.ID()] = rec.Map()
	}
	return tb
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Stage 1 of the clothing pipeline: classify_clothing_category's result
// table as postprocess writes it.
var stage1Cols = []string{"record_id", "image_path", "file_name", "request_id", "prompt_id", "response", "category", "confidence", "input_tokens", "output_tokens", "error"}

func stage1Row(id, response, category, errText string) []string {
	return []string{id, "s3://bkt/inputs/" + id + ".jpg", id + ".jpg", id, "classify_clothing_category", response, category, "0.9", "457", "25", errText}
}

func stage2(mapping map[string]string) config.Stage {
	return config.Stage{
		StageName: "extract_metadata", ModelID: "anthropic.claude-3-5-sonnet-20241022-v2:0", UsePreviousOutput: true,
		InputType: "image", JobNamePrefix: "stage2-metadata",
		PromptConfig:            &config.PromptConfig{Mode: config.ModeMapped, ColumnName: "metadata_prompt_id"},
		CategoryToPromptMapping: mapping, MaxNumJobs: 1, MaxRecordsPerJob: 100,
	}
}

var clothingMapping = map[string]string{
	"shorts": "extract_shorts_metadata", "shoes": "extract_shoes_metadata", "pants": "extract_pants_metadata",
	"dress": "extract_dress_metadata", "t-shirt": "extract_tshirt_metadata",
}

func TestStage1To2(t *testing.T) {
	withDefault := maps(clothingMapping, "Default", "extract_dress_metadata")
	tests := []struct {
		name     string
		mapping  map[string]string
		noCatCol bool
		prompts  map[string]string // record_id → metadata_prompt_id
		category map[string]string
		unmapped int
	}{
		{
			name:     "category column, case and space insensitive, unknown unmapped",
			mapping:  clothingMapping,
			prompts:  map[string]string{"r1": "extract_tshirt_metadata", "r2": "extract_shoes_metadata", "r3": "", "r4": "", "r5": "extract_pants_metadata"},
			category: map[string]string{"r1": "T-Shirt ", "r3": "", "r4": "hat"},
			unmapped: 2,
		},
		{
			name:     "default fallback",
			mapping:  withDefault,
			prompts:  map[string]string{"r1": "extract_tshirt_metadata", "r3": "extract_dress_metadata", "r4": "extract_dress_metadata"},
			unmapped: 0,
		},
		{
			name:     "category derived from the response when there is no category column",
			mapping:  clothingMapping,
			noCatCol: true,
			prompts:  map[string]string{"r1": "extract_tshirt_metadata", "r2": "extract_shoes_metadata", "r3": "", "r4": "", "r5": "extract_pants_metadata"},
			category: map[string]string{"r1": "T-Shirt", "r3": "I cannot tell.", "r4": "hat", "r5": "PANTS"},
			unmapped: 2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newS3(t)
			cols := stage1Cols
			rows0 := [][]string{
				stage1Row("r1", "```json\n{\"category\": \"T-Shirt\", \"confidence\": 0.9}\n```", "T-Shirt ", ""),
				stage1Row("r2", `{"category": "shoes", "confidence": 0.8}`, "shoes", ""),
				stage1Row("r3", "I cannot tell.", "", "output_schema: no JSON object or array found"),
			}
			rows1 := [][]string{
				stage1Row("r4", `{"category": "hat"}`, "hat", ""),
				stage1Row("r5", `{"category": "PANTS"}`, "pants", ""),
			}
			if tc.noCatCol {
				cols = slices.Delete(slices.Clone(cols), 6, 7)
				for _, r := range append(rows0, rows1...) {
					copy(r[6:], r[7:])
				}
				for i := range rows0 {
					rows0[i] = rows0[i][:len(cols)]
				}
				for i := range rows1 {
					rows1[i] = rows1[i][:len(cols)]
				}
			}
			p0 := writeTable(t, c, "batch_output_parquet/stage1-classify/0000.snappy.parquet", cols, rows0)
			p1 := writeTable(t, c, "batch_output_parquet/stage1-classify/0001.snappy.parquet", cols, rows1)
			h := &Handler{S3: c, Bucket: bucket, Log: quiet}
			out, err := h.Handle(context.Background(), Input{
				Stage: stage2(tc.mapping), StageIndex: 1, PipelineName: "clothing",
				Previous: Previous{StageName: "classify_category", JobNamePrefix: "stage1-classify", OutputPaths: []string{p0, p1}},
			})
			if err != nil {
				t.Fatal(err)
			}
			if want := (Summary{Rows: 5, Unmapped: tc.unmapped, Files: 2}); out.Summary != want {
				t.Errorf("summary = %+v, want %+v", out.Summary, want)
			}
			r := out.Request
			if r.S3URI != "s3://bkt/batch_inputs_parquet/stage1-classify_to_stage2-metadata/" || r.JobNamePrefix != "stage2-metadata" ||
				r.StageName != "extract_metadata" || r.InputType != "image" || r.PromptConfig == nil || r.PromptConfig.ColumnName != "metadata_prompt_id" ||
				r.MaxNumJobs != 1 || r.MaxRecordsPerJob != 100 || r.ModelID != "anthropic.claude-3-5-sonnet-20241022-v2:0" {
				t.Errorf("request = %+v", r)
			}
			t0 := readTable(t, c, r.S3URI+"0000.snappy.parquet")
			t1 := readTable(t, c, r.S3URI+"0001.snappy.parquet")
			if !slices.Equal(t0.cols, t1.cols) {
				t.Errorf("files have different columns: %v and %v", t0.cols, t1.cols)
			}
			if len(t0.rows) != 3 || len(t1.rows) != 2 {
				t.Errorf("rows per file = %d, %d, want 3, 2", len(t0.rows), len(t1.rows))
			}
			wantCols := []string{"record_id", "image_path", "file_name", "classify_category_response", "category", "confidence",
				"classify_category_input_tokens", "classify_category_output_tokens", "classify_category_error", "metadata_prompt_id"}
			if tc.noCatCol {
				wantCols = slices.Delete(wantCols, 4, 5)
				wantCols = slices.Insert(wantCols, len(wantCols)-1, "category")
			}
			if !slices.Equal(t0.cols, wantCols) {
				t.Errorf("columns = %v\nwant      %v", t0.cols, wantCols)
			}
			all := map[string]map[string]string{}
			for id, row := range t0.rows {
				all[id] = row
			}
			for id, row := range t1.rows {
				all[id] = row
			}
			for id, p := range tc.prompts {
				if got := all[id]["metadata_prompt_id"]; got != p {
					t.Errorf("%s: metadata_prompt_id = %q, want %q", id, got, p)
				}
			}
			for id, cat := range tc.category {
				if got := all[id]["category"]; got != cat {
					t.Errorf("%s: category = %q, want %q", id, got, cat)
				}
			}
			if got := all["r3"]["classify_category_error"]; !strings.Contains(got, "no JSON") {
				t.Errorf("r3: the previous error was not carried: %q", got)
			}
			if got := all["r2"]["image_path"]; got != "s3://bkt/inputs/r2.jpg" {
				t.Errorf("r2: image_path = %q", got)
			}
		})
	}
}

func maps(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func TestStage2To3(t *testing.T) {
	c := newS3(t)
	cols := []string{"record_id", "image_path", "category", "classify_category_response", "classify_category_error", "metadata_prompt_id",
		"request_id", "prompt_id", "response", "color", "material", "input_tokens", "output_tokens", "error"}
	meta := `{"color": "white", "material": "cotton"}`
	p := writeTable(t, c, "batch_output_parquet/stage2-metadata/0000.snappy.parquet", cols, [][]string{
		{"r1", "s3://bkt/inputs/r1.jpg", "t-shirt", `{"category":"t-shirt"}`, "", "extract_tshirt_metadata", "r1", "extract_tshirt_metadata", meta, "white", "cotton", "205", "49", ""},
		{"r2", "s3://bkt/inputs/r2.jpg", "hat", `{"category":"hat"}`, "", "", "", "", "", "", "", "", "", "no prompt for category"},
	})
	st := config.Stage{StageName: "generate_listing", ModelID: "anthropic.claude-3-haiku-20240307-v1:0", UsePreviousOutput: true,
		InputType: "text", JobNamePrefix: "stage3-listing", PromptConfig: &config.PromptConfig{Mode: config.ModeSingle, PromptID: "generate_product_listing"},
		ColumnMappings: map[string]string{"metadata": "response", "notes": "no_such_column"}}
	h := &Handler{S3: c, Bucket: bucket, Log: quiet}
	out, err := h.Handle(context.Background(), Input{Stage: st, StageIndex: 2,
		Previous: Previous{StageName: "extract_metadata", JobNamePrefix: "stage2-metadata", OutputPaths: []string{p}}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Summary != (Summary{Rows: 2, Files: 1}) {
		t.Errorf("summary = %+v", out.Summary)
	}
	tb := readTable(t, c, "s3://bkt/batch_inputs_parquet/stage2-metadata_to_stage3-listing/0000.snappy.parquet")
	want := []string{"record_id", "image_path", "category", "classify_category_response", "classify_category_error", "metadata_prompt_id",
		"extract_metadata_response", "color", "material", "extract_metadata_input_tokens", "extract_metadata_output_tokens", "extract_metadata_error", "metadata", "notes"}
	if !slices.Equal(tb.cols, want) {
		t.Errorf("columns = %v\nwant      %v", tb.cols, want)
	}
	r1 := tb.rows["r1"]
	for col, v := range map[string]string{"metadata": meta, "notes": meta, "extract_metadata_response": meta, "category": "t-shirt",
		"classify_category_response": `{"category":"t-shirt"}`, "extract_metadata_input_tokens": "205"} {
		if r1[col] != v {
			t.Errorf("r1 %s = %q, want %q", col, r1[col], v)
		}
	}
	if got := tb.rows["r2"]["extract_metadata_error"]; got != "no prompt for category" {
		t.Errorf("r2: failed row not carried with its error: %q", got)
	}
	if out.Request.PromptConfig == nil || out.Request.PromptConfig.PromptID != "generate_product_listing" || out.Request.InputType != "text" {
		t.Errorf("request = %+v", out.Request)
	}
}

func TestPreviousOutputNotFound(t *testing.T) {
	c := newS3(t)
	h := &Handler{S3: c, Bucket: bucket, Log: quiet}
	present := writeTable(t, c, "batch_output_parquet/p/0000.snappy.parquet", stage1Cols, [][]string{stage1Row("r1", "{}", "shoes", "")})
	tests := []struct {
		name  string
		paths []string
		msg   string
	}{
		{"no paths", nil, "no output paths"},
		{"empty path", []string{""}, "empty"},
		{"second file missing", []string{present, "s3://bkt/batch_output_parquet/p/0001.snappy.parquet"}, "0001.snappy.parquet does not exist"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.Handle(context.Background(), Input{Stage: stage2(clothingMapping), StageIndex: 1,
				Previous: Previous{StageName: "classify_category", JobNamePrefix: "p", OutputPaths: tc.paths}})
			if taskerr.Name(err) != taskerr.PreviousOutputNotFound || !strings.Contains(err.Error(), tc.msg) ||
				!strings.Contains(err.Error(), `"extract_metadata"`) || !strings.Contains(err.Error(), `"classify_category"`) {
				t.Fatalf("err = %v (%s)", err, taskerr.Name(err))
			}
		})
	}
}

func TestCategory(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"json", `{"category": "t-shirt", "confidence": 0.9}`, "t-shirt"},
		{"fenced with prose", "Here you go:\n```json\n{\"category\": \" Dress \"}\n```", "Dress"},
		{"no json", "  shoes \n", "shoes"},
		{"json without category", `{"kind": "shoes"}`, `{"kind": "shoes"}`},
		{"non-string category", `{"category": 3}`, "3"},
		{"null category", `{"category": null}`, `{"category": null}`},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Category(tc.in); got != tc.want {
				t.Errorf("Category(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func FuzzCategory(f *testing.F) {
	for _, s := range []string{`{"category": "t-shirt"}`, "```json\n{\"category\":\"x\"}\n```", "shoes", `{"category":`, `[{"category":"a"}]`, "\xff{"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Category(s)
		if got != strings.TrimSpace(got) && !json.Valid([]byte(got)) {
			t.Errorf("Category(%q) = %q: not trimmed", s, got)
		}
	})
}

func TestInputJSON(t *testing.T) {
	raw := `{"stage":{"stage_name":"s2","model_id":"m","use_previous_output":true,"job_name_prefix":"p2",
	  "category_to_prompt_mapping":{"a":"b"},"column_mappings":{"x":"y"}},"stage_index":1,
	  "previous":{"stage_name":"s1","job_name_prefix":"p1","output_paths":["s3://b/k"]},"pipeline_name":"pl"}`
	var in Input
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		t.Fatal(err)
	}
	if in.StageIndex != 1 || in.Previous.JobNamePrefix != "p1" || len(in.Previous.OutputPaths) != 1 || in.Stage.ColumnMappings["x"] != "y" {
		t.Errorf("decoded %+v", in)
	}
	b, _ := json.Marshal(Output{Request: in.Stage.JobRequest("s3://b/batch_inputs_parquet/p1_to_p2/"), Summary: Summary{Rows: 1, Files: 1}})
	if !bytes.Contains(b, []byte(`"summary":{"rows":1,"unmapped":0,"files":1}`)) || !bytes.Contains(b, []byte(`"s3_uri":"s3://b/batch_inputs_parquet/p1_to_p2/"`)) {
		t.Errorf("output JSON %s", b)
	}
}

// A stage that reads its own input goes through transform too (the pipeline
// machine sends every stage here) and only gets its job request built.
func TestStageWithoutPreviousOutput(t *testing.T) {
	h := &Handler{Bucket: "bkt"}
	in := Input{Stage: config.Stage{StageName: "classify", ModelID: "anthropic.claude-3-haiku-20240307-v1:0",
		InputS3URI: "s3://bkt/inputs/images/", InputType: "image", JobNamePrefix: "stage1",
		PromptConfig: &config.PromptConfig{Mode: "single", PromptID: "classify_clothing_category"}, MaxRecordsPerJob: 100}}
	out, err := h.Handle(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	r := out.Request
	if r.S3URI != "s3://bkt/inputs/images/" || r.JobNamePrefix != "stage1" || r.InputType != "image" || r.ImageColumn != "image_path" ||
		r.PromptConfig == nil || r.PromptConfig.PromptID != "classify_clothing_category" || r.StageName != "classify" || out.Summary.Files != 0 {
		t.Fatalf("request = %+v", r)
	}
}

// After an expanded stage several rows share a record_id; the next stage's
// records take the request ids, which are unique.
func TestAfterExpandedStage(t *testing.T) {
	c := newS3(t)
	prev := writeTable(t, c, "batch_output_parquet/review/0000.snappy.parquet",
		[]string{"record_id", "text", "request_id", "prompt_id", "response", "error"},
		[][]string{
			{"p1", "shirt", "p1-001", "extract_color", "Color: red", ""},
			{"p1", "shirt", "p1-002", "extract_size", "Size: M", ""},
			{"p2", "rake", "p2", "classify_product", "garden", ""},
		})
	h := &Handler{S3: c, Bucket: "bkt"}
	out, err := h.Handle(context.Background(), Input{
		Stage: config.Stage{StageName: "summarize", ModelID: "anthropic.claude-3-haiku-20240307-v1:0", UsePreviousOutput: true,
			JobNamePrefix: "summary", PromptConfig: &config.PromptConfig{Mode: "single", PromptID: "joke_about_topic"}},
		StageIndex: 1,
		Previous:   Previous{StageName: "review", JobNamePrefix: "review", OutputPaths: []string{prev}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tb := readTable(t, c, Prefix("bkt", "review", "summary").Join("0000.snappy.parquet").String())
	for _, id := range []string{"p1-001", "p1-002", "p2"} {
		if tb.rows[id] == nil {
			t.Fatalf("no row %s in %v (request ids must become record ids)", id, tb.rows)
		}
	}
	if got := tb.rows["p1-002"]["review_response"]; got != "Size: M" || out.Summary.Rows != 3 {
		t.Fatalf("row p1-002 = %v, summary %+v", tb.rows["p1-002"], out.Summary)
	}
}
