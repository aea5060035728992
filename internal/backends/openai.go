package backends

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// OpenAIConfig configures the OpenAI-compatible backend.
type OpenAIConfig struct {
	// BaseURL is the server root, with or without "/v1"
	// (e.g. "http://127.0.0.1:11434" or "https://api.openai.com/v1").
	BaseURL string
	// APIKey is sent as a Bearer token when not empty.
	APIKey string
	// Models maps Bedrock model ids to the server's model names; ids not
	// in it use ChatModel or EmbeddingModel.
	Models map[string]string
	// ChatModel serves Claude, Nova and Llama requests not in Models.
	ChatModel string
	// EmbeddingModel serves Titan embedding requests not in Models.
	EmbeddingModel string
	// HTTPClient defaults to a client with a 5-minute timeout.
	HTTPClient *http.Client
	// MaxAttempts bounds tries on 429 and 5xx answers (default 3).
	MaxAttempts int
	// Backoff is the first retry delay, doubled each retry (default 500ms).
	Backoff time.Duration
}

// Environment variables read by OpenAIConfigFromEnv.
const (
	EnvOpenAIBaseURL        = "BBO_OPENAI_BASE_URL"
	EnvOpenAIAPIKey         = "BBO_OPENAI_API_KEY" // falls back to OPENAI_API_KEY
	EnvOpenAIModel          = "BBO_OPENAI_MODEL"
	EnvOpenAIEmbeddingModel = "BBO_OPENAI_EMBEDDING_MODEL"
	// EnvOpenAIModelMap is "bedrock-id=name,bedrock-id=name".
	EnvOpenAIModelMap = "BBO_OPENAI_MODEL_MAP"
)

// OpenAIConfigFromEnv reads an OpenAIConfig from the BBO_OPENAI_*
// variables.
func OpenAIConfigFromEnv() OpenAIConfig {
	cfg := OpenAIConfig{
		BaseURL:        os.Getenv(EnvOpenAIBaseURL),
		APIKey:         os.Getenv(EnvOpenAIAPIKey),
		ChatModel:      os.Getenv(EnvOpenAIModel),
		EmbeddingModel: os.Getenv(EnvOpenAIEmbeddingModel),
	}
	if cfg.APIKey == "" {
		cfg.APIKey = os.Getenv("OPENAI_API_KEY")
	}
	if m := os.Getenv(EnvOpenAIModelMap); m != "" {
		cfg.Models = map[string]string{}
		for _, kv := range strings.Split(m, ",") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				cfg.Models[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
	}
	return cfg
}

// OpenAI translates Bedrock model requests to an OpenAI-compatible API
// (POST /v1/chat/completions, images as data: URLs; POST /v1/embeddings
// for Titan) and translates the answers back into the model family's
// response shape.
type OpenAI struct {
	cfg  OpenAIConfig
	base string // ends in /v1
}

// NewOpenAI checks cfg and returns the backend.
func NewOpenAI(cfg OpenAIConfig) (*OpenAI, error) {
	base := strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/")
	if base == "" {
		return nil, fmt.Errorf("openai backend: no base URL: set %s (e.g. http://127.0.0.1:11434/v1)", EnvOpenAIBaseURL)
	}
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return nil, fmt.Errorf("openai backend: base URL %q must start with http:// or https://", cfg.BaseURL)
	}
	if !strings.HasSuffix(base, "/v1") {
		base += "/v1"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 5 * time.Minute}
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	return &OpenAI{cfg: cfg, base: base}, nil
}

// model returns the server's model name for a Bedrock model id.
func (o *OpenAI) model(modelID string, embedding bool) (string, error) {
	if m, ok := o.cfg.Models[modelID]; ok && m != "" {
		return m, nil
	}
	if embedding && o.cfg.EmbeddingModel != "" {
		return o.cfg.EmbeddingModel, nil
	}
	if !embedding && o.cfg.ChatModel != "" {
		return o.cfg.ChatModel, nil
	}
	which := EnvOpenAIModel
	if embedding {
		which = EnvOpenAIEmbeddingModel
	}
	return "", badRequest("no OpenAI model is configured for %s: set %s or map it in %s", modelID, which, EnvOpenAIModelMap)
}

type oaPart struct {
	Type     string `json:"type"`
	Text     string `json:"text,omitempty"`
	ImageURL *struct {
		URL string `json:"url"`
	} `json:"image_url,omitempty"`
}

type oaMessage struct {
	Role    string   `json:"role"`
	Content []oaPart `json:"content"`
}

type oaChatRequest struct {
	Model       string      `json:"model"`
	Messages    []oaMessage `json:"messages"`
	MaxTokens   int         `json:"max_tokens,omitempty"`
	Temperature *float64    `json:"temperature,omitempty"`
}

