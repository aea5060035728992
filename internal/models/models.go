// Package models turns prompts (and images) into the Bedrock batch
// "modelInput" JSON of a model family and reads the family's "modelOutput"
// back. Model-specific code lives behind the Processor interface, one file
// per family; a family registers itself in its file's init, so adding a model
// family is adding a file.
package models

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Image is an image to send with a prompt. Fill MediaType and Format from
// images.Inspect (the real type, detected from the bytes), never from a file
// name: Claude uses MediaType ("image/png"), Nova uses Format ("png").
type Image struct {
	Data      []byte
	MediaType string
	Format    string
}

// Request is one prompt to one model; Image is nil for text-only prompts.
type Request struct {
	Prompt string
	Image  *Image
}

// Usage is the token accounting a model reports for one record.
type Usage struct {
	InputTokens, OutputTokens int
}

// Result is what a model returned for one record. Text is set by text
// models, Embedding by embedding models.
type Result struct {
	Text       string
	Embedding  []float32
	Usage      Usage
	StopReason string
}

// Capabilities says what inputs a model accepts and what it returns.
type Capabilities struct {
	Images    bool // accepts an image with the prompt
	Embedding bool // returns an embedding instead of text
}

// Processor builds request bodies for, and parses responses of, one model.
// Implementations are immutable and safe for concurrent use.
type Processor interface {
	// Family names the model family, e.g. "claude".
	Family() string
	// Capabilities reports what this model accepts and returns.
	Capabilities() Capabilities
	// AppendModelInput appends the Bedrock batch "modelInput" JSON object
	// for req to dst. It allocates nothing when dst has room.
	AppendModelInput(dst []byte, req Request) ([]byte, error)
	// ParseModelOutput parses one record's "modelOutput" JSON object.
	ParseModelOutput(modelOutput []byte) (Result, error)
}

// Config tunes a processor; the zero value means each family's defaults.
type Config struct {
	// MaxTokens caps the generated tokens: Claude "max_tokens" (default
	// 1024), Nova "inferenceConfig.maxTokens" (default 1024), Llama
	// "max_gen_len" (default 1024, at most 2048). Ignored by embedding models.
	MaxTokens int
	// Dimensions is the Titan Embed Text v2 vector size: 256, 512 or 1024
	// (default 1024). Ignored by text models.
	Dimensions int
}

// DefaultMaxTokens is the generation cap used when Config.MaxTokens is 0;
// it matches what the original sent to Claude.
const DefaultMaxTokens = 1024

// Sentinel errors callers can branch on with errors.Is.
var (
	// ErrUnknownModel: no registered family handles the model id.
	ErrUnknownModel = errors.New("unknown model")
	// ErrImageNotSupported: an image was given to a text-only model.
	ErrImageNotSupported = errors.New("model does not accept images")
	// ErrInvalidRequest: the prompt or image cannot be sent as given.
	ErrInvalidRequest = errors.New("invalid request")
	// ErrInputTooLong: the prompt is over the model's input limit.
	ErrInputTooLong = errors.New("input too long")
	// ErrBadOutput: a modelOutput is not what the model family returns.
	ErrBadOutput = errors.New("malformed modelOutput")
)

// family is one registered model family.
type family struct {
	name     string
	examples []string
	// match reports whether a base model id (no profile prefix, no ARN)
	// belongs to the family.
	match func(baseID string) bool
	// new builds the processor for a matching base id.
	new func(baseID string, cfg Config) (Processor, error)
}

var families []family

// register adds a family; it is called from the init of each family's file.
// Ids must match at most one family: register panics on a programming error
// in the examples, never on user input.
func register(f family) {
	for _, ex := range f.examples {
		ex, err := BaseModelID(ex)
		if err != nil || !f.match(ex) {
			panic("models: family " + f.name + " does not match its own example " + ex)
		}
		for _, g := range families {
			if g.match(ex) {
				panic("models: example " + ex + " of " + f.name + " also matches " + g.name)
			}
		}
	}
	families = append(families, f)
	slices.SortFunc(families, func(a, b family) int { return strings.Compare(a.name, b.name) })
}

// profilePrefixes are the geography prefixes of Bedrock cross-region
// (system-defined) inference profile ids, e.g. "us.anthropic.claude-...".
var profilePrefixes = []string{"us.", "eu.", "apac.", "global.", "us-gov.", "ca.", "jp.", "au."}

