package backends

import (
	"bytes"
	"encoding/json"
)

// marshal encodes v without HTML escaping (models do not escape <, >, &)
// and without the trailing newline json.Encoder adds.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only the fixed response structs below are encoded; they always
		// encode.
		panic("backends: encode response: " + err.Error())
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

type claudeText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type claudeUsage struct {
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
}

type claudeResponse struct {
	ID           string       `json:"id"`
	Type         string       `json:"type"`
	Role         string       `json:"role"`
	Model        string       `json:"model"`
	Content      []claudeText `json:"content"`
	StopReason   string       `json:"stop_reason"`
	StopSequence *string      `json:"stop_sequence"`
	Usage        claudeUsage  `json:"usage"`
}

// claudeOutput builds an Anthropic Messages API response.
func claudeOutput(id, model, text, stopReason string, in, out int) []byte {
	return marshal(claudeResponse{
		ID: id, Type: "message", Role: "assistant", Model: model,
		Content:    []claudeText{{Type: "text", Text: text}},
		StopReason: stopReason,
		Usage:      claudeUsage{InputTokens: in, OutputTokens: out},
	})
}

type novaText struct {
	Text string `json:"text"`
}

type novaResponse struct {
	Output struct {
		Message struct {
			Role    string     `json:"role"`
			Content []novaText `json:"content"`
		} `json:"message"`
	} `json:"output"`
	StopReason string `json:"stopReason"`
	Usage      struct {
		InputTokens  int `json:"inputTokens"`
		OutputTokens int `json:"outputTokens"`
		TotalTokens  int `json:"totalTokens"`
	} `json:"usage"`
	// Model is not part of Nova's response; the stub sets it so that its
	// answers are recognisable as not coming from a model. Parsers skip it.
	Model string `json:"model,omitempty"`
}

// novaOutput builds an Amazon Nova (messages-v1) response; model is
// omitted when empty.
func novaOutput(text, stopReason string, in, out int, model string) []byte {
	var r novaResponse
	r.Output.Message.Role = "assistant"
	r.Output.Message.Content = []novaText{{Text: text}}
	r.StopReason = stopReason
	r.Usage.InputTokens, r.Usage.OutputTokens, r.Usage.TotalTokens = in, out, in+out
	r.Model = model
	return marshal(r)
}

type llamaResponse struct {
	Generation           string `json:"generation"`
	PromptTokenCount     int    `json:"prompt_token_count"`
	GenerationTokenCount int    `json:"generation_token_count"`
	StopReason           string `json:"stop_reason"`
	// Model: as for novaResponse.
	Model string `json:"model,omitempty"`
}

// llamaOutput builds a Meta Llama response; model is omitted when empty.
func llamaOutput(text, stopReason string, in, out int, model string) []byte {
	return marshal(llamaResponse{Generation: text, PromptTokenCount: in, GenerationTokenCount: out, StopReason: stopReason, Model: model})
}

type titanResponse struct {
	Embedding           []float32 `json:"embedding"`
	InputTextTokenCount int       `json:"inputTextTokenCount"`
}

// titanOutput builds a Titan Embed Text v2 response.
func titanOutput(vec []float32, in int) []byte {
	return marshal(titanResponse{Embedding: vec, InputTextTokenCount: in})
}

// stopReason maps a generic stop ("end", "length") to a family's word.
func stopReason(family string, truncated bool) string {
	switch family {
	case "claude":
		if truncated {
			return "max_tokens"
		}
		return "end_turn"
	case "nova":
		if truncated {
			return "max_tokens"
		}
		return "end_turn"
	default: // llama
		if truncated {
			return "length"
		}
		return "stop"
	}
}
