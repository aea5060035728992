package results

import (
	"fmt"
	"io"
	"iter"
	"strconv"

	"github.com/bbo-dev/bbo/internal/batchio"
	"github.com/bbo-dev/bbo/internal/records"
	"github.com/bbo-dev/bbo/internal/requests"
)

// Requests is one job's request rows indexed by request id: what
// preprocess kept so outputs can be joined back to their input row. It is
// bounded by one job (at most 50,000 rows), never by the dataset.
type Requests struct {
	header   *records.Header
	rows     []records.Record
	byID     map[string]int
	prompts  []string
	reqCol   int
	promptCl int
}

// LoadRequests reads a job's request rows (columns: the input columns,
// request_id, prompt_id). A duplicate request id is an error: the join
// would be ambiguous.
func LoadRequests(rows iter.Seq2[records.Record, error]) (*Requests, error) {
	r := &Requests{byID: map[string]int{}}
	seenPrompt := map[string]bool{}
	for rec, err := range rows {
		if err != nil {
			return nil, fmt.Errorf("read request rows: %w", err)
		}
		if r.header == nil {
			r.header = rec.Header
			var ok1, ok2 bool
			r.reqCol, ok1 = r.header.Index(requests.RequestIDColumn)
			r.promptCl, ok2 = r.header.Index(requests.PromptIDColumn)
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("request rows %s lack the %q and %q columns preprocess writes: was this file written by bbo's preprocess?",
					rec.Source, requests.RequestIDColumn, requests.PromptIDColumn)
			}
		}
		id := rec.Values[r.reqCol]
		if _, dup := r.byID[id]; dup {
			return nil, fmt.Errorf("request rows: request id %q appears twice (%s)", id, rec.Source)
		}
		r.byID[id] = len(r.rows)
		r.rows = append(r.rows, rec)
		if p := rec.Values[r.promptCl]; !seenPrompt[p] {
			seenPrompt[p] = true
			r.prompts = append(r.prompts, p)
		}
	}
	if r.header == nil {
		return nil, fmt.Errorf("request rows are empty: the job has no requests to join")
	}
	return r, nil
}

// PromptIDs lists the distinct prompt ids of the job, in first-seen order.
func (r *Requests) PromptIDs() []string { return r.prompts }

// Len is the number of requests.
func (r *Requests) Len() int { return len(r.rows) }

// Stats counts the rows Write produced.
type Stats struct {
	Rows         int
	Succeeded    int
	Failed       int
	Missing      int // requests Bedrock returned no line for
	Unknown      int // output lines whose recordId matches no request
	Malformed    int // output lines that could not be read
	InputTokens  int64
	OutputTokens int64
}

// Write joins a job's output lines to its request rows and writes one
// parquet row per request: the request row's columns, then response,
// embedding (embedding models), the schema fields, token counts and error.
// A schema field named like an input column replaces it in place. Output
// lines are joined by recordId, so their order does not matter; requests
// with no output line, and output lines for no known request, become rows
// with an error rather than vanishing.
func Write(w io.Writer, reqs *Requests, c *Collector, outputs iter.Seq2[batchio.OutputLine, error]) (Stats, error) {
	var st Stats
	// Column layout: input columns first, then the new ones.
	cols := records.StringColumns(reqs.header)
	pos := func(name string, kind records.ColumnKind) int {
		if i, ok := reqs.header.Index(name); ok {
			cols[i].Kind = kind
			return i
		}
		cols = append(cols, records.Column{Name: name, Kind: kind})
		return len(cols) - 1
	}
	respCol := pos(ResponseColumn, records.KindString)
	embCol := -1
	if c.Embedding() {
		embCol = pos(EmbeddingColumn, records.KindFloat32List)
	}
	fieldCols := make([]int, len(c.Fields()))
	for i, f := range c.Fields() {
		fieldCols[i] = pos(f, records.KindString)
	}
	inTokCol := pos(InputTokensColumn, records.KindInt64)
	outTokCol := pos(OutputTokensColumn, records.KindInt64)
	errCol := pos(ErrorColumn, records.KindString)

	pw, err := records.NewParquetWriter(w, cols)
	if err != nil {
		return st, err
	}
	vals := make([]records.Value, len(cols))
	done := make([]bool, len(reqs.rows))
	var out Outcome

	writeRow := func(row *records.Record, reqID string, o *Outcome) error {
		for i := range vals {
			vals[i] = records.Value{Null: true}
		}
		if row != nil {
			for i, v := range row.Values {
				vals[i] = records.Value{Str: v}
			}
		} else {
			// No request row: keep the id Bedrock sent so the row can still
			// be traced.
			vals[reqs.reqCol] = records.Value{Str: reqID}
			if i, ok := reqs.header.Index(records.IDColumn); ok {
				vals[i] = records.Value{Str: reqID}
			}
		}
		if o.Response != "" || o.Err == "" {
			vals[respCol] = records.Value{Str: o.Response}
		}
		if embCol >= 0 && o.Embedding != nil {
			vals[embCol] = records.Value{Floats: o.Embedding}
		}
		for i, v := range o.Fields {
			if !v.Null {
				vals[fieldCols[i]] = records.Value{Str: v.Text}
			}
		}
		if o.Usage.InputTokens > 0 || o.Usage.OutputTokens > 0 {
			vals[inTokCol] = records.Value{Int: int64(o.Usage.InputTokens)}
			vals[outTokCol] = records.Value{Int: int64(o.Usage.OutputTokens)}
		}
		if o.Err != "" {
			vals[errCol] = records.Value{Str: o.Err}
			st.Failed++
		} else {
			st.Succeeded++
		}
		st.Rows++
		st.InputTokens += int64(o.Usage.InputTokens)
		st.OutputTokens += int64(o.Usage.OutputTokens)
		return pw.Write(vals)
	}

	for line, lerr := range outputs {
		if lerr != nil {
			le, ok := lerr.(*batchio.LineError)
			if !ok {
				return st, lerr
			}
			st.Malformed++
			out = Outcome{Fields: out.Fields[:0], Err: "unreadable output line: " + le.Error()}
			if i, known := reqs.byID[le.RecordID]; known && le.RecordID != "" && !done[i] {
				done[i] = true
				if err := writeRow(&reqs.rows[i], le.RecordID, &out); err != nil {
					return st, err
				}
				continue
			}
			id := le.RecordID
			if id == "" {
				id = "unreadable-line-" + strconv.Itoa(le.Line)
			}
			if err := writeRow(nil, id, &out); err != nil {
				return st, err
			}
			continue
		}
		i, known := reqs.byID[line.RecordID]
		if !known || done[i] {
			st.Unknown++
			why := "output line for a recordId this job never sent"
			if known {
				why = "second output line for the same recordId (the first was kept)"
			}
			out = Outcome{Fields: out.Fields[:0], Err: why}
			if err := writeRow(nil, line.RecordID, &out); err != nil {
				return st, err
			}
			continue
		}
		done[i] = true
		c.Collect(line, reqs.rows[i].Values[reqs.promptCl], &out)
		if err := writeRow(&reqs.rows[i], line.RecordID, &out); err != nil {
			return st, err
		}
	}
	for i, ok := range done {
		if ok {
			continue
		}
		st.Missing++
		out = Outcome{Fields: out.Fields[:0], Err: "Bedrock returned no output line for this record (" + strconv.Itoa(i+1) + " of " + strconv.Itoa(len(done)) + " in the job's input)"}
		if err := writeRow(&reqs.rows[i], reqs.rows[i].Values[reqs.reqCol], &out); err != nil {
			return st, err
		}
	}
	return st, pw.Close()
}
