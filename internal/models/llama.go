package models

import (
	"github.com/bbo-dev/bbo/internal/jsontext"

	"fmt"
	"strings"
)

// Meta Llama 3 (3, 3.1, 3.2, 3.3) instruct models. The request is a raw
// prompt, so the user's text is wrapped in the Llama 3 chat template. All
// are treated as text-only: the Llama 3.2 11B/90B vision models take images
// through a different request shape, which is not supported here.

// llamaMaxGenLen is Bedrock's upper bound for max_gen_len.
const llamaMaxGenLen = 2048

func init() {
	register(family{
		name:     "llama",
		examples: []string{"meta.llama3-8b-instruct-v1:0", "meta.llama3-1-70b-instruct-v1:0", "meta.llama3-3-70b-instruct-v1:0"},
		match:    func(id string) bool { return strings.HasPrefix(id, "meta.llama3") },
		new: func(id string, cfg Config) (Processor, error) {
			mt, err := maxTokens(cfg, llamaMaxGenLen)
			if err != nil {
				return nil, err
			}
			return &llama{id: id, maxGenLen: mt}, nil
		},
	})
}

type llama struct {
	id        string
	maxGenLen int
}

func (*llama) Family() string             { return "llama" }
func (*llama) Capabilities() Capabilities { return Capabilities{} }

// The Llama 3 chat template around one user turn, already JSON-escaped.
const (
	llamaBefore = `<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n`
	llamaAfter  = `<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n`
)

func (l *llama) AppendModelInput(dst []byte, req Request) ([]byte, error) {
	if req.Image != nil {
		return dst, fmt.Errorf("%w: %s is used text-only here; use Claude or Nova Lite/Pro for image input", ErrImageNotSupported, l.id)
	}
	if err := checkPrompt(req.Prompt); err != nil {
		return dst, err
	}
	dst = append(dst, `{"prompt":"`+llamaBefore...)
	dst = jsontext.AppendStringBody(dst, req.Prompt)
	dst = append(dst, llamaAfter+`","max_gen_len":`...)
	dst = appendInt(dst, l.maxGenLen)
	return append(dst, '}'), nil
}

func (*llama) ParseModelOutput(b []byte) (Result, error) {
	var (
		res    Result
		hasGen bool
	)
	err := parseObject(b, "Llama", func(s *scanner, key []byte) error {
		var err error
		switch string(key) {
		case "generation":
			if s.null() {
				return nil
			}
			hasGen = true
			res.Text, err = s.str()
		case "prompt_token_count":
			res.Usage.InputTokens, err = s.integer()
		case "generation_token_count":
			res.Usage.OutputTokens, err = s.integer()
		case "stop_reason":
			res.StopReason, err = s.str()
		default:
			err = s.skip()
		}
		return err
	})
	if err != nil {
		return Result{}, err
	}
	if !hasGen {
		return Result{}, fmt.Errorf("%w: Llama output has no \"generation\" string (stop_reason %q)", ErrBadOutput, res.StopReason)
	}
	return res, nil
}
