package postprocess

import (
	"bytes"
	"io"
	"testing"

	"github.com/bbo-dev/bbo/internal/batchio"
	"github.com/bbo-dev/bbo/internal/records"
	"github.com/bbo-dev/bbo/internal/results"
	"github.com/bbo-dev/bbo/prompts"
)

// FuzzJoinOutput feeds arbitrary .jsonl.out content through the join
// Handle runs (without S3, so the fuzzer is fast; TestHandle covers the S3
// path): the content must never fail the job, every request must come back
// as a row, and the manifest check must count every line.
func FuzzJoinOutput(f *testing.F) {
	for _, s := range []string{
		claudeLine("r1", category("t-shirt", 0.9)) + errorLine("r2"),
		claudeLine("r1", "not json") + "{\"recordId\":\"r2\",\"modelOutput\":{\n",
		"", "\n\n", "{}", `{"recordId":"r1","error":"boom"}`, `{"recordId":"r1","modelOutput":{"content":[]}}`,
	} {
		f.Add([]byte(s))
	}
	rows := requestRows(f, []string{"r1", "r2"}, classify)
	f.Fuzz(func(t *testing.T, body []byte) {
		reqs, err := results.LoadRequests(records.ReadParquet(bytes.NewReader(rows), int64(len(rows)), "rows", records.ReadOptions{}))
		if err != nil {
			t.Fatal(err)
		}
		coll, err := results.NewCollector(haiku, prompts.Default(), reqs.PromptIDs())
		if err != nil {
			t.Fatal(err)
		}
		var n lineCounts
		lines := countLines(batchio.ReadOutput(bytes.NewReader(body), "fuzz.jsonl.out"), &n)
		st, err := results.Write(io.Discard, reqs, coll, lines)
		if err != nil {
			t.Fatalf("Write: %v", err)
		}
		if st.Rows < 2 || st.Rows != st.Succeeded+st.Failed {
			t.Fatalf("stats %+v", st)
		}
		if got := int(n.success + n.errors + n.malformed); got != st.Rows-st.Missing {
			t.Fatalf("counted %d lines, table has %d rows of which %d missing", got, st.Rows, st.Missing)
		}
		_ = compareManifest(batchio.Manifest{}, n, reqs.Len())
	})
}
