package results

import (
	"bytes"
	"fmt"
	"iter"
	"strings"
	"testing"

	"github.com/bbo-dev/bbo/internal/batchio"
	"github.com/bbo-dev/bbo/internal/records"
	"github.com/bbo-dev/bbo/internal/requests"
	"github.com/bbo-dev/bbo/prompts"
)

const claude = "anthropic.claude-3-haiku-20240307-v1:0"

func requestRows(t testing.TB, rows ...[]string) *Requests {
	t.Helper()
	h := records.MustHeader("record_id", "image_path", requests.RequestIDColumn, requests.PromptIDColumn)
	seq := func(yield func(records.Record, error) bool) {
		for _, v := range rows {
			if !yield(records.Record{Header: h, Values: v, Source: "rows.parquet"}, nil) {
				return
			}
		}
	}
	r, err := LoadRequests(seq)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func claudeLine(id, text string) string {
	return fmt.Sprintf(`{"modelInput":{"anthropic_version":"bedrock-2023-05-31","max_tokens":1024,"messages":[]},`+
		`"modelOutput":{"id":"msg_x","type":"message","role":"assistant","content":[{"type":"text","text":%q}],`+
		`"stop_reason":"end_turn","usage":{"input_tokens":450,"output_tokens":20}},"recordId":%q}`, text, id)
}

func readBack(t *testing.T, b []byte) (names []string, rows []map[string]string) {
	t.Helper()
	for rec, err := range records.ReadParquet(bytes.NewReader(b), int64(len(b)), "out.parquet", records.ReadOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		names = rec.Header.Names()
		rows = append(rows, rec.Map())
	}
	return names, rows
}

func TestWriteJoinsEveryRequest(t *testing.T) {
	reqs := requestRows(t,
		[]string{"a", "s3://b/a.jpg", "a", "classify_clothing_category"},
		[]string{"b", "s3://b/b.jpg", "b", "classify_clothing_category"},
		[]string{"c", "s3://b/c.jpg", "c", "classify_clothing_category"},
		[]string{"d", "s3://b/d.jpg", "d", "classify_clothing_category"},
		[]string{"e", "s3://b/e.jpg", "e", "classify_clothing_category"},
	)
	c, err := NewCollector(claude, prompts.Default(), reqs.PromptIDs())
	if err != nil {
		t.Fatal(err)
	}
	out := strings.Join([]string{
		// out of order on purpose: Bedrock does not promise input order
		claudeLine("c", "Sure! Here is the JSON:\n```json\n{\"category\": \"shoes\", \"confidence\": 0.8}\n```"),
		claudeLine("a", "{\n  \"category\": \"t-shirt\",\n  \"confidence\": 0.9\n}"),
		claudeLine("b", "I cannot tell what this is."),
		`{"modelInput":{},"error":{"errorCode":400,"errorMessage":"Malformed input request"},"recordId":"d"}`,
		claudeLine("zzz", `{"category":"dress"}`),
	}, "\n") + "\n"
	var buf bytes.Buffer
	st, err := Write(&buf, reqs, c, batchio.ReadOutput(strings.NewReader(out), "0000.jsonl.out"))
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{Rows: 6, Succeeded: 2, Failed: 4, Missing: 1, Unknown: 1, InputTokens: 3 * 450, OutputTokens: 60}
	if st != want {
		t.Errorf("stats = %+v, want %+v", st, want)
	}
	names, rows := readBack(t, buf.Bytes())
	wantCols := "record_id,image_path,request_id,prompt_id,response,category,confidence,input_tokens,output_tokens,error"
	if got := strings.Join(names, ","); got != wantCols {
		t.Errorf("columns = %s\nwant      %s", got, wantCols)
	}
	byID := map[string]map[string]string{}
	for _, r := range rows {
		byID[r["request_id"]] = r
	}
	for _, tc := range []struct{ id, col, want string }{
		{"a", "category", "t-shirt"},
		{"a", "confidence", "0.9"},
		{"a", "image_path", "s3://b/a.jpg"},
		{"a", "error", ""},
		{"c", "category", "shoes"},
		{"b", "response", "I cannot tell what this is."},
		{"b", "category", ""},
		{"b", "error", "output_schema"},
		{"d", "error", "Malformed input request"},
		{"e", "error", "no output line"},
		{"e", "image_path", "s3://b/e.jpg"},
		{"zzz", "error", "never sent"},
	} {
		r, ok := byID[tc.id]
		if !ok {
			t.Errorf("no row for %s", tc.id)
			continue
		}
		if tc.want == "" && r[tc.col] != "" || !strings.Contains(r[tc.col], tc.want) {
			t.Errorf("row %s column %s = %q, want %q", tc.id, tc.col, r[tc.col], tc.want)
		}
	}
}

func TestWriteEmbeddings(t *testing.T) {
	h := records.MustHeader("record_id", "input_text", requests.RequestIDColumn, requests.PromptIDColumn)
	reqs, err := LoadRequests(func(yield func(records.Record, error) bool) {
		yield(records.Record{Header: h, Values: []string{"r1", "hi", "r1", ""}}, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCollector("amazon.titan-embed-text-v2:0", prompts.Default(), reqs.PromptIDs())
	if err != nil {
		t.Fatal(err)
	}
	line := `{"recordId":"r1","modelInput":{"inputText":"hi"},"modelOutput":{"embedding":[0.5,-0.25,1],"inputTextTokenCount":2}}`
	var buf bytes.Buffer
	st, err := Write(&buf, reqs, c, batchio.ReadOutput(strings.NewReader(line), "x"))
	if err != nil || st.Succeeded != 1 {
		t.Fatalf("Write: %+v %v", st, err)
	}
	_, rows := readBack(t, buf.Bytes())
	if got := rows[0]["embedding"]; got != "[0.5,-0.25,1]" {
		t.Errorf("embedding read back as %q", got)
	}
}

func TestLoadRequestsRejectsDuplicates(t *testing.T) {
	h := records.MustHeader("record_id", requests.RequestIDColumn, requests.PromptIDColumn)
	var seq iter.Seq2[records.Record, error] = func(yield func(records.Record, error) bool) {
		for range 2 {
			if !yield(records.Record{Header: h, Values: []string{"a", "a", "p"}}, nil) {
				return
			}
		}
	}
	if _, err := LoadRequests(seq); err == nil || !strings.Contains(err.Error(), `"a" appears twice`) {
		t.Fatalf("err = %v", err)
	}
}
