package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bbo-dev/bbo/internal/demodata"
)

// runCLI runs the CLI in-process and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code = run(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func wantContains(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name     string
		file     string
		code     int
		contains []string
	}{
		{"example pipeline", "../../pipeline-configs/clothing-analysis-full.json", exitOK, []string{"valid pipeline (3 stage(s))"}},
		{"example job request", "../../pipeline-configs/jokes.json", exitOK, []string{"valid job request"}},
		{"unknown field and bad model", writeFile(t, dir, "bad.json", `{"s3_uri":"s3://b/in.csv","job_name_prefix":"x","model_id":"no-such-model","prompt_id":"joke_about_topic","colour":1}`),
			exitUsage, []string{"INVALID job request", "error:", "colour"}},
		{"pipeline with problems in two stages", writeFile(t, dir, "badpipe.json", `{"pipeline_name":"p","stages":[
			{"stage_name":"a","model_id":"anthropic.claude-3-haiku-20240307-v1:0","job_name_prefix":"a","prompt_config":{"mode":"single","prompt_id":"nope"}},
			{"stage_name":"b","model_id":"anthropic.claude-3-haiku-20240307-v1:0","job_name_prefix":"b","use_previous_output":true,"prompt_config":{"mode":"weird"}}]}`),
			exitUsage, []string{"INVALID pipeline", "stage 0 (a)", "stage 1 (b)"}},
		{"not JSON", writeFile(t, dir, "notjson.json", `[1,2]`), exitUsage, []string{"not a JSON object"}},
		{"missing file", filepath.Join(dir, "absent.json"), exitUsage, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, "validate", tc.file)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out, errs)
			}
			wantContains(t, "output", out+errs, tc.contains...)
		})
	}
}

func TestRunRefusesInvalidConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "bad.json", `{"s3_uri":"s3://b/in.csv","job_name_prefix":"x","model_id":"no-such-model","prompt_id":"no-such-prompt"}`)
	data := filepath.Join(dir, "data")
	code, out, errs := runCLI(t, "run", "--data-dir", data, cfg)
	if code != exitUsage {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitUsage, out, errs)
	}
	wantContains(t, "stderr", errs, "no-such-model", "no-such-prompt", "nothing was started")
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("the data dir was created (%v): the run started before validation", err)
	}
}

func TestRunJokesWithUpload(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "topics.csv")
	if err := demodata.Topics(csv, 12); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "run", "--data-dir", filepath.Join(dir, "data"), "--rows", "3",
		"--upload", csv+"=s3://batch-inference-bucket-YOUR_ACCOUNT_ID/inputs/", "--history",
		"../../pipeline-configs/jokes.json")
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	wantContains(t, "stdout", out,
		"rewritten to the local bucket "+localBucketName,
		"uploaded 1 file(s)",
		"SUCCEEDED", stubLabel,
		"RECORDS", "INPUT TOKENS",
		"s3://"+localBucketName+"/batch_output_parquet/jokes/0000.snappy.parquet",
		filepath.Join(dir, "data", "s3"),
		"jokes: first 3 row(s)", "record_id", "topic", "response", "[bbo stub]",
		"execution history:", "ExecutionSucceeded")
	// Not a TTY: plain progress lines on stderr.
	wantContains(t, "stderr", errs, `msg="state entered"`, `msg="batch job status"`, "status=Completed")
}

func TestRunMissingInput(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "missing.json", `{"s3_uri":"s3://`+localBucketName+`/inputs/nowhere.csv","job_name_prefix":"missing","model_id":"anthropic.claude-3-haiku-20240307-v1:0","prompt_id":"joke_about_topic"}`)
	code, out, errs := runCLI(t, "run", "--data-dir", filepath.Join(dir, "data"), cfg)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitFailed, out, errs)
	}
	wantContains(t, "stderr", errs, "FAILED", "failed state: Preprocess", "InputNotFound", "inputs/nowhere.csv")
	if strings.Contains(errs, `"errorMessage"`) {
		t.Errorf("the Lambda-style cause was not decoded:\n%s", errs)
	}
}

func TestDemo(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	start := time.Now()
	code, out, errs := runCLI(t, "demo", "--data-dir", data, "--images", "12")
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("demo took %s", d)
	}
	wantContains(t, "stdout", out,
		"=== pipeline-configs/jokes.json ===", "jokes: first 5 row(s)", "topic",
		"=== pipeline-configs/clothing-analysis-full.json ===",
		"classify_category", "extract_metadata", "generate_listing",
		"generate_listing: first 5 row(s)",
		stubLabel,
		filepath.Join(data, "outbox"))
	// The clothing table's header line holds the listing columns, in order.
	var header string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "file_name") {
			header = l
		}
	}
	fields := strings.Fields(header)
	want := []string{"file_name", "category", "color", "material", "style", "title", "description"}
	if strings.Join(fields, " ") != strings.Join(want, " ") {
		t.Errorf("clothing table header %q, want %q", header, want)
	}
	if n := strings.Count(out, stubLabel); n != 2 {
		t.Errorf("stub label printed %d times, want once per run", n)
	}
}

