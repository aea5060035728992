package models

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	tests := []struct {
		id        string
		family    string // "" = unknown
		images    bool
		embedding bool
	}{
		{"anthropic.claude-3-haiku-20240307-v1:0", "claude", true, false},
		{"anthropic.claude-3-5-sonnet-20241022-v2:0", "claude", true, false},
		{"anthropic.claude-v2:1", "claude", false, false},
		{"anthropic.claude-instant-v1", "claude", false, false},
		{"us.anthropic.claude-3-5-haiku-20241022-v1:0", "claude", true, false},
		{"eu.anthropic.claude-3-7-sonnet-20250219-v1:0", "claude", true, false},
		{"apac.anthropic.claude-sonnet-4-20250514-v1:0", "claude", true, false},
		{"global.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude", true, false},
		{"us-gov.anthropic.claude-3-haiku-20240307-v1:0", "claude", true, false},
		{"ca.anthropic.claude-3-haiku-20240307-v1:0", "claude", true, false},
		{"jp.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude", true, false},
		{"au.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude", true, false},
		{"  anthropic.claude-3-haiku-20240307-v1:0 ", "claude", true, false},
		{"arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0", "claude", true, false},
		{"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0", "claude", true, false},
		{"arn:aws-us-gov:bedrock:us-gov-west-1:123456789012:inference-profile/us-gov.anthropic.claude-3-haiku-20240307-v1:0", "claude", true, false},
		{"amazon.titan-embed-text-v2:0", "titan-embed", false, true},
		{"arn:aws:bedrock:eu-west-1::foundation-model/amazon.titan-embed-text-v2:0", "titan-embed", false, true},
		{"amazon.nova-lite-v1:0", "nova", true, false},
		{"amazon.nova-pro-v1:0", "nova", true, false},
		{"amazon.nova-premier-v1:0", "nova", true, false},
		{"us.amazon.nova-micro-v1:0", "nova", false, false},
		{"global.amazon.nova-2-lite-v1:0", "nova", true, false},
		{"meta.llama3-8b-instruct-v1:0", "llama", false, false},
		{"us.meta.llama3-2-90b-instruct-v1:0", "llama", false, false},
		{"", "", false, false},
		{"gpt-4", "", false, false},
		{"amazon.titan-embed-text-v1", "", false, false},
		{"amazon.nova-canvas-v1:0", "", false, false},
		{"amazon.nova-reel-v1:0", "", false, false},
		{"meta.llama2-13b-chat-v1", "", false, false},
		{"xx.anthropic.claude-3-haiku-20240307-v1:0", "", false, false},
		{"arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123", "", false, false},
		{"arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123", "", false, false},
		{"arn:aws:s3:::bucket/anthropic.claude-3", "", false, false},
		{"arn:aws:bedrock:us-east-1::foundation-model/", "", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			p, err := Lookup(tc.id)
			if tc.family == "" {
				if !errors.Is(err, ErrUnknownModel) {
					t.Fatalf("Lookup(%q) = %v, %v; want ErrUnknownModel", tc.id, p, err)
				}
				if Known(tc.id) || SupportsImages(tc.id) || IsEmbedding(tc.id) {
					t.Fatal("helpers report an unknown id as known")
				}
				return
			}
			if err != nil {
				t.Fatalf("Lookup(%q): %v", tc.id, err)
			}
			if p.Family() != tc.family {
				t.Errorf("family = %q, want %q", p.Family(), tc.family)
			}
			want := Capabilities{Images: tc.images, Embedding: tc.embedding}
			if p.Capabilities() != want {
				t.Errorf("capabilities = %+v, want %+v", p.Capabilities(), want)
			}
			if !Known(tc.id) || SupportsImages(tc.id) != tc.images || IsEmbedding(tc.id) != tc.embedding {
				t.Errorf("helpers disagree with the processor")
			}
		})
	}
}

func TestUnknownModelErrorListsFamilies(t *testing.T) {
	_, err := Lookup("gpt-4")
	for _, f := range Families() {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not list family %q", err, f)
		}
	}
	if !strings.Contains(err.Error(), "anthropic.claude-3-haiku-20240307-v1:0") {
		t.Errorf("error %q gives no example id", err)
	}
}