type oaChatResponse struct {
	ID      string `json:"id"`
	Model   string `json:"model"`
	Choices []struct {
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
}

type oaEmbedResponse struct {
	Data []struct {
		Embedding []float64 `json:"embedding"`
	} `json:"data"`
	Usage struct {
		PromptTokens int `json:"prompt_tokens"`
	} `json:"usage"`
}

// Invoke translates body, calls the server and translates its answer.
func (o *OpenAI) Invoke(ctx context.Context, modelID string, body []byte) ([]byte, error) {
	fam, err := Family(modelID)
	if err != nil {
		return nil, err
	}
	if fam == "titan-embed" {
		return o.embed(ctx, modelID, body)
	}
	c, err := parseChat(fam, body)
	if err != nil {
		return nil, err
	}
	name, err := o.model(modelID, false)
	if err != nil {
		return nil, err
	}
	req := oaChatRequest{Model: name, MaxTokens: c.MaxTokens, Temperature: c.Temperature}
	if c.System != "" {
		req.Messages = append(req.Messages, oaMessage{Role: "system", Content: []oaPart{{Type: "text", Text: c.System}}})
	}
	for _, m := range c.Messages {
		om := oaMessage{Role: m.Role}
		for _, p := range m.Parts {
			if p.ImageB64 != "" {
				op := oaPart{Type: "image_url"}
				op.ImageURL = &struct {
					URL string `json:"url"`
				}{URL: "data:" + p.MediaType + ";base64," + p.ImageB64}
				om.Content = append(om.Content, op)
				continue
			}
			om.Content = append(om.Content, oaPart{Type: "text", Text: p.Text})
		}
		req.Messages = append(req.Messages, om)
	}
	var resp oaChatResponse
	if err := o.post(ctx, "/chat/completions", req, &resp); err != nil {
		return nil, err
	}
	if len(resp.Choices) == 0 {
		return nil, &Error{Code: http.StatusInternalServerError, Message: "OpenAI-compatible server returned no choices"}
	}
	ch := resp.Choices[0]
	truncated := ch.FinishReason == "length"
	in, out := resp.Usage.PromptTokens, resp.Usage.CompletionTokens
	stop := stopReason(fam, truncated)
	switch fam {
	case "claude":
		id := resp.ID
		if id == "" {
			id = "msg_openai"
		}
		return claudeOutput(id, name, ch.Message.Content, stop, in, out), nil
	case "nova":
		return novaOutput(ch.Message.Content, stop, in, out, ""), nil
	default:
		return llamaOutput(ch.Message.Content, stop, in, out, ""), nil
	}
}

func (o *OpenAI) embed(ctx context.Context, modelID string, body []byte) ([]byte, error) {
	r, err := parseEmbed(body)
	if err != nil {
		return nil, err
	}
	name, err := o.model(modelID, true)
	if err != nil {
		return nil, err
	}
	req := struct {
		Model      string `json:"model"`
		Input      string `json:"input"`
		Dimensions int    `json:"dimensions,omitempty"`
	}{Model: name, Input: r.Text, Dimensions: r.Dimensions}
	var resp oaEmbedResponse
	if err := o.post(ctx, "/embeddings", req, &resp); err != nil {
		return nil, err
	}
	if len(resp.Data) == 0 || len(resp.Data[0].Embedding) == 0 {
		return nil, &Error{Code: http.StatusInternalServerError, Message: "OpenAI-compatible server returned no embedding"}
	}
	e := resp.Data[0].Embedding
	var norm float64
	for _, x := range e {
		norm += x * x
	}
	norm = math.Sqrt(norm)
	vec := make([]float32, len(e))
	for i, x := range e {
		if r.Normalize && norm > 0 {
			x /= norm
		}
		vec[i] = float32(x)
	}
	return titanOutput(vec, resp.Usage.PromptTokens), nil
}

// post sends v as JSON to path and decodes the answer into out, retrying
// 429 and 5xx answers and transport errors.
func (o *OpenAI) post(ctx context.Context, path string, v, out any) error {
	body := marshal(v)
	var last error
	delay := o.cfg.Backoff
	for attempt := range o.cfg.MaxAttempts {
		if attempt > 0 {
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
			delay *= 2
		}
		last = o.once(ctx, path, body, out)
		if last == nil || !Retryable(last) {
			return last
		}
	}
	return last
}

func (o *OpenAI) once(ctx context.Context, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.base+path, bytes.NewReader(body))
	if err != nil {
		return badRequest("build request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if o.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+o.cfg.APIKey)
	}
	resp, err := o.cfg.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &Error{Code: http.StatusServiceUnavailable, Message: "OpenAI-compatible server: " + err.Error()}
	}
	defer resp.Body.Close()
	// Answers are one completion or one vector: bounded, unlike datasets.
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return &Error{Code: http.StatusBadGateway, Message: "read OpenAI-compatible answer: " + err.Error()}
	}
	if resp.StatusCode/100 != 2 {
		return &Error{Code: resp.StatusCode, Message: "OpenAI-compatible server answered " + strconv.Itoa(resp.StatusCode) + ": " + errorMessage(data)}
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &Error{Code: http.StatusBadGateway, Message: "OpenAI-compatible server sent malformed JSON: " + err.Error()}
	}
	return nil
}

// errorMessage extracts {"error":{"message"}} or returns a snippet.
func errorMessage(data []byte) string {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(data, &e) == nil && len(e.Error) > 0 {
		var m struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(e.Error, &m) == nil && m.Message != "" {
			return m.Message
		}
		var s string
		if json.Unmarshal(e.Error, &s) == nil {
			return s
		}
	}
	s := string(data)
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