// BaseModelID reduces a model id, a cross-region inference profile id or
// the ARN of a foundation model or system-defined inference profile to the
// base model id ("anthropic.claude-3-haiku-20240307-v1:0"). ARNs of
// application inference profiles and provisioned models name no model, so
// they are an error.
func BaseModelID(modelID string) (string, error) {
	id := strings.TrimSpace(modelID)
	if id == "" {
		return "", fmt.Errorf("%w: the model id is empty; set model_id, e.g. %q", ErrUnknownModel, "anthropic.claude-3-haiku-20240307-v1:0")
	}
	if strings.HasPrefix(id, "arn:") {
		// arn:<partition>:bedrock:<region>:<account>:<type>/<id>
		parts := strings.SplitN(id, ":", 6)
		if len(parts) != 6 || parts[2] != "bedrock" {
			return "", fmt.Errorf("%w: %q is not a Bedrock ARN; use a model id such as %q", ErrUnknownModel, modelID, "anthropic.claude-3-haiku-20240307-v1:0")
		}
		typ, rest, ok := strings.Cut(parts[5], "/")
		if !ok || rest == "" || (typ != "foundation-model" && typ != "inference-profile") {
			return "", fmt.Errorf("%w: ARN %q does not name a model (only foundation-model/ and inference-profile/ ARNs do); use the model id instead", ErrUnknownModel, modelID)
		}
		id = rest
	}
	for _, p := range profilePrefixes {
		if strings.HasPrefix(id, p) {
			return id[len(p):], nil
		}
	}
	return id, nil
}

// Lookup returns the processor for a model id with default settings. It
// accepts base model ids, cross-region inference profile ids (prefixes
// us., eu., apac., global., us-gov., ca., jp., au.) and foundation-model or
// inference-profile ARNs.
func Lookup(modelID string) (Processor, error) {
	return New(modelID, Config{})
}

// New is Lookup with settings; an invalid setting is an error.
func New(modelID string, cfg Config) (Processor, error) {
	base, err := BaseModelID(modelID)
	if err != nil {
		return nil, err
	}
	for _, f := range families {
		if f.match(base) {
			p, err := f.new(base, cfg)
			if err != nil {
				return nil, fmt.Errorf("model %q: %w", modelID, err)
			}
			return p, nil
		}
	}
	var ex []string
	for _, f := range families {
		ex = append(ex, f.name+" ("+strings.Join(f.examples, ", ")+")")
	}
	return nil, fmt.Errorf("%w: %q is not a supported model id; supported families: %s; cross-region profile prefixes (us., eu., ...) and Bedrock ARNs of these are accepted too",
		ErrUnknownModel, modelID, strings.Join(ex, "; "))
}

// Known reports whether Lookup accepts the model id.
func Known(modelID string) bool {
	_, err := Lookup(modelID)
	return err == nil
}

// SupportsImages reports whether the model is known and accepts images.
func SupportsImages(modelID string) bool {
	p, err := Lookup(modelID)
	return err == nil && p.Capabilities().Images
}

// IsEmbedding reports whether the model is known and returns embeddings.
func IsEmbedding(modelID string) bool {
	p, err := Lookup(modelID)
	return err == nil && p.Capabilities().Embedding
}

// Families returns the names of the registered families, sorted.
func Families() []string {
	names := make([]string, len(families))
	for i, f := range families {
		names[i] = f.name
	}
	return names
}

// checkPrompt rejects prompts every supported model rejects: Claude, for
// one, refuses empty or whitespace-only text blocks.
func checkPrompt(p string) error {
	if strings.TrimSpace(p) == "" {
		return fmt.Errorf("%w: the prompt is empty; check the template and the columns it uses", ErrInvalidRequest)
	}
	return nil
}

// imageFormats maps Image.Format to Image.MediaType for the formats the
// supported vision models accept.
var imageFormats = map[string]string{"jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp"}

// checkImage validates the fields a vision model needs.
func checkImage(img *Image) error {
	if len(img.Data) == 0 {
		return fmt.Errorf("%w: the image has no data", ErrInvalidRequest)
	}
	mt, ok := imageFormats[img.Format]
	if !ok || mt != img.MediaType {
		return fmt.Errorf("%w: image format %q / media type %q is not one of jpeg, png, gif, webp with its matching image/ type; fill both from images.Inspect",
			ErrInvalidRequest, img.Format, img.MediaType)
	}
	return nil
}

// Catalogue answers questions about model ids from the registry; it is what
// config validation takes as its config.Models.
type Catalogue struct{}

// Known reports whether a processor handles modelID.
func (Catalogue) Known(modelID string) bool { return Known(modelID) }

// SupportsImages reports whether modelID takes image input.
func (Catalogue) SupportsImages(modelID string) bool { return SupportsImages(modelID) }

// IsEmbedding reports whether modelID is an embedding model.
func (Catalogue) IsEmbedding(modelID string) bool { return IsEmbedding(modelID) }
