package models

import (
	"github.com/bbo-dev/bbo/internal/jsontext"

	"fmt"
	"strings"
)

// Anthropic Claude through the Messages API on Bedrock
// (anthropic_version "bedrock-2023-05-31"). Model ids contain "anthropic.".
//
// Output text is the concatenation of every content block of type "text", in
// order. The original took only the last content item; that loses text when
// Claude splits its answer into several blocks and returns non-text (for
// example tool_use) when that block comes last.

func init() {
	register(family{
		name:     "claude",
		examples: []string{"anthropic.claude-3-haiku-20240307-v1:0", "us.anthropic.claude-3-5-haiku-20241022-v1:0"},
		match:    func(id string) bool { return strings.HasPrefix(id, "anthropic.") },
		new: func(id string, cfg Config) (Processor, error) {
			mt, err := maxTokens(cfg, 0)
			if err != nil {
				return nil, err
			}
			// Claude 2 and Claude Instant take no images; every Claude 3
			// and later model does.
			images := !strings.HasPrefix(id, "anthropic.claude-v") && !strings.HasPrefix(id, "anthropic.claude-instant")
			return &claude{id: id, maxTokens: mt, images: images}, nil
		},
	})
}

// maxTokens returns cfg.MaxTokens or the default, checked against an upper
// bound (0: no bound known here; Bedrock checks the model's own maximum).
func maxTokens(cfg Config, upper int) (int, error) {
	switch {
	case cfg.MaxTokens == 0:
		if upper > 0 {
			return min(DefaultMaxTokens, upper), nil
		}
		return DefaultMaxTokens, nil
	case cfg.MaxTokens < 0 || (upper > 0 && cfg.MaxTokens > upper):
		if upper > 0 {
			return 0, fmt.Errorf("max tokens %d is out of range: use 1 to %d", cfg.MaxTokens, upper)
		}
		return 0, fmt.Errorf("max tokens %d is out of range: use a positive number", cfg.MaxTokens)
	}
	return cfg.MaxTokens, nil
}

type claude struct {
	id        string
	maxTokens int
	images    bool
}

func (*claude) Family() string               { return "claude" }
func (c *claude) Capabilities() Capabilities { return Capabilities{Images: c.images} }

func (c *claude) AppendModelInput(dst []byte, req Request) ([]byte, error) {
	if err := checkPrompt(req.Prompt); err != nil {
		return dst, err
	}
	dst = append(dst, `{"anthropic_version":"bedrock-2023-05-31","max_tokens":`...)
	dst = appendInt(dst, c.maxTokens)
	dst = append(dst, `,"messages":[{"role":"user","content":[`...)
	if req.Image != nil {
		if !c.images {
			return dst, fmt.Errorf("%w: %s is text-only; use a Claude 3 or later model for image input", ErrImageNotSupported, c.id)
		}
		if err := checkImage(req.Image); err != nil {
			return dst, err
		}
		dst = append(dst, `{"type":"image","source":{"type":"base64","media_type":"`...)
		dst = append(dst, req.Image.MediaType...) // checked: a fixed image/ type
		dst = append(dst, `","data":`...)
		dst = appendBase64String(dst, req.Image.Data)
		dst = append(dst, `}},`...)
	}
	dst = append(dst, `{"type":"text","text":`...)
	dst = jsontext.AppendString(dst, req.Prompt)
	return append(dst, `}]}]}`...), nil
}

func (*claude) ParseModelOutput(b []byte) (Result, error) {
	var (
		res        Result
		hasContent bool
		blocks     textBlocks
	)
	err := parseObject(b, "Claude", func(s *scanner, key []byte) error {
		var err error
		switch string(key) {
		case "content":
			if s.null() {
				return nil
			}
			hasContent = true
			return s.array(func() error {
				var typ, text string
				err := s.object(func(k []byte) error {
					var err error
					switch string(k) {
					case "type":
						typ, err = s.str()
					case "text":
						text, err = s.str()
					default:
						err = s.skip()
					}
					return err
				})
				if err == nil && typ == "text" {
					blocks.add(text)
				}
				return err
			})
		case "stop_reason":
			res.StopReason, err = s.str()
		case "usage":
			if s.null() {
				return nil
			}
			err = s.object(func(k []byte) error {
				var err error
				switch string(k) {
				case "input_tokens":
					res.Usage.InputTokens, err = s.integer()
				case "output_tokens":
					res.Usage.OutputTokens, err = s.integer()
				default:
					err = s.skip()
				}
				return err
			})
		default:
			err = s.skip()
		}
		return err
	})
	if err != nil {
		return Result{}, err
	}
	if !hasContent {
		return Result{}, fmt.Errorf("%w: Claude output has no \"content\" array (stop_reason %q)", ErrBadOutput, res.StopReason)
	}
	res.Text = blocks.String()
	return res, nil
}
