// Package results turns Bedrock batch output lines into result rows: the
// model's text or embedding, the prompt's output_schema fields, token usage
// and a per-record error, joined back to the input row the request came
// from. A record whose output cannot be parsed keeps its raw text and gets an
// error; nothing is dropped.
package results

import (
	"fmt"
	"slices"

	"github.com/bbo-dev/bbo/internal/batchio"
	"github.com/bbo-dev/bbo/internal/extract"
	"github.com/bbo-dev/bbo/internal/models"
	"github.com/bbo-dev/bbo/prompts"
)

// Output columns added after the input columns.
const (
	ResponseColumn     = "response"
	EmbeddingColumn    = "embedding"
	ErrorColumn        = "error"
	InputTokensColumn  = "input_tokens"
	OutputTokensColumn = "output_tokens"
)

// Prompts is the part of the prompt library the collector needs.
type Prompts interface {
	Get(id string) (*prompts.Template, bool)
}

// Collector parses the output lines of one job. It is safe for concurrent
// use once built.
type Collector struct {
	proc      models.Processor
	fields    []string
	byPrompt  map[string]*schema
	embedding bool
}

type schema struct {
	ext *extract.Extractor
	// pos maps the extractor's columns to positions in Collector.fields.
	pos []int
}

// Outcome is the parsed result of one output line.
type Outcome struct {
	Response  string
	Embedding []float32
	// Fields holds one value per Collector.Fields(), Null when the record's
	// prompt has no such field or the model's answer lacked it.
	Fields []extract.Value
	Usage  models.Usage
	// Err says why the record failed (Bedrock's error, an unparseable
	// output, no JSON where the schema wanted some); "" on success.
	Err string
}

// NewCollector prepares a collector for a job whose requests were rendered
// from promptIDs ("" for prompt-less embedding requests). Schema fields of
// all of them become columns, in the order the prompts list them.
func NewCollector(modelID string, lib Prompts, promptIDs []string) (*Collector, error) {
	proc, err := models.Lookup(modelID)
	if err != nil {
		return nil, err
	}
	c := &Collector{proc: proc, byPrompt: map[string]*schema{}, embedding: proc.Capabilities().Embedding}
	for _, id := range promptIDs {
		if id == "" || c.byPrompt[id] != nil {
			continue
		}
		t, ok := lib.Get(id)
		if !ok {
			return nil, fmt.Errorf("unknown prompt id %q in the job's input rows: was the prompt library changed between preprocess and postprocess?", id)
		}
		if t.Schema == nil {
			continue
		}
		cols := make([]string, len(t.Schema.Fields))
		paths := make([]string, len(t.Schema.Fields))
		s := &schema{pos: make([]int, len(t.Schema.Fields))}
		for i, f := range t.Schema.Fields {
			cols[i], paths[i] = f.Column, f.Path
			j := slices.Index(c.fields, f.Column)
			if j < 0 {
				j = len(c.fields)
				c.fields = append(c.fields, f.Column)
			}
			s.pos[i] = j
		}
		s.ext, err = extract.Compile(t.Schema.Type, cols, paths)
		if err != nil {
			return nil, fmt.Errorf("prompt %q output_schema: %w", id, err)
		}
		c.byPrompt[id] = s
	}
	return c, nil
}

// Fields returns the schema field columns, in order.
func (c *Collector) Fields() []string { return c.fields }

// Embedding reports whether the model returns embeddings.
func (c *Collector) Embedding() bool { return c.embedding }

// Collect parses one output line rendered from promptID into out, reusing
// out's slices.
func (c *Collector) Collect(line batchio.OutputLine, promptID string, out *Outcome) {
	out.Response, out.Embedding, out.Usage, out.Err = "", nil, models.Usage{}, ""
	out.Fields = slices.Grow(out.Fields[:0], len(c.fields))[:len(c.fields)]
	for i := range out.Fields {
		out.Fields[i] = extract.Value{Null: true}
	}
	if line.Error != nil {
		out.Err = "bedrock: " + line.Error.Error()
		return
	}
	if line.ModelOutput == nil {
		out.Err = "bedrock returned neither modelOutput nor error for this record"
		return
	}
	res, err := c.proc.ParseModelOutput(line.ModelOutput)
	if err != nil {
		out.Err = "cannot parse modelOutput: " + err.Error()
		return
	}
	out.Response, out.Embedding, out.Usage = res.Text, res.Embedding, res.Usage
	s := c.byPrompt[promptID]
	if s == nil {
		return
	}
	var buf [16]extract.Value
	vals, err := s.ext.Extract(res.Text, buf[:0])
	for i, v := range vals {
		out.Fields[s.pos[i]] = v
	}
	if err != nil {
		out.Err = "output_schema: " + err.Error()
	}
}
