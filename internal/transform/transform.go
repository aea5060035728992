// Package transform turns a pipeline stage's result tables into the next
// stage's input: it derives the category the next stage's prompts are
// mapped by, applies column_mappings, writes each record's prompt id, and
// carries every earlier column forward (the previous stage's response,
// error and token columns renamed after the stage), one output file per
// result file of the previous stage.
package transform

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/bbo-dev/bbo/internal/batchio"
	"github.com/bbo-dev/bbo/internal/config"
	"github.com/bbo-dev/bbo/internal/extract"
	"github.com/bbo-dev/bbo/internal/records"
	"github.com/bbo-dev/bbo/internal/requests"
	"github.com/bbo-dev/bbo/internal/results"
	"github.com/bbo-dev/bbo/internal/s3io"
	"github.com/bbo-dev/bbo/internal/taskerr"
)

// InputFolder is the top-level folder transformed inputs are written under
// (as preprocess's request rows are).
const InputFolder = "batch_inputs_parquet"

// CategoryColumn is the column the previous stage's category is read from
// or written to.
const CategoryColumn = "category"

// Input is the transform event (JSON names are the contract).
type Input struct {
	// Stage is the stage about to run.
	Stage config.Stage `json:"stage"`
	// StageIndex is its position in the pipeline.
	StageIndex int `json:"stage_index"`
	// Previous is the stage before it and its result tables.
	Previous Previous `json:"previous"`
	// PipelineName names the pipeline, for messages.
	PipelineName string `json:"pipeline_name"`
}

// Previous describes the stage whose output is transformed.
type Previous struct {
	StageName     string   `json:"stage_name"`
	JobNamePrefix string   `json:"job_name_prefix"`
	OutputPaths   []string `json:"output_paths"`
}

// Summary counts what the transform did.
type Summary struct {
	// Rows is the number of rows written.
	Rows int `json:"rows"`
	// Unmapped is the number of rows whose category matched no
	// category_to_prompt_mapping key (nor "default"); their prompt id
	// column is empty and preprocess reports them as failed records.
	Unmapped int `json:"unmapped"`
	// Files is the number of files written (one per previous output file).
	Files int `json:"files"`
	// Unreadable is the number of previous rows that could not be read
	// (a row with an empty record_id); each is logged.
	Unreadable int `json:"unreadable,omitempty"`
}

// Output is the transform result: the job request that runs the stage on
// the transformed rows.
type Output struct {
	Request config.JobRequest `json:"request"`
	Summary Summary           `json:"summary"`
}

// Handler runs transform. Build it once per process; it is safe for
// concurrent use.
type Handler struct {
	// S3 reads the previous results and writes the transformed input.
	S3 s3io.API
	// Bucket receives the transformed input (BUCKET_NAME).
	Bucket string
	// Log receives progress and warnings; nil means slog.Default().
	Log *slog.Logger
}

// Prefix returns the folder the transformed input of cur from prev goes
// to: s3://bucket/batch_inputs_parquet/<prev>_to_<cur>/.
func Prefix(bucket, prev, cur string) s3io.URI {
	return s3io.URI{Bucket: bucket, Key: InputFolder + "/" + prev + "_to_" + cur + "/"}
}

