package backends

import (
	"encoding/json"
	"strings"
)

// part is one piece of a chat message: text, or a base64 image.
type part struct {
	Text      string
	ImageB64  string // standard base64, as the request carries it
	MediaType string // image/png, ...
}

// message is one chat turn.
type message struct {
	Role  string
	Parts []part
}

// chat is a Claude, Nova or Llama request reduced to what every family
// shares.
type chat struct {
	System      string
	Messages    []message
	MaxTokens   int
	Temperature *float64
}

// prompt returns the text of the last user message.
func (c *chat) prompt() string {
	for i := len(c.Messages) - 1; i >= 0; i-- {
		m := c.Messages[i]
		if m.Role != "user" {
			continue
		}
		var b strings.Builder
		for _, p := range m.Parts {
			if p.Text != "" {
				if b.Len() > 0 {
					b.WriteByte('\n')
				}
				b.WriteString(p.Text)
			}
		}
		return b.String()
	}
	return ""
}

// images returns the base64 data of every image in the request.
func (c *chat) images() []string {
	var out []string
	for _, m := range c.Messages {
		for _, p := range m.Parts {
			if p.ImageB64 != "" {
				out = append(out, p.ImageB64)
			}
		}
	}
	return out
}

// textLen is the number of text bytes, for token estimates.
func (c *chat) textLen() int {
	n := len(c.System)
	for _, m := range c.Messages {
		for _, p := range m.Parts {
			n += len(p.Text)
		}
	}
	return n
}

// parseChat reads a Claude, Nova or Llama modelInput; anything that the
// model API would reject as malformed is a 400 *Error.
func parseChat(family string, body []byte) (chat, error) {
	switch family {
	case "claude":
		return parseClaude(body)
	case "nova":
		return parseNova(body)
	case "llama":
		return parseLlama(body)
	}
	return chat{}, badRequest("model family %q takes no chat request", family)
}

func parseClaude(body []byte) (chat, error) {
	var in struct {
		System      json.RawMessage `json:"system"`
		MaxTokens   *int            `json:"max_tokens"`
		Temperature *float64        `json:"temperature"`
		Messages    []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return chat{}, badRequest("malformed input request: %v", err)
	}
	if in.MaxTokens == nil {
		return chat{}, badRequest("malformed input request: #: required key [max_tokens] not found")
	}
	if len(in.Messages) == 0 {
		return chat{}, badRequest("malformed input request: messages: at least one message is required")
	}
	c := chat{MaxTokens: *in.MaxTokens, Temperature: in.Temperature}
	if len(in.System) > 0 {
		var s string
		if json.Unmarshal(in.System, &s) == nil {
			c.System = s
		} else {
			var blocks []struct {
				Text string `json:"text"`
			}
			if err := json.Unmarshal(in.System, &blocks); err != nil {
				return chat{}, badRequest("malformed input request: system: %v", err)
			}
			for _, b := range blocks {
				c.System += b.Text
			}
		}
	}
	for i, m := range in.Messages {
		if m.Role != "user" && m.Role != "assistant" {
			return chat{}, badRequest("messages.%d.role: %q is not user or assistant", i, m.Role)
		}
		msg := message{Role: m.Role}
		var s string
		if json.Unmarshal(m.Content, &s) == nil {
			msg.Parts = append(msg.Parts, part{Text: s})
		} else {
			var blocks []struct {
				Type   string `json:"type"`
				Text   string `json:"text"`
				Source struct {
					Type      string `json:"type"`
					MediaType string `json:"media_type"`
					Data      string `json:"data"`
				} `json:"source"`
			}
			if err := json.Unmarshal(m.Content, &blocks); err != nil {
				return chat{}, badRequest("messages.%d.content: %v", i, err)
			}
			for j, b := range blocks {
				switch b.Type {
				case "text":
					if strings.TrimSpace(b.Text) == "" {
						return chat{}, badRequest("messages.%d.content.%d: text content blocks must contain non-whitespace text", i, j)
					}
					msg.Parts = append(msg.Parts, part{Text: b.Text})
				case "image":
					if b.Source.Data == "" || !strings.HasPrefix(b.Source.MediaType, "image/") {
						return chat{}, badRequest("messages.%d.content.%d.source: an image needs media_type image/... and base64 data", i, j)
					}
					msg.Parts = append(msg.Parts, part{ImageB64: b.Source.Data, MediaType: b.Source.MediaType})
				default:
					return chat{}, badRequest("messages.%d.content.%d.type: %q is not supported here", i, j, b.Type)
				}
			}
		}
		c.Messages = append(c.Messages, msg)
	}
	return c, nil
}

