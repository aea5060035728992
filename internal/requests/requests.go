// Package requests turns input records into Bedrock batch requests: it
// applies the prompt mode (single, mapped, expanded), renders the template
// and asks the model processor for the modelInput body. Records that cannot
// become a request are returned as *RecordError values, one per failed
// request, so the caller can keep and report them.
package requests

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/bbo-dev/bbo/internal/config"
	"github.com/bbo-dev/bbo/internal/images"
	"github.com/bbo-dev/bbo/internal/models"
	"github.com/bbo-dev/bbo/internal/records"
	"github.com/bbo-dev/bbo/prompts"
)

// Columns the builder adds to the rows it keeps for the join.
const (
	// RequestIDColumn is the recordId the request carries in the batch file.
	RequestIDColumn = "request_id"
	// PromptIDColumn is the prompt template the request was rendered from.
	PromptIDColumn = "prompt_id"
)

// ImageSource fetches image bytes by the path a record names (an s3:// URI
// in AWS, a local path in tests).
type ImageSource interface {
	FetchImage(ctx context.Context, path string) ([]byte, error)
}

// Prompts is the part of the prompt library the builder needs.
type Prompts interface {
	Get(id string) (*prompts.Template, bool)
}

// Options configures a Builder.
type Options struct {
	ModelID      string
	PromptConfig config.PromptConfig
	// InputType is "text" (default) or "image".
	InputType string
	// ImageColumn names the column holding the image path (default image_path).
	ImageColumn string
	Prompts     Prompts
	Images      ImageSource
}

// Request is one line of a Bedrock batch input file.
type Request struct {
	// ID is the batch recordId: the record's id, or <id>-NNN in expanded mode.
	ID string
	// RecordID is the id of the input record the request was built from.
	RecordID string
	// PromptID is the template the request was rendered from ("" when the
	// model takes the input text directly, as embedding models do).
	PromptID string
	// ModelInput is the modelInput JSON object. It aliases the builder's
	// buffer and is valid only until the next call to Build.
	ModelInput []byte
}

// RecordError is a record (or one expanded request of it) that could not be
// turned into a request. It is data to keep, not a reason to stop.
type RecordError struct {
	RecordID string
	Source   string
	PromptID string
	Reason   string
	Err      error
}

func (e *RecordError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "record %q", e.RecordID)
	if e.Source != "" {
		fmt.Fprintf(&b, " (%s)", e.Source)
	}
	if e.PromptID != "" {
		fmt.Fprintf(&b, ", prompt %q", e.PromptID)
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *RecordError) Unwrap() error { return e.Err }

// Builder builds requests for one stage. It is not safe for concurrent use
// (it reuses its buffers); build one per goroutine.
type Builder struct {
	opts      Options
	proc      models.Processor
	caps      models.Capabilities
	single    *prompts.Template
	prompt    []byte
	body      []byte
	embedText bool
}

// DefaultEmbeddingColumn is the column an embedding model reads when the
// stage has no prompt (as the original does).
const DefaultEmbeddingColumn = "input_text"

// New checks the options against the model and prompt library and returns a
// builder. Configuration problems are reported here, before any record.
func New(opts Options) (*Builder, error) {
	if opts.InputType == "" {
		opts.InputType = "text"
	}
	if opts.ImageColumn == "" {
		opts.ImageColumn = "image_path"
	}
	proc, err := models.Lookup(opts.ModelID)
	if err != nil {
		return nil, err
	}
	b := &Builder{opts: opts, proc: proc, caps: proc.Capabilities()}
	if opts.InputType == "image" {
		if !b.caps.Images {
			return nil, fmt.Errorf("model %q does not accept images: use a Claude or Nova model for input_type image", opts.ModelID)
		}
		if opts.Images == nil {
			return nil, errors.New("input_type image needs an image source")
		}
	} else if opts.InputType != "text" {
		return nil, fmt.Errorf("input_type %q: use \"text\" or \"image\"", opts.InputType)
	}
	pc := opts.PromptConfig
	switch pc.Mode {
	case "", "single":
		if pc.PromptID == "" {
			if b.caps.Embedding {
				b.embedText = true
				return b, nil
			}
			return nil, errors.New("prompt_config.prompt_id is required in single mode")
		}
		t, err := b.template(pc.PromptID)
		if err != nil {
			return nil, err
		}
		if t.IsExpansion() {
			return nil, fmt.Errorf("prompt %q is an expansion rule: use mode \"expanded\" with expansion_mapping", pc.PromptID)
		}
		b.single = t
	case "mapped":
		if pc.ColumnName == "" {
			return nil, errors.New("mapped mode needs prompt_config.column_name: the column holding each record's prompt id")
		}
	case "expanded":
		if pc.CategoryColumn == "" || len(pc.ExpansionMapping) == 0 {
			return nil, errors.New("expanded mode needs prompt_config.category_column and prompt_config.expansion_mapping")
		}
	default:
		return nil, fmt.Errorf("prompt_config.mode %q: use single, mapped or expanded", pc.Mode)
	}
	return b, nil
}

func (b *Builder) template(id string) (*prompts.Template, error) {
	t, ok := b.opts.Prompts.Get(id)
	if !ok {
		return nil, fmt.Errorf("unknown prompt id %q: add it under prompts/templates or fix the config", id)
	}
	return t, nil
}

