package localrun

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/bbo-dev/bbo/internal/asl"
	"github.com/bbo-dev/bbo/internal/demodata"
	"github.com/bbo-dev/bbo/internal/records"
	"github.com/bbo-dev/bbo/internal/s3io"
)

func upload(t *testing.T, e *Env, key string, body []byte) {
	t.Helper()
	_, err := e.S3().PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(Bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
}

func readParquet(t *testing.T, e *Env, uri string) []map[string]string {
	t.Helper()
	u, err := s3io.ParseURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	ra, err := s3io.NewReaderAt(context.Background(), e.S3(), u)
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]string
	for rec, err := range records.ReadParquet(ra, ra.Size(), uri, records.ReadOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, rec.Map())
	}
	return rows
}

func TestSingleStageJokes(t *testing.T) {
	e := startWith(t, Options{})
	dir := t.TempDir()
	if err := demodata.Topics(filepath.Join(dir, "topics.csv"), 30); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "topics.csv"))
	upload(t, e, "inputs/topics.csv", b)
	res := runNamed(t, e, "jokes", `{"s3_uri":"s3://`+Bucket+`/inputs/topics.csv","job_name_prefix":"jokes","model_id":"anthropic.claude-3-haiku-20240307-v1:0","prompt_id":"joke_about_topic","max_records_per_job":100}`)
	if res.Status != asl.StatusSucceeded {
		t.Fatalf("status %s: %s %s", res.Status, res.Error, res.Cause)
	}
	var out struct {
		OutputPaths []string `json:"output_paths"`
	}
	if err := json.Unmarshal(res.Output, &out); err != nil || len(out.OutputPaths) != 1 {
		t.Fatalf("output %s: %v", res.Output, err)
	}
	rows := readParquet(t, e, out.OutputPaths[0])
	if len(rows) != 30 {
		t.Fatalf("%d rows, want 30", len(rows))
	}
	for _, r := range rows {
		if r["topic"] == "" || !strings.HasPrefix(r["response"], "[bbo stub]") || r["error"] != "" {
			t.Fatalf("row %v", r)
		}
	}
}

func TestClothingPipeline(t *testing.T) {
	e := startWith(t, Options{})
	dir := t.TempDir()
	items, err := demodata.Images(dir, 24)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		b, _ := os.ReadFile(filepath.Join(dir, it.File))
		upload(t, e, "inputs/clothing-images/"+it.File, b)
	}
	cfg, err := os.ReadFile("../../pipeline-configs/clothing-analysis-full.json")
	if err != nil {
		t.Fatal(err)
	}
	cfgs := strings.ReplaceAll(string(cfg), "batch-inference-bucket-YOUR_ACCOUNT_ID", Bucket)
	res := runNamed(t, e, "clothing", cfgs)
	if res.Status != asl.StatusSucceeded {
		t.Fatalf("status %s: %s %s\n%s", res.Status, res.Error, res.Cause, res.Output)
	}
	var out struct {
		StageResults []struct {
			StageName   string   `json:"stage_name"`
			OutputPaths []string `json:"output_paths"`
		} `json:"stage_results"`
	}
	if err := json.Unmarshal(res.Output, &out); err != nil || len(out.StageResults) != 3 {
		t.Fatalf("output %s: %v", res.Output, err)
	}
	final := readParquet(t, e, out.StageResults[2].OutputPaths[0])
	if len(final) != len(items) {
		t.Fatalf("final table has %d rows, want %d", len(final), len(items))
	}
	for _, r := range final {
		for _, col := range []string{"record_id", "image_path", "file_name", "category", "confidence", "color", "material", "style", "title", "description", "keywords"} {
			if r[col] == "" {
				t.Fatalf("final row lacks %s: %v", col, r)
			}
		}
		if r["error"] != "" {
			t.Fatalf("final row has error: %v", r)
		}
	}
	msgs, err := os.ReadDir(e.Outbox())
	if err != nil || len(msgs) != 1 {
		t.Fatalf("outbox: %v %v, want one notification", msgs, err)
	}
}
