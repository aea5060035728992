package batchio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestAppendInputLine(t *testing.T) {
	cases := []struct {
		name, id string
	}{
		{"uuid", "d2c8053b-eb62-40da-8eaf-bfb8ccc8b916"},
		{"quotes and backslash", `a"b\c`},
		{"control characters", "a\nb\tc\x01\x1f"},
		{"unicode", "héllo-藍"},
		{"invalid utf8", "a\xffb"},
		{"empty", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			line := AppendInputLine(nil, tc.id, []byte(`{"inputText":"x"}`))
			if !bytes.HasSuffix(line, []byte("}\n")) || bytes.Count(line, []byte("\n")) != 1 {
				t.Fatalf("line %q is not one line", line)
			}
			var got struct {
				RecordID   string          `json:"recordId"`
				ModelInput json.RawMessage `json:"modelInput"`
			}
			if err := json.Unmarshal(line, &got); err != nil {
				t.Fatalf("invalid JSON %q: %v", line, err)
			}
			want := strings.ToValidUTF8(tc.id, "\uFFFD")
			if got.RecordID != want || string(got.ModelInput) != `{"inputText":"x"}` {
				t.Errorf("round trip: got %q %s", got.RecordID, got.ModelInput)
			}
		})
	}
}

func TestWriterRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for i := range 3 {
		if err := w.Write(fmt.Sprintf("r%d", i), []byte(`{"a":1}`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if w.Records() != 3 || w.Bytes() != int64(buf.Len()) {
		t.Errorf("Records %d Bytes %d, buffer %d", w.Records(), w.Bytes(), buf.Len())
	}
	// The input lines read back as output lines once Bedrock adds
	// modelOutput; here check the id survives the reader's key scan.
	out := strings.ReplaceAll(buf.String(), `"modelInput":{"a":1}`, `"modelInput":{"a":1},"modelOutput":{"ok":true}`)
	i := 0
	for line, err := range ReadOutput(strings.NewReader(out), "mem") {
		if err != nil {
			t.Fatal(err)
		}
		if line.RecordID != fmt.Sprintf("r%d", i) || string(line.ModelOutput) != `{"ok":true}` {
			t.Errorf("line %d: %+v", i, line)
		}
		i++
	}
	if i != 3 {
		t.Errorf("read %d lines, want 3", i)
	}
}

func TestReadOutputFixture(t *testing.T) {
	f, err := os.Open("testdata/output.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type result struct {
		id, outPrefix string
		recErr        *RecordError
		lineErr       int // line number of a *LineError, 0 if none
	}
	want := []result{
		{id: "d5dbf5de-3ff9-47c6-a669-7ffd284c2638", outPrefix: `{"id": "msg_bdrk_fixture01"`},
		{id: "rec-0002", outPrefix: `{"id":"msg_bdrk_fixture02"`},
		{id: "rec-0003", recErr: &RecordError{Code: 400, Message: "Malformed input request"}},
		{id: "rec-0004", recErr: &RecordError{Message: "Model timeout"}},
		{lineErr: 6},
		{id: "rec-0006", outPrefix: `{"embedding": [0.1, -0.2]`},
	}
	var got []result
	for line, err := range ReadOutput(f, "testdata/output.jsonl") {
		var r result
		var le *LineError
		switch {
		case errors.As(err, &le):
			r.lineErr = le.Line
			if le.Source != "testdata/output.jsonl" || !strings.Contains(le.Error(), "line 6") {
				t.Errorf("line error %v", le)
			}
		case err != nil:
			t.Fatal(err)
		default:
			r.id = line.RecordID
			r.recErr = line.Error
			if line.ModelOutput != nil {
				r.outPrefix = string(line.ModelOutput[:len(want[len(got)].outPrefix)])
			}
		}
		got = append(got, r)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d results, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.id != w.id || g.outPrefix != w.outPrefix || g.lineErr != w.lineErr ||
			(g.recErr == nil) != (w.recErr == nil) || (g.recErr != nil && *g.recErr != *w.recErr) {
			t.Errorf("result %d: got %+v (err %v), want %+v (err %v)", i, g, g.recErr, w, w.recErr)
		}
	}
}

func TestParseOutputLine(t *testing.T) {
	cases := []struct {
		name, line string
		wantID     string
		wantOut    string
		wantErr    *RecordError
		wantBad    string // substring of the parse error, "" if none
	}{
		{name: "recordId last", line: `{"modelInput":{"a":[1,2]},"modelOutput":{"x":"y"},"recordId":"r1"}`, wantID: "r1", wantOut: `{"x":"y"}`},
		{name: "spaces everywhere", line: " { \"recordId\" : \"r1\" , \"modelOutput\" : [ ] } \r\n", wantID: "r1", wantOut: `[ ]`},
		{name: "escaped id", line: `{"recordId":"a\"\u00e9","modelOutput":1}`, wantID: `a"é`, wantOut: `1`},
		{name: "escaped key", line: `{"record\u0049d":"r","modelOutput":1}`, wantID: "r", wantOut: `1`},
		{name: "duplicate key last wins", line: `{"recordId":"a","recordId":"b","modelOutput":1}`, wantID: "b", wantOut: `1`},
		{name: "error object with string code", line: `{"recordId":"r","error":{"errorCode":"429","errorMessage":"throttled"}}`, wantID: "r", wantErr: &RecordError{Code: 429, Message: "throttled"}},
		{name: "error of another shape", line: `{"recordId":"r","error":{"code":"X"}}`, wantID: "r", wantErr: &RecordError{Message: `{"code":"X"}`}},
		{name: "null modelOutput falls to error", line: `{"recordId":"r","modelOutput":null,"error":"boom"}`, wantID: "r", wantErr: &RecordError{Message: "boom"}},
		{name: "no recordId", line: `{"modelOutput":1}`, wantBad: "no recordId"},
		{name: "numeric recordId", line: `{"recordId":5,"modelOutput":1}`, wantBad: "not a string"},
		{name: "neither output nor error", line: `{"recordId":"r","modelInput":{}}`, wantID: "r", wantBad: "neither"},
		{name: "trailing garbage", line: `{"recordId":"r","modelOutput":1} x`, wantBad: "after the object"},
		{name: "truncated", line: `{"recordId":"r","modelOutput":{"a":`, wantBad: "end of line"},
		{name: "bad number", line: `{"recordId":"r","modelOutput":01}`, wantBad: "expected ','"},
		{name: "control char", line: "{\"recordId\":\"r\",\"modelOutput\":\"a\x01\"}", wantBad: "control character"},
		{name: "array", line: `[1]`, wantBad: "not a JSON object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseOutputLine([]byte(tc.line))
			if tc.wantBad != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantBad) {
					t.Fatalf("err = %v, want %q", err, tc.wantBad)
				}
				if got.RecordID != tc.wantID {
					t.Errorf("RecordID = %q, want %q", got.RecordID, tc.wantID)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.RecordID != tc.wantID || string(got.ModelOutput) != tc.wantOut {
				t.Errorf("got %q %q, want %q %q", got.RecordID, got.ModelOutput, tc.wantID, tc.wantOut)
			}
			if (got.Error == nil) != (tc.wantErr == nil) || (got.Error != nil && *got.Error != *tc.wantErr) {
				t.Errorf("Error = %+v, want %+v", got.Error, tc.wantErr)
			}
		})
	}
}

// errReader fails after its data.
type errReader struct{ data *strings.Reader }

func (r errReader) Read(p []byte) (int, error) {
	if r.data.Len() == 0 {
		return 0, errors.New("connection reset")
	}
	return r.data.Read(p)
}

func TestReadOutputEdges(t *testing.T) {
	t.Run("long line", func(t *testing.T) {
		big := `{"recordId":"big","modelInput":"` + strings.Repeat("A", 3<<20) + `","modelOutput":{}}`
		n := 0
		for line, err := range ReadOutput(strings.NewReader(big+"\n"+big), "big") {
			if err != nil || line.RecordID != "big" {
				t.Fatalf("got %q, %v", line.RecordID, err)
			}
			n++
		}
		if n != 2 {
			t.Errorf("read %d lines, want 2", n)
		}
	})
	t.Run("read error ends iteration", func(t *testing.T) {
		var errs []error
		for _, err := range ReadOutput(errReader{strings.NewReader(`{"recordId":"a","modelOutput":1}` + "\n")}, "s3://b/k") {
			errs = append(errs, err)
		}
		if len(errs) != 2 || errs[0] != nil || errs[1] == nil || !strings.Contains(errs[1].Error(), "s3://b/k") {
			t.Errorf("errors %v", errs)
		}
	})
	t.Run("break stops", func(t *testing.T) {
		n := 0
		for range ReadOutput(strings.NewReader("{}\n{}\n{}\n"), "x") {
			n++
			break
		}
		if n != 1 {
			t.Errorf("n = %d", n)
		}
	})
}

func TestParseManifest(t *testing.T) {
	f, err := os.Open("testdata/manifest.json.out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := ParseManifest(f)
	if err != nil {
		t.Fatal(err)
	}
	want := Manifest{TotalRecordCount: 6, ProcessedRecordCount: 6, SuccessRecordCount: 3, ErrorRecordCount: 3, InputTokenCount: 610, OutputTokenCount: 40}
	if m != want {
		t.Errorf("got %+v, want %+v", m, want)
	}
	if _, err := ParseManifest(strings.NewReader("{")); err == nil || !strings.Contains(err.Error(), ManifestName) {
		t.Errorf("bad manifest: err = %v", err)
	}
}

func TestJobName(t *testing.T) {
	cases := []struct {
		name, prefix string
		index        int
		run, want    string
	}{
		{"plain", "clothing-stage1", 0, "a1b2c3d4-e5f6", "clothing-stage1-part-0000-c86054"},
		{"sanitized", "my_job  name!!", 12, "x", "my-job-name-part-0012-2d7116"},
		{"no run id", "p", 3, "--", "p-part-0003"},
		{"empty prefix", "__", 0, "abcdef", "job-part-0000-bef57e"},
		{"cut to fit", strings.Repeat("a", 40) + "-" + strings.Repeat("b", 40), 1, "zzzzzzzz", strings.Repeat("a", 40) + "-bbbbb-part-0001-c129db"},
		{"cut at dash", strings.Repeat("a", 45) + "-bbbb", 1, "zzzzzz", strings.Repeat("a", 45) + "-part-0001-95fbeb"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := JobName(tc.prefix, tc.index, tc.run)
			if got != tc.want {
				t.Errorf("JobName = %q, want %q", got, tc.want)
			}
			if err := CheckJobName(got); err != nil {
				t.Error(err)
			}
		})
	}
	for _, bad := range []string{"", "-a", "a_b", strings.Repeat("a", 64)} {
		if CheckJobName(bad) == nil {
			t.Errorf("CheckJobName(%q) accepted", bad)
		}
	}
	if IndexName(7) != "0007" || IndexName(12345) != "12345" {
		t.Errorf("IndexName: %q %q", IndexName(7), IndexName(12345))
	}
}