// Handle transforms every result file of the previous stage into this
// stage's input. For a stage without use_previous_output it only builds the
// stage's job request from its input_s3_uri.
func (h *Handler) Handle(ctx context.Context, in Input) (Output, error) {
	log := h.Log
	if log == nil {
		log = slog.Default()
	}
	st := &in.Stage
	log = log.With(slog.String("pipeline", in.PipelineName), slog.String("stage", st.StageName),
		slog.Int("stage_index", in.StageIndex), slog.String("previous_stage", in.Previous.StageName))
	var out Output
	if h.Bucket == "" {
		return out, taskerr.New(taskerr.InvalidConfig, "transform has no bucket: set BUCKET_NAME")
	}
	if !st.UsePreviousOutput {
		// The pipeline sends every stage through transform, because only
		// code can build a job request that omits the stage's absent
		// optional fields; a stage reading its own input needs nothing else.
		out.Request = st.JobRequest(st.InputS3URI)
		log.Info("stage reads its own input", slog.String("s3_uri", st.InputS3URI))
		return out, nil
	}
	if in.Previous.JobNamePrefix == "" || st.JobNamePrefix == "" {
		return out, taskerr.New(taskerr.InvalidInput, "stage %q: transform needs the job_name_prefix of the stage and of the previous stage %q",
			st.StageName, in.Previous.StageName)
	}
	srcs, err := h.openAll(ctx, in)
	if err != nil {
		return out, err
	}
	plan := newPlan(st, in.Previous.StageName, unionHeader(srcs), log)

	dst := Prefix(h.Bucket, in.Previous.JobNamePrefix, st.JobNamePrefix)
	for i, src := range srcs {
		u := dst.Join(batchio.IndexName(i) + ".snappy.parquet")
		if err := h.transformFile(ctx, plan, src, u, &out.Summary, log); err != nil {
			return out, fmt.Errorf("stage %q: transform %s: %w", st.StageName, src.uri, err)
		}
		out.Summary.Files++
	}
	out.Request = st.JobRequest(dst.String())
	log.Info("transform done", slog.String("s3_uri", dst.String()), slog.Int("files", out.Summary.Files),
		slog.Int("rows", out.Summary.Rows), slog.Int("unmapped", out.Summary.Unmapped))
	return out, nil
}

// source is one previous result file, opened.
type source struct {
	uri    s3io.URI
	ra     *s3io.ReaderAt
	header *records.Header // nil for a file without rows
}

// openAll opens every previous result file and reads its header, so a
// missing file fails the task before anything is written and every output
// file can share one schema.
func (h *Handler) openAll(ctx context.Context, in Input) ([]source, error) {
	notFound := func(why string) error {
		return taskerr.New(taskerr.PreviousOutputNotFound, "stage %q (index %d): the output of the previous stage %q %s (output_paths %q): did that stage finish?",
			in.Stage.StageName, in.StageIndex, in.Previous.StageName, why, in.Previous.OutputPaths)
	}
	if len(in.Previous.OutputPaths) == 0 {
		return nil, notFound("is missing: it has no output paths")
	}
	srcs := make([]source, 0, len(in.Previous.OutputPaths))
	for _, p := range in.Previous.OutputPaths {
		if strings.TrimSpace(p) == "" {
			return nil, notFound("is missing: an output path is empty")
		}
		u, err := s3io.ParseURI(p)
		if err != nil {
			return nil, taskerr.Wrap(taskerr.InvalidInput, err)
		}
		ra, err := s3io.NewReaderAt(ctx, h.S3, u)
		if err != nil {
			if s3io.IsNotFound(err) {
				return nil, notFound(fmt.Sprintf("is missing: %s does not exist", u))
			}
			return nil, err
		}
		s := source{uri: u, ra: ra}
		for rec, err := range records.ReadParquet(ra, ra.Size(), u.String(), records.ReadOptions{}) {
			if err == nil {
				s.header = rec.Header
				break
			}
			if _, ok := err.(*records.RowError); !ok {
				return nil, taskerr.Wrap(taskerr.InvalidInput, err)
			}
		}
		srcs = append(srcs, s)
	}
	return srcs, nil
}

