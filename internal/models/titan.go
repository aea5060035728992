package models

import (
	"github.com/bbo-dev/bbo/internal/jsontext"

	"fmt"
	"strings"
	"unicode/utf8"
)

// Amazon Titan Text Embeddings V2 (amazon.titan-embed-text-v2:0): text in,
// one float vector out. Request {"inputText","dimensions","normalize":true};
// response {"embedding":[...],"inputTextTokenCount":N}.

// TitanMaxChars is Titan Embed Text v2's input limit in characters. Its
// other limit, 8,192 tokens, needs the model's tokenizer, so Bedrock
// enforces it and reports it per record.
const TitanMaxChars = 50_000

func init() {
	register(family{
		name:     "titan-embed",
		examples: []string{"amazon.titan-embed-text-v2:0"},
		match:    func(id string) bool { return strings.HasPrefix(id, "amazon.titan-embed-text-v2") },
		new: func(id string, cfg Config) (Processor, error) {
			d := cfg.Dimensions
			switch d {
			case 0:
				d = 1024
			case 256, 512, 1024:
			default:
				return nil, fmt.Errorf("dimensions %d is not supported by Titan Embed Text v2: use 256, 512 or 1024", d)
			}
			return &titanEmbed{dims: d}, nil
		},
	})
}

type titanEmbed struct{ dims int }

func (*titanEmbed) Family() string             { return "titan-embed" }
func (*titanEmbed) Capabilities() Capabilities { return Capabilities{Embedding: true} }

func (t *titanEmbed) AppendModelInput(dst []byte, req Request) ([]byte, error) {
	if req.Image != nil {
		return dst, fmt.Errorf("%w: Titan Embed Text v2 embeds text only; use input_type text", ErrImageNotSupported)
	}
	if err := checkPrompt(req.Prompt); err != nil {
		return dst, err
	}
	if len(req.Prompt) > TitanMaxChars { // bytes >= characters: count only when it may matter
		if n := utf8.RuneCountInString(req.Prompt); n > TitanMaxChars {
			return dst, fmt.Errorf("%w: the text has %d characters, over Titan Embed Text v2's limit of %d characters (and 8,192 tokens); shorten or split it",
				ErrInputTooLong, n, TitanMaxChars)
		}
	}
	dst = append(dst, `{"inputText":`...)
	dst = jsontext.AppendString(dst, req.Prompt)
	dst = append(dst, `,"dimensions":`...)
	dst = appendInt(dst, t.dims)
	return append(dst, `,"normalize":true}`...), nil
}

func (t *titanEmbed) ParseModelOutput(b []byte) (Result, error) {
	var res Result
	err := parseObject(b, "Titan Embed", func(s *scanner, key []byte) error {
		var err error
		switch string(key) {
		case "embedding":
			if s.null() {
				return nil
			}
			res.Embedding = make([]float32, 0, t.dims)
			err = s.array(func() error {
				f, err := s.float32()
				res.Embedding = append(res.Embedding, f)
				return err
			})
		case "inputTextTokenCount":
			res.Usage.InputTokens, err = s.integer()
		default:
			err = s.skip()
		}
		return err
	})
	if err != nil {
		return Result{}, err
	}
	if len(res.Embedding) == 0 {
		return Result{}, fmt.Errorf("%w: Titan Embed output has no \"embedding\" array, or it is empty", ErrBadOutput)
	}
	return res, nil
}