func TestFamilies(t *testing.T) {
	got := Families()
	want := []string{"claude", "llama", "nova", "titan-embed"}
	if !slices.Equal(got, want) {
		t.Fatalf("Families() = %v, want %v", got, want)
	}
}

func TestNewConfig(t *testing.T) {
	tests := []struct {
		name    string
		id      string
		cfg     Config
		wantErr bool
	}{
		{"claude max tokens", "anthropic.claude-3-haiku-20240307-v1:0", Config{MaxTokens: 4096}, false},
		{"claude negative max tokens", "anthropic.claude-3-haiku-20240307-v1:0", Config{MaxTokens: -1}, true},
		{"llama over 2048", "meta.llama3-8b-instruct-v1:0", Config{MaxTokens: 4096}, true},
		{"llama 2048", "meta.llama3-8b-instruct-v1:0", Config{MaxTokens: 2048}, false},
		{"titan 256", "amazon.titan-embed-text-v2:0", Config{Dimensions: 256}, false},
		{"titan 300", "amazon.titan-embed-text-v2:0", Config{Dimensions: 300}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.id, tc.cfg)
			if (err != nil) != tc.wantErr {
				t.Fatalf("New = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), tc.id) {
				t.Errorf("error %q does not name the model", err)
			}
		})
	}
}

