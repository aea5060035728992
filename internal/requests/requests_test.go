package requests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"

	"github.com/bbo-dev/bbo/internal/batchio"
	"github.com/bbo-dev/bbo/internal/config"
	"github.com/bbo-dev/bbo/internal/records"
	"github.com/bbo-dev/bbo/prompts"
)

const claude = "anthropic.claude-3-haiku-20240307-v1:0"

type memImages map[string][]byte

func (m memImages) FetchImage(_ context.Context, path string) ([]byte, error) {
	b, ok := m[path]
	if !ok {
		return nil, fmt.Errorf("no such image %q", path)
	}
	return b, nil
}

func pngBytes(t testing.TB) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	img.Set(1, 1, color.RGBA{R: 200, A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func rec(cols []string, vals ...string) records.Record {
	return records.Record{Header: records.MustHeader(cols...), Values: vals, Source: "test.csv"}
}

type built struct {
	id, recordID, promptID string
	body                   map[string]any
}

func build(t *testing.T, opts Options, r records.Record) ([]built, error) {
	t.Helper()
	if opts.Prompts == nil {
		opts.Prompts = prompts.Default()
	}
	b, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	var got []built
	err = b.Build(context.Background(), r, func(req Request) error {
		var body map[string]any
		if err := json.Unmarshal(req.ModelInput, &body); err != nil {
			t.Fatalf("modelInput is not JSON: %v\n%s", err, req.ModelInput)
		}
		got = append(got, built{req.ID, req.RecordID, req.PromptID, body})
		return nil
	})
	return got, err
}

// userText digs the text block out of a Claude messages body.
func userText(t *testing.T, body map[string]any) string {
	t.Helper()
	content := body["messages"].([]any)[0].(map[string]any)["content"].([]any)
	return content[len(content)-1].(map[string]any)["text"].(string)
}

func TestBuildModes(t *testing.T) {
	lib := prompts.Default()
	joke, _ := lib.Get("joke_about_topic")
	wantJoke, err := joke.Render(rec([]string{"record_id", "topic"}, "r1", "cats"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		opts      Options
		rec       records.Record
		wantIDs   []string
		wantPids  []string
		wantErrIn string
	}{
		{
			name:     "single",
			opts:     Options{ModelID: claude, PromptConfig: config.PromptConfig{Mode: "single", PromptID: "joke_about_topic"}},
			rec:      rec([]string{"record_id", "topic"}, "r1", "cats"),
			wantIDs:  []string{"r1"},
			wantPids: []string{"joke_about_topic"},
		},
		{
			name:      "single missing column",
			opts:      Options{ModelID: claude, PromptConfig: config.PromptConfig{PromptID: "joke_about_topic"}},
			rec:       rec([]string{"record_id", "subject"}, "r2", "dogs"),
			wantErrIn: "topic",
		},
		{
			name:     "mapped",
			opts:     Options{ModelID: claude, PromptConfig: config.PromptConfig{Mode: "mapped", ColumnName: "pid"}},
			rec:      rec([]string{"record_id", "pid", "topic"}, "r3", "joke_about_topic", "owls"),
			wantIDs:  []string{"r3"},
			wantPids: []string{"joke_about_topic"},
		},
		{
			name:      "mapped empty prompt id",
			opts:      Options{ModelID: claude, PromptConfig: config.PromptConfig{Mode: "mapped", ColumnName: "pid"}},
			rec:       rec([]string{"record_id", "pid"}, "r4", " "),
			wantErrIn: `column "pid"`,
		},
		{
			name:      "mapped unknown prompt id",
			opts:      Options{ModelID: claude, PromptConfig: config.PromptConfig{Mode: "mapped", ColumnName: "pid"}},
			rec:       rec([]string{"record_id", "pid"}, "r5", "no_such_prompt"),
			wantErrIn: `unknown prompt id "no_such_prompt"`,
		},
		{
			name: "expanded by category, case-insensitive",
			opts: Options{ModelID: claude, PromptConfig: config.PromptConfig{Mode: "expanded", CategoryColumn: "kind",
				ExpansionMapping: map[string]string{"shirt": "detailed_clothing_analysis"}}},
			rec:     rec([]string{"record_id", "kind", "text", "description", "product_description", "product"}, "r6", " SHIRT ", "t", "d", "p", "x"),
			wantIDs: []string{"r6-001", "r6-002", "r6-003"},
		},
		{
			name: "expanded unmapped category without default",
			opts: Options{ModelID: claude, PromptConfig: config.PromptConfig{Mode: "expanded", CategoryColumn: "kind",
				ExpansionMapping: map[string]string{"shirt": "detailed_clothing_analysis"}}},
			rec:       rec([]string{"record_id", "kind"}, "r7", "hat"),
			wantErrIn: `category "hat"`,
		},
		{
			name:     "embedding reads input_text",
			opts:     Options{ModelID: "amazon.titan-embed-text-v2:0"},
			rec:      rec([]string{"record_id", "input_text"}, "r8", "hello"),
			wantIDs:  []string{"r8"},
			wantPids: []string{""},
		},
		{
			name:      "embedding without input_text",
			opts:      Options{ModelID: "amazon.titan-embed-text-v2:0"},
			rec:       rec([]string{"record_id", "text"}, "r9", "hello"),
			wantErrIn: `"input_text"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := build(t, tc.opts, tc.rec)
			if tc.wantErrIn != "" {
				var re *RecordError
				if !errors.As(err, &re) {
					t.Fatalf("err = %v, want a *RecordError", err)
				}
				if !strings.Contains(err.Error(), tc.wantErrIn) || !strings.Contains(err.Error(), tc.rec.ID()) {
					t.Fatalf("err = %q, want it to name the record and contain %q", err, tc.wantErrIn)
				}
				return
			}
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if len(got) != len(tc.wantIDs) {
				t.Fatalf("got %d requests, want %d", len(got), len(tc.wantIDs))
			}
			for i, g := range got {
				if g.id != tc.wantIDs[i] || g.recordID != tc.rec.ID() {
					t.Errorf("request %d: id %q record %q, want %q %q", i, g.id, g.recordID, tc.wantIDs[i], tc.rec.ID())
				}
				if tc.wantPids != nil && g.promptID != tc.wantPids[i] {
					t.Errorf("request %d: prompt %q, want %q", i, g.promptID, tc.wantPids[i])
				}
			}
			if tc.name == "single" {
				if txt := userText(t, got[0].body); txt != strings.Replace(wantJoke, "cats", "cats", 1) {
					t.Errorf("prompt text = %q, want %q", txt, wantJoke)
				}
			}
			if tc.name == "embedding reads input_text" && got[0].body["inputText"] != "hello" {
				t.Errorf("titan body = %v, want inputText hello", got[0].body)
			}
		})
	}
}

func TestBuildImages(t *testing.T) {
	src := memImages{"s3://b/ok.png": pngBytes(t), "s3://b/bad.jpg": []byte("not an image at all")}
	opts := Options{ModelID: claude, InputType: "image", Images: src,
		PromptConfig: config.PromptConfig{PromptID: "classify_clothing_category"}}
	cols := []string{"record_id", "image_path", "file_name"}

	got, err := build(t, opts, rec(cols, "a", "s3://b/ok.png", "ok.png"))
	if err != nil {
		t.Fatal(err)
	}
	content := got[0].body["messages"].([]any)[0].(map[string]any)["content"].([]any)
	block := content[0].(map[string]any)
	if block["type"] != "image" || block["source"].(map[string]any)["media_type"] != "image/png" {
		t.Fatalf("first block = %v, want a png image block (type from bytes, not name)", block)
	}

	for _, tc := range []struct{ name, path, want string }{
		{"corrupt", "s3://b/bad.jpg", "bad.jpg"},
		{"missing", "s3://b/gone.png", "gone.png"},
		{"empty path", "", "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := build(t, opts, rec(cols, "x-"+tc.name, tc.path, ""))
			var re *RecordError
			if !errors.As(err, &re) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a RecordError mentioning %q", err, tc.want)
			}
		})
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"unknown model", Options{ModelID: "acme.nope-v1", PromptConfig: config.PromptConfig{PromptID: "joke_about_topic"}}, "acme.nope-v1"},
		{"unknown prompt", Options{ModelID: claude, PromptConfig: config.PromptConfig{PromptID: "nope"}}, `"nope"`},
		{"rule as single", Options{ModelID: claude, PromptConfig: config.PromptConfig{PromptID: "detailed_clothing_analysis"}}, "expansion rule"},
		{"image on embedder", Options{ModelID: "amazon.titan-embed-text-v2:0", InputType: "image", Images: memImages{}}, "does not accept images"},
		{"bad mode", Options{ModelID: claude, PromptConfig: config.PromptConfig{Mode: "fancy", PromptID: "joke_about_topic"}}, "fancy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Prompts = prompts.Default()
			_, err := New(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want mention of %s", err, tc.want)
			}
		})
	}
}

// memSink keeps jobs in memory for tests.
type memSink struct{ jobs []*memJob }

type memJob struct {
	lines bytes.Buffer
	rows  []Row
}

func (s *memSink) Open(int) (batchio.JobWriter[Row], error) {
	j := &memJob{}
	s.jobs = append(s.jobs, j)
	return j, nil
}
func (j *memJob) Add(it batchio.Item[Row]) error {
	j.lines.Write(it.Line)
	j.rows = append(j.rows, it.Value)
	return nil
}
func (j *memJob) Close() error { return nil }

func TestPack(t *testing.T) {
	var csv strings.Builder
	csv.WriteString("topic\n")
	for i := range 260 {
		if i == 7 {
			csv.WriteString("a,b\n") // a ragged row must be reported, not dropped silently
			continue
		}
		fmt.Fprintf(&csv, "topic %d\n", i)
	}
	b, err := New(Options{ModelID: claude, Prompts: prompts.Default(), PromptConfig: config.PromptConfig{PromptID: "joke_about_topic"}})
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	lim := batchio.DefaultLimits()
	lim.MaxRecordsPerJob = 100
	p, err := batchio.NewPacker[Row](lim, sink)
	if err != nil {
		t.Fatal(err)
	}
	var failed []error
	sum, err := Pack(context.Background(), records.ReadCSV(strings.NewReader(csv.String()), "topics.csv", records.ReadOptions{}), b, p,
		func(err error) error { failed = append(failed, err); return nil })
	if err != nil {
		t.Fatalf("Pack: %v", err)
	}
	total := 0
	for _, j := range sink.jobs {
		total += len(j.rows)
		for _, r := range j.rows {
			if r.Record.ID() == "" || r.RequestID != r.Record.ID() {
				t.Fatalf("row %+v lost its record", r)
			}
		}
		for _, l := range bytes.Split(bytes.TrimSpace(j.lines.Bytes()), []byte("\n")) {
			if !json.Valid(l) {
				t.Fatalf("invalid JSONL line %s", l)
			}
		}
	}
	if sum.Requests != total || sum.Records != 259 || sum.Failed != 1 || len(failed) != 1 {
		t.Fatalf("summary %+v, %d rows in jobs, failures %v; want 259 records packed and 1 failed row", sum, total, failed)
	}
	if !strings.Contains(failed[0].Error(), "topics.csv") || !strings.Contains(failed[0].Error(), "line 9") {
		t.Errorf("failure %q should name the file and line", failed[0])
	}
	for _, j := range sum.Jobs.Jobs {
		if j.Records < lim.MinRecordsPerJob {
			t.Errorf("job %d has %d records, below Bedrock's minimum", j.Index, j.Records)
		}
	}
}