func TestS3Commands(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(filepath.Join(src, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, src, "a.txt", "alpha")
	writeFile(t, filepath.Join(src, "sub"), "b.txt", "beta")
	steps := []struct {
		name     string
		args     []string
		contains []string
	}{
		{"put directory", []string{"put", "--data-dir", data, src, "s3://" + localBucketName + "/t/"}, []string{"uploaded 2 file(s)"}},
		{"ls", []string{"ls", "--data-dir", data, "s3://" + localBucketName + "/t/"}, []string{"/t/a.txt", "/t/sub/b.txt"}},
		{"get object", []string{"get", "--data-dir", data, "s3://" + localBucketName + "/t/sub/b.txt", filepath.Join(dir, "b.txt")}, []string{"downloaded"}},
		{"get prefix", []string{"get", "--data-dir", data, "s3://" + localBucketName + "/t/", filepath.Join(dir, "out")}, []string{"downloaded 2 object(s)"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			code, out, errs := runCLI(t, st.args...)
			if code != exitOK {
				t.Fatalf("exit %d\n%s\n%s", code, out, errs)
			}
			wantContains(t, "stdout", out, st.contains...)
		})
	}
	for p, want := range map[string]string{filepath.Join(dir, "b.txt"): "beta", filepath.Join(dir, "out", "sub", "b.txt"): "beta", filepath.Join(dir, "out", "a.txt"): "alpha"} {
		if b, err := os.ReadFile(p); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", p, b, err, want)
		}
	}
}

func TestUsage(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		code     int
		contains []string
	}{
		{"no args", nil, exitUsage, []string{"Commands:", "run", "demo", "links"}},
		{"help", []string{"help"}, exitOK, []string{"Exit codes"}},
		{"help run", []string{"help", "run"}, exitOK, []string{"-backend", "-upload", "COSTS MONEY", "-min-records"}},
		{"unknown", []string{"frobnicate"}, exitUsage, []string{"unknown command"}},
		{"bad flag", []string{"run", "--nope", "x.json"}, exitUsage, []string{"flag provided but not defined"}},
		{"bad upload", []string{"run", "--upload", "nothing", "x.json"}, exitUsage, []string{"LOCAL_PATH=s3://"}},
		{"links days", []string{"links", "--days", "8", "s3://b/k"}, exitUsage, []string{"1..7"}},
		{"version", []string{"version"}, exitOK, []string{"bbo "}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tc.code, out, errs)
			}
			wantContains(t, "output", out+errs, tc.contains...)
		})
	}
}

func TestDecodeCause(t *testing.T) {
	cases := []struct {
		name, cause, wantName, wantMsg string
	}{
		{"lambda", `{"errorMessage":"s3://b/k: not found","errorType":"InputNotFound"}`, "InputNotFound", "s3://b/k: not found"},
		{"child execution", `{"Error":"InputNotFound","Cause":"{\"errorMessage\":\"gone\",\"errorType\":\"InputNotFound\"}","Status":"FAILED"}`, "InputNotFound", "gone"},
		{"plain", "  just text ", "", "just text"},
		{"broken JSON", `{"errorMessage":`, "", `{"errorMessage":`},
		{"other object", `{"a":1}`, "", `{"a":1}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, m := decodeCause(tc.cause)
			if n != tc.wantName || m != tc.wantMsg {
				t.Errorf("decodeCause = %q, %q; want %q, %q", n, m, tc.wantName, tc.wantMsg)
			}
		})
	}
}

func TestParseUpload(t *testing.T) {
	cases := []struct {
		name, in, local, uri string
		ok                   bool
	}{
		{"prefix", "data/x.csv=s3://b/in/", "data/x.csv", "s3://b/in/", true},
		{"equals in path", "a=b.csv=s3://b/k", "a=b.csv", "s3://b/k", true},
		{"placeholder bucket", "x=s3://" + awsBucketPlaceholder + "/k", "x", "s3://" + localBucketName + "/k", true},
		{"no uri", "x.csv", "", "", false},
		{"no local", "=s3://b/k", "", "", false},
		{"no bucket", "x=s3:///k", "", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parseUpload(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("parseUpload(%q) err = %v, want ok=%v", tc.in, err, tc.ok)
			}
			if tc.ok && (s.local != tc.local || s.uri.String() != tc.uri) {
				t.Errorf("parseUpload(%q) = %q %q, want %q %q", tc.in, s.local, s.uri, tc.local, tc.uri)
			}
		})
	}
}

func TestCell(t *testing.T) {
	cases := []struct {
		name, in string
		width    int
		want     string
	}{
		{"short", "abc", 5, "abc"},
		{"newlines and tabs", "a\nb\tc", 10, "a b c"},
		{"cut", "abcdefgh", 5, "abcd…"},
		{"runes", "ééééééé", 4, "ééé…"},
		{"control", "a\x1b[2Kb", 10, "a[2Kb"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := cell(tc.in, tc.width); got != tc.want {
				t.Errorf("cell(%q, %d) = %q, want %q", tc.in, tc.width, got, tc.want)
			}
		})
	}
}

func FuzzDecodeCause(f *testing.F) {
	for _, s := range []string{`{"errorMessage":"m","errorType":"T"}`, `{"Error":"E","Cause":"{\"Cause\":\"x\"}"}`, "text", "{", `{"Cause":null}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = decodeCause(s)
		_ = plainCause(s)
	})
}

func FuzzParseUpload(f *testing.F) {
	for _, s := range []string{"a=s3://b/k", "=s3://", "a=s3://", "x", "a=b=s3://c/d/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := parseUpload(s)
		if err == nil && (u.local == "" || u.uri.Bucket == "") {
			t.Fatalf("parseUpload(%q) accepted an empty part: %+v", s, u)
		}
	})
}

func FuzzCell(f *testing.F) {
	for _, s := range []string{"abc", "a\nb", "ééé", "\x00\xff"} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, s string, w int) {
		if w < 1 || w > 200 {
			return
		}
		got := cell(s, w)
		if strings.ContainsAny(got, "\n\t\r") {
			t.Fatalf("cell(%q) = %q keeps a line break or tab", s, got)
		}
	})
}