// mustJSON decodes s into a generic value, for structural comparison.
func mustJSON(t *testing.T, s []byte) any {
	t.Helper()
	if !json.Valid(s) {
		t.Fatalf("not valid JSON: %s", s)
	}
	var v any
	if err := json.Unmarshal(s, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

var pngBytes = []byte("\x89PNG\r\n\x1a\nfake but not base64-safe \x00\xff")

func TestAppendModelInput(t *testing.T) {
	img := &Image{Data: pngBytes, MediaType: "image/png", Format: "png"}
	b64 := base64.StdEncoding.EncodeToString(pngBytes)
	prompt := "Say \"hi\" <b>&\n\ttab \\ ünï \u2028 \x01"
	quoted, _ := json.Marshal(prompt)
	q := string(quoted)
	tests := []struct {
		name string
		id   string
		cfg  Config
		req  Request
		want string
	}{
		{"claude text", "anthropic.claude-3-haiku-20240307-v1:0", Config{}, Request{Prompt: prompt},
			`{"anthropic_version":"bedrock-2023-05-31","max_tokens":1024,"messages":[{"role":"user","content":[{"type":"text","text":` + q + `}]}]}`},
		{"claude image", "us.anthropic.claude-3-5-haiku-20241022-v1:0", Config{MaxTokens: 300}, Request{Prompt: prompt, Image: img},
			`{"anthropic_version":"bedrock-2023-05-31","max_tokens":300,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"` + b64 + `"}},{"type":"text","text":` + q + `}]}]}`},
		{"titan", "amazon.titan-embed-text-v2:0", Config{Dimensions: 512}, Request{Prompt: prompt},
			`{"inputText":` + q + `,"dimensions":512,"normalize":true}`},
		{"nova text", "amazon.nova-micro-v1:0", Config{}, Request{Prompt: prompt},
			`{"schemaVersion":"messages-v1","messages":[{"role":"user","content":[{"text":` + q + `}]}],"inferenceConfig":{"maxTokens":1024}}`},
		{"nova image", "amazon.nova-lite-v1:0", Config{MaxTokens: 50}, Request{Prompt: prompt, Image: img},
			`{"schemaVersion":"messages-v1","messages":[{"role":"user","content":[{"image":{"format":"png","source":{"bytes":"` + b64 + `"}}},{"text":` + q + `}]}],"inferenceConfig":{"maxTokens":50}}`},
		{"llama", "meta.llama3-1-8b-instruct-v1:0", Config{}, Request{Prompt: prompt},
			`{"prompt":` + func() string {
				b, _ := json.Marshal("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n" + prompt + "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
				return string(b)
			}() + `,"max_gen_len":1024}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(tc.id, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			prefix := []byte(`{"recordId":"r1","modelInput":`)
			got, err := p.AppendModelInput(bytes.Clone(prefix), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(got, prefix) {
				t.Fatalf("dst prefix was overwritten: %s", got)
			}
			body := got[len(prefix):]
			if g, w := mustJSON(t, body), mustJSON(t, []byte(tc.want)); !reflect.DeepEqual(g, w) {
				t.Fatalf("modelInput\n got %s\nwant %s", body, tc.want)
			}
		})
	}
}

func TestAppendModelInputErrors(t *testing.T) {
	img := &Image{Data: pngBytes, MediaType: "image/png", Format: "png"}
	tests := []struct {
		name    string
		id      string
		req     Request
		wantErr error
	}{
		{"empty prompt", "anthropic.claude-3-haiku-20240307-v1:0", Request{}, ErrInvalidRequest},
		{"blank prompt", "amazon.nova-lite-v1:0", Request{Prompt: " \n\t"}, ErrInvalidRequest},
		{"titan image", "amazon.titan-embed-text-v2:0", Request{Prompt: "x", Image: img}, ErrImageNotSupported},
		{"titan too long", "amazon.titan-embed-text-v2:0", Request{Prompt: strings.Repeat("é", TitanMaxChars+1)}, ErrInputTooLong},
		{"llama image", "meta.llama3-8b-instruct-v1:0", Request{Prompt: "x", Image: img}, ErrImageNotSupported},
		{"nova micro image", "amazon.nova-micro-v1:0", Request{Prompt: "x", Image: img}, ErrImageNotSupported},
		{"claude 2 image", "anthropic.claude-v2:1", Request{Prompt: "x", Image: img}, ErrImageNotSupported},
		{"image without data", "anthropic.claude-3-haiku-20240307-v1:0", Request{Prompt: "x", Image: &Image{MediaType: "image/png", Format: "png"}}, ErrInvalidRequest},
		{"image mismatched type", "anthropic.claude-3-haiku-20240307-v1:0", Request{Prompt: "x", Image: &Image{Data: pngBytes, MediaType: "image/jpeg", Format: "png"}}, ErrInvalidRequest},
		{"image bmp", "amazon.nova-pro-v1:0", Request{Prompt: "x", Image: &Image{Data: pngBytes, MediaType: "image/bmp", Format: "bmp"}}, ErrInvalidRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Lookup(tc.id)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.AppendModelInput(nil, tc.req); !errors.Is(err, tc.wantErr) {
				t.Fatalf("AppendModelInput error = %v, want %v", err, tc.wantErr)
			}
		})
	}
	t.Run("titan at the limit", func(t *testing.T) {
		p, _ := Lookup("amazon.titan-embed-text-v2:0")
		if _, err := p.AppendModelInput(nil, Request{Prompt: strings.Repeat("é", TitanMaxChars)}); err != nil {
			t.Fatalf("50,000 characters (100,000 bytes) rejected: %v", err)
		}
	})
}

func TestParseModelOutput(t *testing.T) {
	tests := []struct {
		name    string
		id      string
		out     string
		want    Result
		wantErr string // substring; "" = success
	}{
		{"claude one block", "anthropic.claude-3-haiku-20240307-v1:0",
			`{"id":"msg_1","type":"message","role":"assistant","model":"claude-3-haiku-20240307","content":[{"type":"text","text":"{\"a\":1}"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":457,"output_tokens":25}}`,
			Result{Text: `{"a":1}`, Usage: Usage{457, 25}, StopReason: "end_turn"}, ""},
		{"claude blocks concatenated, non-text skipped", "anthropic.claude-3-haiku-20240307-v1:0",
			`{"content":[{"type":"text","text":"Hello, "},{"type":"tool_use","id":"t","name":"n","input":{}},{"type":"text","text":"world"}],"stop_reason":"max_tokens","usage":{"input_tokens":1,"output_tokens":2,"cache_read_input_tokens":0}}`,
			Result{Text: "Hello, world", Usage: Usage{1, 2}, StopReason: "max_tokens"}, ""},
		{"nova three text blocks concatenated", "amazon.nova-lite-v1:0",
			`{"output":{"message":{"role":"assistant","content":[{"text":"a"},{"text":"b"},{"text":"c"}]}},"stopReason":"end_turn","usage":{"inputTokens":4,"outputTokens":3}}`,
			Result{Text: "abc", Usage: Usage{4, 3}, StopReason: "end_turn"}, ""},
		{"claude empty content", "anthropic.claude-3-haiku-20240307-v1:0",
			`{"content":[],"stop_reason":"refusal","usage":{"input_tokens":3,"output_tokens":0}}`,
			Result{Usage: Usage{3, 0}, StopReason: "refusal"}, ""},
		{"claude no content", "anthropic.claude-3-haiku-20240307-v1:0", `{"stop_reason":"end_turn"}`, Result{}, `"content"`},
		{"claude null content", "anthropic.claude-3-haiku-20240307-v1:0", `{"content":null}`, Result{}, `"content"`},
		{"claude content not array", "anthropic.claude-3-haiku-20240307-v1:0", `{"content":"x"}`, Result{}, "content"},
		{"claude null", "anthropic.claude-3-haiku-20240307-v1:0", `null`, Result{}, "null"},
		{"claude empty", "anthropic.claude-3-haiku-20240307-v1:0", ``, Result{}, "empty"},
		{"claude array", "anthropic.claude-3-haiku-20240307-v1:0", `[1]`, Result{}, "not a JSON object"},
		{"claude truncated", "anthropic.claude-3-haiku-20240307-v1:0", `{"content":[{"type":"text","te`, Result{}, "unexpected end"},
		{"titan", "amazon.titan-embed-text-v2:0",
			`{"embedding":[0.5,-0.25,1e-3],"inputTextTokenCount":7,"embeddingsByType":{"float":[0.5,-0.25,1e-3]}}`,
			Result{Embedding: []float32{0.5, -0.25, 0.001}, Usage: Usage{InputTokens: 7}}, ""},
		{"titan no embedding", "amazon.titan-embed-text-v2:0", `{"inputTextTokenCount":7}`, Result{}, `"embedding"`},
		{"titan empty embedding", "amazon.titan-embed-text-v2:0", `{"embedding":[]}`, Result{}, `"embedding"`},
		{"titan embedding of strings", "amazon.titan-embed-text-v2:0", `{"embedding":["a"]}`, Result{}, "embedding"},
		{"nova", "amazon.nova-lite-v1:0",
			`{"output":{"message":{"role":"assistant","content":[{"text":"It is "},{"reasoningContent":{"reasoningText":{"text":"hidden"}}},{"text":"a shoe."}]}},"stopReason":"end_turn","usage":{"inputTokens":12,"outputTokens":5,"totalTokens":17},"metrics":{"latencyMs":10}}`,
			Result{Text: "It is a shoe.", Usage: Usage{12, 5}, StopReason: "end_turn"}, ""},
		{"nova no output", "amazon.nova-lite-v1:0", `{"stopReason":"end_turn"}`, Result{}, `"output"`},
		{"nova no message", "amazon.nova-lite-v1:0", `{"output":{}}`, Result{}, `"output.message"`},
		{"nova no content", "amazon.nova-lite-v1:0", `{"output":{"message":{"role":"assistant"}}}`, Result{}, `"output.message.content"`},
		{"nova content at top level (what the original read)", "amazon.nova-lite-v1:0", `{"content":[{"text":"x"}]}`, Result{}, `"output"`},
		{"llama", "meta.llama3-8b-instruct-v1:0",
			`{"generation":"Paris.","prompt_token_count":20,"generation_token_count":3,"stop_reason":"stop"}`,
			Result{Text: "Paris.", Usage: Usage{20, 3}, StopReason: "stop"}, ""},
		{"llama no generation", "meta.llama3-8b-instruct-v1:0", `{"stop_reason":"length"}`, Result{}, `"generation"`},
		{"llama generation number", "meta.llama3-8b-instruct-v1:0", `{"generation":5}`, Result{}, "generation"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Lookup(tc.id)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.ParseModelOutput([]byte(tc.out))
			if tc.wantErr != "" {
				if !errors.Is(err, ErrBadOutput) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want ErrBadOutput mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// batchLine is one line of a Bedrock batch output file.
type batchLine struct {
	RecordID    string          `json:"recordId"`
	ModelInput  json.RawMessage `json:"modelInput"`
	ModelOutput json.RawMessage `json:"modelOutput"`
}

func readLines(t *testing.T, path string) []batchLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []batchLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l batchLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		lines = append(lines, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// TestClaudeRealOutput checks lines of real Bedrock batch output (from the
// original's clothing example, base64 shortened): our parser reads them, and
// our builder produces the same modelInput from the same prompt and image.
func TestClaudeRealOutput(t *testing.T) {
	lines := readLines(t, "testdata/claude_output.jsonl")
	want := []struct {
		id         string
		textPrefix string
		usage      Usage
	}{
		{"d5dbf5de-3ff9-47c6-a669-7ffd284c2638", "{\n    \"category\": \"t-shirt\",\n    \"confidence\": 0.9\n}", Usage{457, 25}},
		{"47ba09d2-8fcd-43ed-829c-fe73961b271a", "{\n    \"color\": \"light blue\",", Usage{205, 49}},
		{"619d27fc-a641-47ce-adad-dd8420fdbeed", "{\n    \"title\": \"Elegant Two-Tone Leather Oxford Dress Shoes\"", Usage{235, 115}},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d fixture lines, want %d", len(lines), len(want))
	}
	p, err := Lookup("anthropic.claude-3-haiku-20240307-v1:0")
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range lines {
		t.Run(l.RecordID, func(t *testing.T) {
			if l.RecordID != want[i].id {
				t.Fatalf("record id %q, want %q", l.RecordID, want[i].id)
			}
			res, err := p.ParseModelOutput(l.ModelOutput)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(res.Text, want[i].textPrefix) || res.Usage != want[i].usage || res.StopReason != "end_turn" {
				t.Fatalf("got %+v", res)
			}
			if !json.Valid([]byte(res.Text)) {
				t.Errorf("the model's JSON answer did not survive parsing: %q", res.Text)
			}

			var in struct {
				Messages []struct {
					Content []struct {
						Type   string `json:"type"`
						Text   string `json:"text"`
						Source struct {
							MediaType string `json:"media_type"`
							Data      []byte `json:"data"`
						} `json:"source"`
					} `json:"content"`
				} `json:"messages"`
			}
			if err := json.Unmarshal(l.ModelInput, &in); err != nil {
				t.Fatal(err)
			}
			var req Request
			for _, c := range in.Messages[0].Content {
				switch c.Type {
				case "text":
					req.Prompt = c.Text
				case "image":
					req.Image = &Image{Data: c.Source.Data, MediaType: c.Source.MediaType, Format: strings.TrimPrefix(c.Source.MediaType, "image/")}
				}
			}
			built, err := p.AppendModelInput(nil, req)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(mustJSON(t, built), mustJSON(t, l.ModelInput)) {
				t.Fatalf("built modelInput differs from Bedrock's record\n got %s\nwant %s", built, l.ModelInput)
			}
		})
	}
}

func FuzzAppendModelInput(f *testing.F) {
	f.Add("hello", []byte("img"), uint8(0))
	f.Add("\xff\"", []byte{}, uint8(3))
	ids := []string{"anthropic.claude-3-haiku-20240307-v1:0", "amazon.titan-embed-text-v2:0", "amazon.nova-lite-v1:0", "meta.llama3-8b-instruct-v1:0"}
	f.Fuzz(func(t *testing.T, prompt string, img []byte, which uint8) {
		p, err := Lookup(ids[int(which)%len(ids)])
		if err != nil {
			t.Fatal(err)
		}
		req := Request{Prompt: prompt}
		if len(img) > 0 && which&4 != 0 {
			req.Image = &Image{Data: img, MediaType: "image/gif", Format: "gif"}
		}
		out, err := p.AppendModelInput(nil, req)
		if err == nil && !json.Valid(out) {
			t.Fatalf("invalid modelInput: %s", out)
		}
	})
}

func FuzzParseModelOutput(f *testing.F) {
	seeds := []string{
		`{"content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":2}}`,
		`{"embedding":[0.1,0.2],"inputTextTokenCount":3}`,
		`{"output":{"message":{"content":[{"text":"x"}]}},"stopReason":"end_turn","usage":{"inputTokens":1,"outputTokens":1}}`,
		`{"generation":"x","prompt_token_count":1,"generation_token_count":1,"stop_reason":"stop"}`,
		`null`, `{"content":null}`, `{"output":{"message":null}}`, `{"embedding":[1e400]}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	var procs []Processor
	for _, id := range []string{"anthropic.claude-3-haiku-20240307-v1:0", "amazon.titan-embed-text-v2:0", "amazon.nova-lite-v1:0", "meta.llama3-8b-instruct-v1:0"} {
		p, err := Lookup(id)
		if err != nil {
			f.Fatal(err)
		}
		procs = append(procs, p)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, p := range procs {
			res, err := p.ParseModelOutput(b)
			if err != nil {
				if !errors.Is(err, ErrBadOutput) {
					t.Fatalf("%s: error wraps no ErrBadOutput: %v", p.Family(), err)
				}
				continue
			}
			if !json.Valid(b) {
				t.Fatalf("%s: accepted invalid JSON %q", p.Family(), b)
			}
			if p.Capabilities().Embedding && len(res.Embedding) == 0 {
				t.Fatalf("%s: success without an embedding", p.Family())
			}
		}
	})
}

// FuzzScannerString checks the hand-rolled string decoder against
// encoding/json on arbitrary string bodies: same acceptance, same result.
func FuzzScannerString(f *testing.F) {
	for _, s := range []string{`abc`, `a\"b`, `\u00e9\ud83d\ude00`, `\ud800x`, `\ud800\u0041`, "\xff", `\x`, "\t", `\/`, "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		doc := []byte(`"` + body + `"`)
		var want string
		wantErr := json.Unmarshal(doc, &want)
		s := &scanner{b: doc}
		got, err := s.str()
		if err == nil && !s.atEnd() {
			err = errors.New("trailing data")
		}
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("%q: scanner error %v, encoding/json error %v", doc, err, wantErr)
		}
		if err == nil && got != want {
			t.Fatalf("%q: scanner %q, encoding/json %q", doc, got, want)
		}
	})
}

// FuzzScannerSkip checks that skip accepts exactly the valid JSON values.
func FuzzScannerSkip(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5e3,-0,true,false,null,"x"]}`, `[`, `{"a" 1}`, `01`, `1.`, `-`, `1e+`, `"\u12"`, `[1,]`, `{,}`, ` 7 `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s := &scanner{b: b}
		err := s.skip()
		if err == nil && !s.atEnd() {
			err = errors.New("trailing data")
		}
		if (err == nil) != json.Valid(b) {
			t.Fatalf("%q: skip error %v, json.Valid %v", b, err, json.Valid(b))
		}
	})
}

// benchPrompt is a 200-byte prompt with a few characters to escape.
var benchPrompt = strings.Repeat("Classify this product review as positive or negative. ", 4)[:190] + "\n\"ok\"\t\\ end"

func BenchmarkAppendModelInput(b *testing.B) {
	for _, id := range []string{"anthropic.claude-3-haiku-20240307-v1:0", "amazon.titan-embed-text-v2:0", "amazon.nova-lite-v1:0", "meta.llama3-8b-instruct-v1:0"} {
		p, err := Lookup(id)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(p.Family(), func(b *testing.B) {
			req := Request{Prompt: benchPrompt}
			dst := make([]byte, 0, 1024)
			b.ReportAllocs()
			b.SetBytes(int64(len(benchPrompt)))
			for b.Loop() {
				dst, err = p.AppendModelInput(dst[:0], req)
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseModelOutputClaude(b *testing.B) {
	out := []byte(`{"id":"msg_bdrk_01DgLtA8tHywj93stSdTrf7z","type":"message","role":"assistant","model":"claude-3-haiku-20240307","content":[{"type":"text","text":"{\n    \"title\": \"Navy Blue Cotton Casual Shorts\",\n    \"description\": \"Comfortable navy blue cotton shorts with a relaxed fit, perfect for warm days.\",\n    \"keywords\": [\"shorts\", \"navy\", \"cotton\", \"casual\"]\n}"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":145,"output_tokens":106}}`)
	p, err := Lookup("anthropic.claude-3-haiku-20240307-v1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(out)))
	for b.Loop() {
		if _, err := p.ParseModelOutput(out); err != nil {
			b.Fatal(err)
		}
	}
}
