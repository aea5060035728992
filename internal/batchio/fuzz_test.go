package batchio

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// referenceParse parses a line with encoding/json, the behaviour
// parseOutputLine must match.
func referenceParse(line []byte) (id string, out []byte, errRaw []byte, ok bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(line, &m) != nil || m == nil {
		return "", nil, nil, false
	}
	raw, has := m["recordId"]
	if !has || string(raw) == "null" || raw[0] != '"' || json.Unmarshal(raw, &id) != nil {
		return "", nil, nil, false
	}
	if o := m["modelOutput"]; o != nil && string(o) != "null" {
		return id, o, nil, true
	}
	if e := m["error"]; e != nil && string(e) != "null" {
		return id, nil, e, true
	}
	return id, nil, nil, false
}

func FuzzParseOutputLine(f *testing.F) {
	data, err := os.ReadFile("testdata/output.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	for _, l := range bytes.Split(data, []byte("\n")) {
		f.Add(l)
	}
	for _, s := range []string{
		`{"recordId":"a","modelOutput":{"x":[1,2.5e-3,true,false,null,"\u00e9\n"]}}`,
		`{"recordId":"a","error":{"errorCode":400,"errorMessage":"bad"}}`,
		`null`, `{}`, `{"recordId":"a\ud800","modelOutput":-0}`, `{"recordId":"\xff","modelOutput":1E+2}`,
		`{"recordId":"a","modelOutput":[[[[]]]]}`, `{"recordId":"a","modelOutput":1.}`, ` {"recordId" :"a", "error":"x"} `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		got, err := parseOutputLine(line)
		id, out, errRaw, ok := referenceParse(line)
		if (err == nil) != ok {
			t.Fatalf("parse err %v, encoding/json ok %v", err, ok)
		}
		if !ok {
			return
		}
		if got.RecordID != id || !bytes.Equal(got.ModelOutput, out) {
			t.Fatalf("got %q %q, want %q %q", got.RecordID, got.ModelOutput, id, out)
		}
		if (got.Error != nil) != (errRaw != nil) {
			t.Fatalf("Error %v, want raw %s", got.Error, errRaw)
		}
	})
}

func FuzzReadOutput(f *testing.F) {
	f.Add([]byte("{\"recordId\":\"a\",\"modelOutput\":1}\n\n{bad\n{\"recordId\":\"b\",\"error\":\"x\"}"))
	f.Add([]byte("\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		for line, err := range ReadOutput(bytes.NewReader(data), "fuzz") {
			n++
			if err == nil && line.ModelOutput == nil && line.Error == nil {
				t.Fatalf("line with neither output nor error: %+v", line)
			}
		}
		if n > bytes.Count(data, []byte("\n"))+1 {
			t.Fatalf("%d results for %d lines", n, bytes.Count(data, []byte("\n"))+1)
		}
	})
}

func TestNestingDepthMatchesEncodingJSON(t *testing.T) {
	for _, depth := range []int{9998, 9999, 10000} {
		line := []byte(`{"recordId":"a","modelOutput":` + string(bytes.Repeat([]byte("["), depth)) + string(bytes.Repeat([]byte("]"), depth)) + `}`)
		_, err := parseOutputLine(line)
		_, _, _, ok := referenceParse(line)
		if (err == nil) != ok {
			t.Errorf("depth %d: parse err %v, encoding/json ok %v", depth, err, ok)
		}
	}
}
