package models

import (
	"github.com/bbo-dev/bbo/internal/jsontext"

	"fmt"
	"strings"
)

// Amazon Nova understanding models (Micro, Lite, Pro, Premier, Nova 2 Lite)
// through the Invoke API's "messages-v1" schema. The image block comes
// before the text, as Nova's documentation recommends. The output text is
// at output.message.content[].text; all text blocks are concatenated (the
// original read modelOutput.content and so found nothing for Nova).

func init() {
	register(family{
		name:     "nova",
		examples: []string{"amazon.nova-lite-v1:0", "amazon.nova-pro-v1:0", "amazon.nova-micro-v1:0", "amazon.nova-premier-v1:0", "amazon.nova-2-lite-v1:0"},
		match: func(id string) bool {
			for _, p := range novaModels {
				if strings.HasPrefix(id, p) {
					return true
				}
			}
			return false
		},
		new: func(id string, cfg Config) (Processor, error) {
			mt, err := maxTokens(cfg, 0)
			if err != nil {
				return nil, err
			}
			return &nova{id: id, maxTokens: mt, images: !strings.HasPrefix(id, "amazon.nova-micro")}, nil
		},
	})
}

// novaModels are the text-generating Nova ids; Canvas, Reel and Sonic use
// other request shapes and are not supported.
var novaModels = []string{"amazon.nova-micro", "amazon.nova-lite", "amazon.nova-pro", "amazon.nova-premier", "amazon.nova-2-lite"}

type nova struct {
	id        string
	maxTokens int
	images    bool
}

func (*nova) Family() string               { return "nova" }
func (n *nova) Capabilities() Capabilities { return Capabilities{Images: n.images} }

func (n *nova) AppendModelInput(dst []byte, req Request) ([]byte, error) {
	if err := checkPrompt(req.Prompt); err != nil {
		return dst, err
	}
	dst = append(dst, `{"schemaVersion":"messages-v1","messages":[{"role":"user","content":[`...)
	if req.Image != nil {
		if !n.images {
			return dst, fmt.Errorf("%w: %s is text-only; use Nova Lite or Pro for image input", ErrImageNotSupported, n.id)
		}
		if err := checkImage(req.Image); err != nil {
			return dst, err
		}
		dst = append(dst, `{"image":{"format":"`...)
		dst = append(dst, req.Image.Format...) // checked: one of four fixed names
		dst = append(dst, `","source":{"bytes":`...)
		dst = appendBase64String(dst, req.Image.Data)
		dst = append(dst, `}}},`...)
	}
	dst = append(dst, `{"text":`...)
	dst = jsontext.AppendString(dst, req.Prompt)
	dst = append(dst, `}]}],"inferenceConfig":{"maxTokens":`...)
	dst = appendInt(dst, n.maxTokens)
	return append(dst, `}}`...), nil
}

func (*nova) ParseModelOutput(b []byte) (Result, error) {
	var (
		res                            Result
		hasOutput, hasMessage, hasList bool
		blocks                         textBlocks
	)
	err := parseObject(b, "Nova", func(s *scanner, key []byte) error {
		var err error
		switch string(key) {
		case "output":
			if s.null() {
				return nil
			}
			hasOutput = true
			err = s.object(func(k []byte) error {
				if string(k) != "message" || s.null() {
					return s.skip()
				}
				hasMessage = true
				return s.object(func(k []byte) error {
					if string(k) != "content" || s.null() {
						return s.skip()
					}
					hasList = true
					return s.array(func() error {
						return s.object(func(k []byte) error {
							if string(k) != "text" || s.null() {
								return s.skip()
							}
							text, err := s.str()
							if err == nil {
								blocks.add(text)
							}
							return err
						})
					})
				})
			})
		case "stopReason":
			res.StopReason, err = s.str()
		case "usage":
			if s.null() {
				return nil
			}
			err = s.object(func(k []byte) error {
				var err error
				switch string(k) {
				case "inputTokens":
					res.Usage.InputTokens, err = s.integer()
				case "outputTokens":
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
	switch {
	case err != nil:
		return Result{}, err
	case !hasOutput:
		return Result{}, fmt.Errorf("%w: Nova output has no \"output\" object (stopReason %q)", ErrBadOutput, res.StopReason)
	case !hasMessage:
		return Result{}, fmt.Errorf("%w: Nova output has no \"output.message\" object (stopReason %q)", ErrBadOutput, res.StopReason)
	case !hasList:
		return Result{}, fmt.Errorf("%w: Nova output has no \"output.message.content\" array (stopReason %q)", ErrBadOutput, res.StopReason)
	}
	res.Text = blocks.String()
	return res, nil
}