// unionHeader lists every column of the files, in first-seen order, so all
// transformed files share one schema even when the previous jobs' prompts
// had different output_schema fields.
func unionHeader(srcs []source) []string {
	var names []string
	seen := map[string]bool{}
	for _, s := range srcs {
		if s.header == nil {
			continue
		}
		for _, n := range s.header.Names() {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	return names
}

// Column kinds of the output: where each output value comes from.
const (
	fromColumn   = iota // a previous column (by name)
	fromCategory        // the derived category
	fromPrompt          // the mapped prompt id
)

type outCol struct {
	name string
	kind int
	src  string // previous column, for fromColumn
	alt  string // previous column used when src is empty, for fromColumn
}

// plan is the output schema of a stage's transform and how to fill it.
type plan struct {
	cols []outCol
	// deriveCategory: the category comes from the response, not a column.
	deriveCategory bool
	needCategory   bool
	mapping        map[string]string // normalized category → prompt id
}

// renamed lists the bookkeeping columns of a result table and whether they
// are renamed after the previous stage (true) or dropped (false).
var renamed = map[string]bool{
	results.ResponseColumn:     true,
	results.ErrorColumn:        true,
	results.InputTokensColumn:  true,
	results.OutputTokensColumn: true,
	results.EmbeddingColumn:    true,
	requests.RequestIDColumn:   false,
	requests.PromptIDColumn:    false,
}

func newPlan(st *config.Stage, prevStage string, in []string, log *slog.Logger) *plan {
	p := &plan{}
	pos := map[string]int{}
	set := func(c outCol) {
		if i, ok := pos[c.name]; ok {
			if p.cols[i].src != c.src || p.cols[i].kind != c.kind {
				log.Warn("transform replaces a carried column", slog.String("column", c.name), slog.String("by", c.src))
			}
			p.cols[i] = c
			return
		}
		pos[c.name] = len(p.cols)
		p.cols = append(p.cols, c)
	}
	has := func(n string) bool { return slices.Contains(in, n) }
	prefix := prevStage
	if prefix == "" {
		prefix = "previous"
	}
	for _, n := range in {
		keep, book := renamed[n]
		switch {
		case n == records.IDColumn && has(requests.RequestIDColumn):
			// The next stage's record is the previous stage's request: after
			// expanded mode several requests share a record_id, and their
			// ids (<record_id>-001, ...) keep them apart. Elsewhere the two
			// are equal.
			set(outCol{name: n, kind: fromColumn, src: requests.RequestIDColumn, alt: n})
		case !book:
			set(outCol{name: n, kind: fromColumn, src: n})
		case keep:
			set(outCol{name: prefix + "_" + n, kind: fromColumn, src: n})
		}
	}
	p.needCategory = len(st.CategoryToPromptMapping) > 0
	if p.needCategory && !has(CategoryColumn) && has(results.ResponseColumn) {
		p.deriveCategory = true
		set(outCol{name: CategoryColumn, kind: fromCategory})
	}
	targets := make([]string, 0, len(st.ColumnMappings))
	for t := range st.ColumnMappings {
		targets = append(targets, t)
	}
	slices.Sort(targets)
	for _, t := range targets {
		src := st.ColumnMappings[t]
		switch {
		case has(src):
		case has(results.ResponseColumn):
			log.Warn("column_mappings source is not in the previous output: copying the response instead, as the original did",
				slog.String("target", t), slog.String("source", src))
			src = results.ResponseColumn
		default:
			log.Warn("column_mappings source is not in the previous output and there is no response to copy: the column stays empty",
				slog.String("target", t), slog.String("source", src))
		}
		set(outCol{name: t, kind: fromColumn, src: src})
	}
	if p.needCategory {
		p.mapping = make(map[string]string, len(st.CategoryToPromptMapping))
		for k, v := range st.CategoryToPromptMapping {
			p.mapping[normalize(k)] = v
		}
		col := ""
		if st.PromptConfig != nil {
			col = st.PromptConfig.ColumnName
		}
		if col == "" {
			log.Warn("category_to_prompt_mapping is set but prompt_config.column_name is not: the mapped prompt ids are not written")
		} else {
			set(outCol{name: col, kind: fromPrompt})
		}
	}
	return p
}

func normalize(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Category returns the category of a model response: the "category" key of
// the JSON object in it, else the trimmed response.
func Category(response string) string {
	if j, ok := extract.FindJSON(response); ok {
		var m map[string]json.RawMessage
		if json.Unmarshal([]byte(j), &m) == nil {
			if raw, ok := m[CategoryColumn]; ok && string(raw) != "null" {
				var s string
				if json.Unmarshal(raw, &s) == nil {
					return strings.TrimSpace(s)
				}
				return string(raw)
			}
		}
	}
	return strings.TrimSpace(response)
}

// lookup maps a category to a prompt id: the category's own entry
// (case and surrounding space ignored), else "default", else "".
func (p *plan) lookup(category string) (string, bool) {
	if id, ok := p.mapping[normalize(category)]; ok {
		return id, true
	}
	if id, ok := p.mapping[config.DefaultMappingKey]; ok {
		return id, true
	}
	return "", false
}

// fileCols is the plan bound to one file's header.
type fileCols struct {
	idx      []int // previous column index per output column, -1 if none
	alt      []int // fallback column index per output column, -1 if none
	category int   // index of the category column, -1 if none
	response int   // index of the response column, -1 if none
}

func (p *plan) bind(h *records.Header) fileCols {
	fc := fileCols{idx: make([]int, len(p.cols)), alt: make([]int, len(p.cols)), category: -1, response: -1}
	index := func(n string) int {
		if h == nil {
			return -1
		}
		if i, ok := h.Index(n); ok {
			return i
		}
		return -1
	}
	for i, c := range p.cols {
		fc.idx[i], fc.alt[i] = -1, -1
		if c.kind == fromColumn {
			fc.idx[i] = index(c.src)
			if c.alt != "" {
				fc.alt[i] = index(c.alt)
			}
		}
	}
	fc.category = index(CategoryColumn)
	fc.response = index(results.ResponseColumn)
	return fc
}

// row fills vals with the transformed row and reports whether its category
// was unmapped.
func (p *plan) row(fc *fileCols, rec *records.Record, vals []string) (unmapped bool) {
	category := ""
	if p.needCategory {
		if fc.category >= 0 {
			category = rec.Values[fc.category]
		}
		if category == "" && fc.response >= 0 {
			category = Category(rec.Values[fc.response])
		}
	}
	for i, c := range p.cols {
		switch c.kind {
		case fromColumn:
			vals[i] = ""
			if j := fc.idx[i]; j >= 0 {
				vals[i] = rec.Values[j]
			}
			if j := fc.alt[i]; vals[i] == "" && j >= 0 {
				vals[i] = rec.Values[j]
			}
		case fromCategory:
			vals[i] = category
		case fromPrompt:
			id, ok := p.lookup(category)
			vals[i] = id
			unmapped = !ok
		}
	}
	return unmapped
}

func (h *Handler) transformFile(ctx context.Context, p *plan, src source, dst s3io.URI, sum *Summary, log *slog.Logger) error {
	names := make([]string, len(p.cols))
	for i, c := range p.cols {
		names[i] = c.name
	}
	hdr, err := records.NewHeader(names)
	if err != nil {
		return taskerr.Wrap(taskerr.InvalidConfig, fmt.Errorf("output columns: %w", err))
	}
	w := s3io.Create(ctx, h.S3, dst, "application/vnd.apache.parquet")
	pw, err := records.NewParquetWriter(w, records.StringColumns(hdr))
	if err != nil {
		w.Abort(err)
		return err
	}
	fail := func(err error) error {
		w.Abort(err)
		return err
	}
	var fc fileCols
	var bound *records.Header
	vals := make([]string, len(p.cols))
	out := records.Record{Header: hdr, Values: vals}
	for rec, err := range records.ReadParquet(src.ra, src.ra.Size(), src.uri.String(), records.ReadOptions{}) {
		if err != nil {
			if re, ok := err.(*records.RowError); ok {
				sum.Unreadable++
				log.Warn("previous output row cannot be carried forward", slog.String("error", re.Error()))
				continue
			}
			return fail(taskerr.Wrap(taskerr.InvalidInput, err))
		}
		if rec.Header != bound {
			bound, fc = rec.Header, p.bind(rec.Header)
		}
		if p.row(&fc, &rec, vals) {
			sum.Unmapped++
		}
		if err := pw.WriteRecord(out); err != nil {
			return fail(err)
		}
		sum.Rows++
	}
	if err := pw.Close(); err != nil {
		return fail(err)
	}
	if err := w.Close(); err != nil {
		return err
	}
	return nil
}