// Build turns one record into its requests and calls emit for each. Records
// that cannot be built are returned as *RecordError values (joined with
// errors.Join when there are several); an error from emit stops the build
// and is returned as is.
func (b *Builder) Build(ctx context.Context, rec records.Record, emit func(Request) error) error {
	id := rec.ID()
	if id == "" {
		return b.fail(rec, "", "has no record_id", nil)
	}
	var img *models.Image
	if b.opts.InputType == "image" {
		var ferr error
		img, ferr = b.image(ctx, rec)
		if ferr != nil {
			return ferr
		}
	}
	if b.embedText {
		text, ok := rec.Get(DefaultEmbeddingColumn)
		if !ok {
			return b.fail(rec, "", fmt.Sprintf("has no %q column: embedding models without a prompt read that column (columns: %s)",
				DefaultEmbeddingColumn, strings.Join(rec.Header.Names(), ", ")), nil)
		}
		return b.emitOne(rec, id, "", text, img, emit)
	}
	pc := b.opts.PromptConfig
	switch pc.Mode {
	case "mapped":
		pid, _ := rec.Get(pc.ColumnName)
		pid = strings.TrimSpace(pid)
		if pid == "" {
			return b.fail(rec, "", fmt.Sprintf("column %q (mapped mode's prompt id) is empty or missing: map its category in category_to_prompt_mapping or add a \"default\"", pc.ColumnName), nil)
		}
		t, err := b.template(pid)
		if err != nil {
			return b.fail(rec, pid, "cannot be built", err)
		}
		return b.render(rec, id, t, img, emit)
	case "expanded":
		cat, _ := rec.Get(pc.CategoryColumn)
		ruleID, ok := lookupFold(pc.ExpansionMapping, cat)
		if !ok {
			return b.fail(rec, "", fmt.Sprintf("category %q (column %q) has no entry in expansion_mapping and there is no \"default\"", cat, pc.CategoryColumn), nil)
		}
		rule, err := b.template(ruleID)
		if err != nil {
			return b.fail(rec, ruleID, "cannot be expanded", err)
		}
		if !rule.IsExpansion() {
			return b.fail(rec, ruleID, "is not an expansion rule (expansion_rule: true with a prompts list)", nil)
		}
		var errs []error
		for i, pid := range rule.Expansion {
			t, err := b.template(pid)
			if err == nil {
				err = b.render(rec, fmt.Sprintf("%s-%03d", id, i+1), t, img, emit)
			} else {
				err = b.fail(rec, pid, "cannot be built", err)
			}
			var re *RecordError
			if err != nil && !errors.As(err, &re) {
				return err // emit failed: stop
			}
			if err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	default:
		return b.render(rec, id, b.single, img, emit)
	}
}

func (b *Builder) render(rec records.Record, reqID string, t *prompts.Template, img *models.Image, emit func(Request) error) error {
	var err error
	b.prompt, err = t.AppendRender(b.prompt[:0], rec)
	if err != nil {
		return b.fail(rec, t.ID, "cannot render the prompt", err)
	}
	return b.emitOne(rec, reqID, t.ID, string(b.prompt), img, emit)
}

func (b *Builder) emitOne(rec records.Record, reqID, promptID, text string, img *models.Image, emit func(Request) error) error {
	var err error
	b.body, err = b.proc.AppendModelInput(b.body[:0], models.Request{Prompt: text, Image: img})
	if err != nil {
		return b.fail(rec, promptID, "cannot build the model input", err)
	}
	return emit(Request{ID: reqID, RecordID: rec.ID(), PromptID: promptID, ModelInput: b.body})
}

func (b *Builder) image(ctx context.Context, rec records.Record) (*models.Image, error) {
	path, ok := rec.Get(b.opts.ImageColumn)
	if !ok {
		return nil, b.fail(rec, "", fmt.Sprintf("has no image column %q (columns: %s): set image_column", b.opts.ImageColumn, strings.Join(rec.Header.Names(), ", ")), nil)
	}
	if strings.TrimSpace(path) == "" {
		return nil, b.fail(rec, "", fmt.Sprintf("image column %q is empty", b.opts.ImageColumn), nil)
	}
	data, err := b.opts.Images.FetchImage(ctx, path)
	if err != nil {
		return nil, b.fail(rec, "", "cannot read image "+path, err)
	}
	info, err := images.Inspect(data)
	if err != nil {
		return nil, b.fail(rec, "", "image "+path+" is not usable", err)
	}
	return &models.Image{Data: data, MediaType: info.MediaType, Format: info.Format}, nil
}

func (b *Builder) fail(rec records.Record, promptID, reason string, err error) error {
	return &RecordError{RecordID: rec.ID(), Source: rec.Source, PromptID: promptID, Reason: reason, Err: err}
}

// lookupFold finds key in m ignoring case and surrounding space, falling
// back to "default".
func lookupFold(m map[string]string, key string) (string, bool) {
	k := strings.ToLower(strings.TrimSpace(key))
	for mk, v := range m {
		if strings.ToLower(strings.TrimSpace(mk)) == k {
			return v, true
		}
	}
	v, ok := m["default"]
	return v, ok
}