func parseNova(body []byte) (chat, error) {
	var in struct {
		System []struct {
			Text string `json:"text"`
		} `json:"system"`
		Messages []struct {
			Role    string `json:"role"`
			Content []struct {
				Text  *string `json:"text"`
				Image *struct {
					Format string `json:"format"`
					Source struct {
						Bytes string `json:"bytes"`
					} `json:"source"`
				} `json:"image"`
			} `json:"content"`
		} `json:"messages"`
		InferenceConfig struct {
			MaxTokens   int      `json:"maxTokens"`
			Temperature *float64 `json:"temperature"`
		} `json:"inferenceConfig"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return chat{}, badRequest("malformed input request: %v", err)
	}
	if len(in.Messages) == 0 {
		return chat{}, badRequest("malformed input request: messages: at least one message is required")
	}
	c := chat{MaxTokens: in.InferenceConfig.MaxTokens, Temperature: in.InferenceConfig.Temperature}
	for _, s := range in.System {
		c.System += s.Text
	}
	for i, m := range in.Messages {
		if m.Role != "user" && m.Role != "assistant" {
			return chat{}, badRequest("messages.%d.role: %q is not user or assistant", i, m.Role)
		}
		msg := message{Role: m.Role}
		for j, b := range m.Content {
			switch {
			case b.Text != nil:
				msg.Parts = append(msg.Parts, part{Text: *b.Text})
			case b.Image != nil:
				if b.Image.Source.Bytes == "" || b.Image.Format == "" {
					return chat{}, badRequest("messages.%d.content.%d.image: format and source.bytes are required", i, j)
				}
				msg.Parts = append(msg.Parts, part{ImageB64: b.Image.Source.Bytes, MediaType: "image/" + b.Image.Format})
			default:
				return chat{}, badRequest("messages.%d.content.%d: neither text nor image", i, j)
			}
		}
		c.Messages = append(c.Messages, msg)
	}
	return c, nil
}

// Llama 3 chat template markers around the user's text.
var llamaMarkers = strings.NewReplacer(
	"<|begin_of_text|>", "",
	"<|start_header_id|>user<|end_header_id|>", "",
	"<|start_header_id|>assistant<|end_header_id|>", "",
	"<|start_header_id|>system<|end_header_id|>", "",
	"<|eot_id|>", "",
)

func parseLlama(body []byte) (chat, error) {
	var in struct {
		Prompt      *string  `json:"prompt"`
		MaxGenLen   int      `json:"max_gen_len"`
		Temperature *float64 `json:"temperature"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return chat{}, badRequest("malformed input request: %v", err)
	}
	if in.Prompt == nil {
		return chat{}, badRequest("malformed input request: #: required key [prompt] not found")
	}
	text := strings.TrimSpace(llamaMarkers.Replace(*in.Prompt))
	return chat{
		Messages:    []message{{Role: "user", Parts: []part{{Text: text}}}},
		MaxTokens:   in.MaxGenLen,
		Temperature: in.Temperature,
	}, nil
}

// embedRequest is a Titan Embed Text v2 request.
type embedRequest struct {
	Text       string
	Dimensions int
	Normalize  bool
}

func parseEmbed(body []byte) (embedRequest, error) {
	var in struct {
		InputText  *string `json:"inputText"`
		Dimensions *int    `json:"dimensions"`
		Normalize  *bool   `json:"normalize"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return embedRequest{}, badRequest("malformed input request: %v", err)
	}
	if in.InputText == nil || *in.InputText == "" {
		return embedRequest{}, badRequest("malformed input request: #: required key [inputText] not found")
	}
	r := embedRequest{Text: *in.InputText, Dimensions: 1024, Normalize: true}
	if in.Dimensions != nil {
		switch *in.Dimensions {
		case 256, 512, 1024:
			r.Dimensions = *in.Dimensions
		default:
			return embedRequest{}, badRequest("malformed input request: dimensions %d is not one of 256, 512, 1024", *in.Dimensions)
		}
	}
	if in.Normalize != nil {
		r.Normalize = *in.Normalize
	}
	return r, nil
}

// tokens estimates a token count from text length, as the stub reports it.
func tokens(nBytes int) int { return max(1, (nBytes+3)/4) }
