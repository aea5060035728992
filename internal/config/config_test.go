package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/bbo-dev/bbo/prompts"
)

// catalogue is a small model catalogue for tests.
type catalogue map[string]struct{ images, embedding bool }

func (c catalogue) Known(id string) bool          { _, ok := c[id]; return ok }
func (c catalogue) SupportsImages(id string) bool { return c[id].images }
func (c catalogue) IsEmbedding(id string) bool    { return c[id].embedding }

var models = catalogue{
	"anthropic.claude-3-haiku-20240307-v1:0":    {images: true},
	"anthropic.claude-3-5-sonnet-20241022-v2:0": {images: true},
	"amazon.nova-micro-v1:0":                    {},
	"amazon.titan-embed-text-v2:0":              {embedding: true},
}

func TestOriginalConfigsValidateClean(t *testing.T) {
	files, _ := filepath.Glob("testdata/clothing-analysis-*.json")
	if len(files) != 2 {
		t.Fatalf("found %d original configs, want 2", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if k, err := DetectKind(data); err != nil || k != KindPipeline {
				t.Errorf("DetectKind = %v, %v; want pipeline", k, err)
			}
			p, err := DecodePipeline(strings.NewReader(string(data)))
			if err != nil {
				t.Fatal(err)
			}
			w, err := p.Validate(prompts.Default(), models)
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if !w.Empty() {
				t.Errorf("warnings:\n%s", w)
			}
			if p.ExpiryDays() != 7 || p.Stages[0].PromptConfig.PromptID != "classify_clothing_category" {
				t.Errorf("decoded %+v", p)
			}
		})
	}
}

func TestOriginalFullConfigDecodesEveryField(t *testing.T) {
	f, err := os.Open("testdata/clothing-analysis-full.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := DecodePipeline(f)
	if err != nil {
		t.Fatal(err)
	}
	s := p.Stages[1]
	if s.StageName != "extract_metadata" || !s.UsePreviousOutput || s.InputType != "image" ||
		s.PromptConfig.Mode != ModeMapped || s.PromptConfig.ColumnName != "metadata_prompt_id" ||
		s.CategoryToPromptMapping["t-shirt"] != "extract_tshirt_metadata" || s.MaxNumJobs != 1 || s.MaxRecordsPerJob != 100 {
		t.Errorf("stage 1 = %+v", s)
	}
	if got := p.Stages[2].ColumnMappings["metadata"]; got != "response" {
		t.Errorf("stage 2 column_mappings[metadata] = %q", got)
	}
	jr := p.Stages[2].JobRequest("s3://b/batch_inputs_parquet/x/transformed.snappy.parquet")
	if jr.StageName != "generate_listing" || jr.S3URI == "" || jr.PromptConfig.PromptID != "generate_product_listing" || jr.InputType != InputText {
		t.Errorf("JobRequest() = %+v", jr)
	}
	if _, err := jr.Validate(prompts.Default(), models); err != nil {
		t.Errorf("stage job request does not validate: %v", err)
	}
}

// stage is a valid stage for tests to break.
const okStage = `{"stage_name": "s", "model_id": "anthropic.claude-3-haiku-20240307-v1:0", "input_s3_uri": "s3://b/in.csv",
	"job_name_prefix": "p", "prompt_config": {"mode": "single", "prompt_id": "joke_about_topic"}}`

func TestPipelineValidation(t *testing.T) {
	cases := []struct {
		name     string
		config   string
		errors   []string
		warnings []string
	}{
		{
			name:   "empty pipeline",
			config: `{}`,
			errors: []string{
				"pipeline_name: missing: give the pipeline a name; notifications use it",
				"stages: missing: a pipeline needs at least one stage",
			},
		},
		{
			name:   "empty stage",
			config: `{"pipeline_name": "x", "stages": [{}]}`,
			errors: []string{
				"stages[0].stage_name: missing: give every stage a unique name",
				`stages[0].model_id: missing: set the Bedrock model or inference profile id, e.g. "anthropic.claude-3-haiku-20240307-v1:0"`,
				"stages[0].input_s3_uri: missing: the first stage reads its records from input_s3_uri (s3://<bucket>/<key or prefix>)",
				`stages[0].job_name_prefix: missing: set a short name for the stage's batch jobs and S3 folders, e.g. "stage1-classify"`,
				`stages[0].prompt_config: missing: say which prompt each record gets, e.g. {"mode": "single", "prompt_id": "joke_about_topic"} (only embedding models may omit it; they embed the input_text column)`,
			},
		},
		{
			name: "prompt ids",
			config: `{"pipeline_name": "x", "stages": [
				{"stage_name": "a", "model_id": "anthropic.claude-3-haiku-20240307-v1:0", "input_s3_uri": "s3://b/in.csv", "job_name_prefix": "a",
				 "prompt_config": {"mode": "single", "prompt_id": "joke_about_topics"}},
				{"stage_name": "b", "model_id": "anthropic.claude-3-haiku-20240307-v1:0", "input_s3_uri": "s3://b/in.csv", "job_name_prefix": "b",
				 "prompt_config": {"mode": "single", "prompt_id": "detailed_clothing_analysis"}},
				{"stage_name": "c", "model_id": "anthropic.claude-3-haiku-20240307-v1:0", "input_s3_uri": "s3://b/in.csv", "job_name_prefix": "c",
				 "prompt_config": {"mode": "expanded", "category_column": "category",
				   "expansion_mapping": {"default": "extract_color", "t-shirt": "no_such_rule", "shoes": "comprehensive_product_review"}}},
				{"stage_name": "d", "model_id": "anthropic.claude-3-haiku-20240307-v1:0", "use_previous_output": true, "job_name_prefix": "d",
				 "prompt_config": {"mode": "mapped", "column_name": "pid"},
				 "category_to_prompt_mapping": {"shorts": "extract_short_metadata", "dress": "comprehensive_product_review", "x": ""}}
			]}`,
			errors: []string{
				`stages[0].prompt_config.prompt_id (stage "a"): unknown prompt "joke_about_topics"; did you mean "joke_about_topic"?`,
				`stages[1].prompt_config.prompt_id (stage "b"): "detailed_clothing_analysis" is an expansion rule, not a prompt: use mode "expanded" with an expansion_mapping to it, or name one of its prompts (extract_color, extract_size, extract_brand)`,
				`stages[2].prompt_config.expansion_mapping.default (stage "c"): "extract_color" is a prompt, not an expansion rule: expanded mode maps categories to rules (comprehensive_product_review, detailed_clothing_analysis); for one prompt per record use mode "single" or "mapped"`,
				`stages[2].prompt_config.expansion_mapping.t-shirt (stage "c"): unknown prompt "no_such_rule"; docs/prompts.md lists the shipped ids`,
				`stages[3].category_to_prompt_mapping.dress (stage "d"): "comprehensive_product_review" is an expansion rule, not a prompt: use mode "expanded" with an expansion_mapping to it, or name one of its prompts (classify_product, extract_color, extract_size, extract_brand)`,
				`stages[3].category_to_prompt_mapping.shorts (stage "d"): unknown prompt "extract_short_metadata"; did you mean "extract_shorts_metadata"?`,
				`stages[3].category_to_prompt_mapping.x (stage "d"): empty prompt id: name a template of the prompt library`,
			},
		},
		{
			name: "modes",
			config: `{"pipeline_name": "x", "stages": [
				{"stage_name": "a", "model_id": "anthropic.claude-3-haiku-20240307-v1:0", "input_s3_uri": "s3://b/in.csv", "job_name_prefix": "a",
				 "prompt_config": {"mode": "maped", "prompt_id": "joke_about_topic"}},
				{"stage_name": "b", "model_id": "anthropic.claude-3-haiku-20240307-v1:0", "input_s3_uri": "s3://b/in.csv", "job_name_prefix": "b",
				 "prompt_config": {"mode": "mapped"}},
				{"stage_name": "c", "model_id": "anthropic.claude-3-haiku-20240307-v1:0", "input_s3_uri": "s3://b/in.csv", "job_name_prefix": "c",
				 "prompt_config": {"mode": "expanded"}},
				{"stage_name": "d", "model_id": "anthropic.claude-3-haiku-20240307-v1:0", "input_s3_uri": "s3://b/in.csv", "job_name_prefix": "d",
				 "prompt_config": {"prompt_id": "joke_about_topic"}},
				{"stage_name": "e", "model_id": "anthropic.claude-3-haiku-20240307-v1:0", "input_s3_uri": "s3://b/in.csv", "job_name_prefix": "e",
				 "prompt_config": {"mode": "single"}}
			]}`,
			errors: []string{
				`stages[0].prompt_config.mode (stage "a"): "maped" is not a mode: use "single", "mapped" or "expanded"; did you mean "mapped"?`,
				`stages[1].prompt_config.column_name (stage "b"): missing: mapped mode reads each record's prompt id from this column; name it`,
				`stages[2].prompt_config.category_column (stage "c"): missing: expanded mode picks each record's expansion rule by this column's value; name it`,
				`stages[2].prompt_config.expansion_mapping (stage "c"): missing: map category values (and "default") to expansion rules, e.g. {"default": "detailed_clothing_analysis"}`,
				`stages[3].prompt_config.mode (stage "d"): missing: set "single", "mapped" or "expanded"`,
				`stages[4].prompt_config.prompt_id (stage "e"): missing: single mode renders one prompt for every record; name it`,
			},
		},
		{
			name: "models and inputs",
			config: `{"pipeline_name": "x", "stages": [
				{"stage_name": "a", "model_id": "anthropic.claude-9", "use_previous_output": true, "input_s3_uri": "https://b/in.csv", "job_name_prefix": "a",
				 "input_type": "video", "prompt_config": {"mode": "single", "prompt_id": "joke_about_topic"}},
				{"stage_name": "b", "model_id": "amazon.nova-micro-v1:0", "input_type": "image", "job_name_prefix": "b",
				 "prompt_config": {"mode": "single", "prompt_id": "image_classification"}},
				{"stage_name": "c", "model_id": "amazon.titan-embed-text-v2:0", "input_s3_uri": "s3:///key", "input_type": "image", "job_name_prefix": "c",
				 "prompt_config": {"mode": "single", "prompt_id": "embed_text"}}
			]}`,
			errors: []string{
				`stages[0].model_id (stage "a"): "anthropic.claude-9" is not a model bbo supports: check the id, including any inference-profile region prefix such as "us."`,
				`stages[0].input_type (stage "a"): "video" is not an input type: use "text" or "image"`,
				`stages[0].use_previous_output (stage "a"): the first stage has no previous output: remove use_previous_output and set input_s3_uri`,
				`stages[0].input_s3_uri (stage "a"): "https://b/in.csv" is not an S3 URI: write s3://<bucket>/<key or prefix>`,
				`stages[1].input_type (stage "b"): model "amazon.nova-micro-v1:0" does not accept images: pick a model with image support or use input_type "text"`,
				`stages[1].input_s3_uri (stage "b"): missing: a later stage reads input_s3_uri or, with "use_previous_output": true, the previous stage's output; set one`,
				`stages[2].input_type (stage "c"): model "amazon.titan-embed-text-v2:0" does not accept images: pick a model with image support or use input_type "text"`,
				`stages[2].input_s3_uri (stage "c"): "s3:///key" is not an S3 URI: write s3://<bucket>/<key or prefix>`,
			},
		},
		{
			name: "many problems at once: names, prefixes and sizes",
			config: `{"pipeline_name": "x", "presigned_url_expiry_days": 0, "stages": [
				{"stage_name": "a", "model_id": "anthropic.claude-3-haiku-20240307-v1:0", "input_s3_uri": "s3://b/in.csv", "job_name_prefix": "stage_1.classify",
				 "prompt_config": {"mode": "single", "prompt_id": "joke_about_topic"}, "max_num_jobs": -1, "max_records_per_job": 99},
				{"stage_name": "a", "model_id": "anthropic.claude-3-haiku-20240307-v1:0", "use_previous_output": true, "job_name_prefix": "stage_1.classify",
				 "prompt_config": {"mode": "single", "prompt_id": "joke_about_topic"}, "max_records_per_job": 50001},
				{"stage_name": "c", "model_id": "anthropic.claude-3-haiku-20240307-v1:0", "use_previous_output": true, "job_name_prefix": "-abcdefghijklmnopqrstuvwxyz0123456789ABCDE",
				 "prompt_config": {"mode": "single", "prompt_id": "joke_about_topic"}, "max_records_per_job": 50000}
			]}`,
			errors: []string{
				`presigned_url_expiry_days: is 0: download links must live at least 1 day; set 1..7 or leave it out for 7`,
				`stages[0].job_name_prefix (stage "a"): "stage_1.classify" contains "_", ".": Bedrock job names allow only letters, digits and '-'`,
				`stages[0].max_num_jobs (stage "a"): is -1: use 0 or leave it out for no cap, or a positive number of jobs`,
				`stages[0].max_records_per_job (stage "a"): is 99: Bedrock batch jobs take at least 100 and at most 50000 records; set a value in 100..50000 (default 1000)`,
				`stages[1].job_name_prefix (stage "a"): "stage_1.classify" contains "_", ".": Bedrock job names allow only letters, digits and '-'`,
				`stages[1].max_records_per_job (stage "a"): is 50001: Bedrock batch jobs take at least 100 and at most 50000 records; set a value in 100..50000 (default 1000)`,
				`stages[1].stage_name (stage "a"): "a" is already the name of stages[0]: stage names must be unique`,
				`stages[1].job_name_prefix (stage "a"): "stage_1.classify" is already used by stages[0]: the stages would overwrite each other's files under batch_output_parquet/stage_1.classify/; make it unique`,
				`stages[2].job_name_prefix (stage "c"): "-abcdefghijklmnopqrstuvwxyz0123456789ABC…" starts with '-': Bedrock job names start with a letter or digit`,
				`stages[2].job_name_prefix (stage "c"): is 42 characters long: keep it at most 40 so the job name (prefix + "-part-NNNN-" + 6 characters) stays within Bedrock's 63-character limit`,
			},
		},
		{
			name: "warnings only",
			config: `{"pipeline_name": "x", "presigned_url_expiry_days": 30, "stages": [
				{"stage_name": "a", "model_id": "anthropic.claude-3-haiku-20240307-v1:0", "input_s3_uri": "s3://b/in.csv", "job_name_prefix": "a",
				 "prompt_config": {"mode": "single", "prompt_id": "joke_about_topic", "column_name": "c", "category_column": "k", "expansion_mapping": {"x": "y"}},
				 "category_to_prompt_mapping": {"shorts": "extract_shorts_metadata"}, "column_mappings": {"m": "response"}},
				{"stage_name": "b", "model_id": "anthropic.claude-3-haiku-20240307-v1:0", "use_previous_output": true, "input_s3_uri": "s3://b/in.csv", "job_name_prefix": "b",
				 "prompt_config": {"mode": "mapped", "column_name": "pid", "prompt_id": "joke_about_topic"}},
				{"stage_name": "c", "model_id": "anthropic.claude-3-haiku-20240307-v1:0", "input_s3_uri": "s3://b/in.csv", "job_name_prefix": "c",
				 "prompt_config": {"mode": "mapped", "column_name": "pid"}, "category_to_prompt_mapping": {"default": "joke_about_topic"}}
			]}`,
			warnings: []string{
				`presigned_url_expiry_days: is 30: presigned links live at most 7 days (the SigV4 maximum), so 7 is used`,
				`stages[0].prompt_config.column_name (stage "a"): ignored in single mode`,
				`stages[0].prompt_config.category_column (stage "a"): ignored in single mode`,
				`stages[0].prompt_config.expansion_mapping (stage "a"): ignored in single mode`,
				`stages[0].category_to_prompt_mapping (stage "a"): ignored: it fills prompt_config.column_name, which only mapped mode reads; set prompt_config.mode to "mapped" to use it`,
				`stages[0].column_mappings (stage "a"): ignored: it renames the previous stage's output columns, so it applies only with "use_previous_output": true`,
				`stages[1].input_s3_uri (stage "b"): ignored: the stage reads the previous stage's output because use_previous_output is true`,
				`stages[1].prompt_config.prompt_id (stage "b"): ignored in mapped mode`,
				`stages[2].category_to_prompt_mapping (stage "c"): ignored: it maps the previous stage's categories, so it applies only with "use_previous_output": true`,
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := DecodePipeline(strings.NewReader(tc.config))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			w, err := p.Validate(prompts.Default(), models)
			var got []string
			if err != nil {
				var ve *ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("error %T is not a *ValidationError", err)
				}
				got = strings.Split(err.Error(), "\n")
				if len(ve.Problems) != len(got) {
					t.Errorf("%d problems but %d lines", len(ve.Problems), len(got))
				}
			}
			if !slices.Equal(got, tc.errors) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.errors, "\n"))
			}
			var gotW []string
			if !w.Empty() {
				gotW = strings.Split(w.String(), "\n")
			}
			if !slices.Equal(gotW, tc.warnings) {
				t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(gotW, "\n"), strings.Join(tc.warnings, "\n"))
			}
		})
	}
}

func TestValidationProblemFields(t *testing.T) {
	p, err := DecodePipeline(strings.NewReader(`{"pipeline_name": "x", "stages": [` + okStage + `, {"stage_name": "two", "model_id": "anthropic.claude-3-haiku-20240307-v1:0", "job_name_prefix": "q", "use_previous_output": true, "prompt_config": {"mode": "bogus"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Validate(prompts.Default(), models)
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 1 {
		t.Fatalf("err = %v", err)
	}
	want := Problem{Stage: 1, StageName: "two", Field: "prompt_config.mode", Message: `"bogus" is not a mode: use "single", "mapped" or "expanded"`}
	if ve.Problems[0] != want {
		t.Errorf("problem = %+v\nwant %+v", ve.Problems[0], want)
	}
}

func TestJobRequestValidation(t *testing.T) {
	cases := []struct {
		name     string
		request  string
		errors   []string
		warnings []string
	}{
		{
			name:    "legacy prompt id",
			request: `{"s3_uri": "s3://b/in.csv", "job_name_prefix": "jokes", "model_id": "amazon.nova-micro-v1:0", "prompt_id": "joke_about_topic"}`,
		},
		{
			name:    "dataset",
			request: `{"dataset_id": "kaist-ai/CoT-Collection", "split": "train", "job_name_prefix": "cot", "model_id": "amazon.nova-micro-v1:0", "prompt_config": {"mode": "single", "prompt_id": "question_answering"}, "max_num_jobs": 2, "max_records_per_job": 100}`,
		},
		{
			name:    "nothing",
			request: `{}`,
			errors: []string{
				"s3_uri: missing: set s3_uri (s3://<bucket>/<key or prefix>) or dataset_id (a Hugging Face dataset id)",
				`model_id: missing: set the Bedrock model or inference profile id, e.g. "anthropic.claude-3-haiku-20240307-v1:0"`,
				`job_name_prefix: missing: set a short name for the stage's batch jobs and S3 folders, e.g. "stage1-classify"`,
				`prompt_config: missing: say which prompt each record gets, e.g. {"mode": "single", "prompt_id": "joke_about_topic"} (only embedding models may omit it; they embed the input_text column)`,
			},
		},
		{
			name: "everything wrong",
			request: `{"s3_uri": "s3://b/in.csv", "dataset_id": "d", "job_name_prefix": "a b", "model_id": "amazon.nova-micro-v1:0",
				"prompt_id": "joke_about_topic", "prompt_config": {"mode": "single", "prompt_id": "joke_about_topic"},
				"input_type": "image", "max_num_jobs": -2, "max_records_per_job": 10, "stage_name": "st"}`,
			errors: []string{
				`s3_uri (stage "st"): set either s3_uri or dataset_id, not both`,
				`input_type (stage "st"): model "amazon.nova-micro-v1:0" does not accept images: pick a model with image support or use input_type "text"`,
				`job_name_prefix (stage "st"): "a b" contains " ": Bedrock job names allow only letters, digits and '-'`,
				`max_num_jobs (stage "st"): is -2: use 0 or leave it out for no cap, or a positive number of jobs`,
				`max_records_per_job (stage "st"): is 10: Bedrock batch jobs take at least 100 and at most 50000 records; set a value in 100..50000 (default 1000)`,
				`prompt_id (stage "st"): set prompt_config or the legacy prompt_id, not both`,
			},
		},
		{
			name:    "legacy prompt id problems name prompt_id",
			request: `{"s3_uri": "s3://b/in.csv", "split": "test", "image_column": "img", "job_name_prefix": "j", "model_id": "amazon.nova-micro-v1:0", "prompt_id": "sentiment"}`,
			errors: []string{
				`prompt_id: unknown prompt "sentiment"; did you mean "sentiment_classifier"?`,
			},
			warnings: []string{
				`split: ignored: split applies only to dataset_id input`,
				`image_column: ignored: image_column applies only to input_type "image"`,
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if k, err := DetectKind([]byte(tc.request)); err != nil || k != KindJobRequest {
				t.Errorf("DetectKind = %v, %v; want job request", k, err)
			}
			j, err := DecodeJobRequest(strings.NewReader(tc.request))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			w, err := j.Validate(prompts.Default(), models)
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if !slices.Equal(got, tc.errors) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.errors, "\n"))
			}
			var gotW []string
			if !w.Empty() {
				gotW = strings.Split(w.String(), "\n")
			}
			if !slices.Equal(gotW, tc.warnings) {
				t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(gotW, "\n"), strings.Join(tc.warnings, "\n"))
			}
		})
	}
}

func TestJobRequestNormalize(t *testing.T) {
	j := JobRequest{DatasetID: "d", PromptID: "joke_about_topic", InputType: InputImage}
	j.Normalize()
	j.Normalize() // idempotent
	want := JobRequest{DatasetID: "d", Split: "train", InputType: "image", ImageColumn: "image_path", MaxRecordsPerJob: 1000,
		PromptConfig: &PromptConfig{Mode: ModeSingle, PromptID: "joke_about_topic"}}
	if !reflect.DeepEqual(j.PromptConfig, want.PromptConfig) {
		t.Fatalf("PromptConfig = %+v", j.PromptConfig)
	}
	j.PromptConfig, want.PromptConfig = nil, nil
	if j != want {
		t.Errorf("Normalize = %+v\nwant %+v", j, want)
	}
	text := JobRequest{S3URI: "s3://b/k"}
	text.Normalize()
	if text.ImageColumn != "" || text.Split != "" || text.InputType != InputText {
		t.Errorf("text request normalized to %+v", text)
	}
	if got := (&JobRequest{}).EffectivePromptConfig(); got.Mode != ModeSingle {
		t.Errorf("EffectivePromptConfig of empty request = %+v", got)
	}
}

func TestExpiryDays(t *testing.T) {
	for _, tc := range []struct {
		name string
		days *int
		want int
	}{
		{"unset", nil, 7}, {"zero", ptr(0), 1}, {"three", ptr(3), 3}, {"thirty", ptr(30), 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := (&Pipeline{PresignedURLExpiryDays: tc.days}).ExpiryDays(); got != tc.want {
				t.Errorf("ExpiryDays = %d, want %d", got, tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestDecodeProblems(t *testing.T) {
	cases := []struct {
		name   string
		config string
		want   []string
	}{
		{
			name: "unknown fields with suggestions",
			config: `{"pipeline_name": "x", "pipline_name": "y", "stages": [` + okStage + `,
				{"stage_name": "two", "prompt_confg": {}, "prompt_config": {"mode": "single", "promt_id": "x", "expansion_mapping": {"a": 1}}, "zzz": 1}]}`,
			want: []string{
				`pipline_name: unknown field; did you mean "pipeline_name"?`,
				`stages[1].prompt_confg (stage "two"): unknown field; did you mean "prompt_config"?`,
				`stages[1].prompt_config.promt_id (stage "two"): unknown field; did you mean "prompt_id"?`,
				`stages[1].prompt_config.expansion_mapping.a (stage "two"): expected a string, got a number ("1")`,
				`stages[1].zzz (stage "two"): unknown field`,
			},
		},
		{
			name:   "wrong types",
			config: `{"pipeline_name": 5, "presigned_url_expiry_days": 1.5, "stages": {"a": 1}}`,
			want: []string{
				`pipeline_name: expected a string, got a number ("5")`,
				`presigned_url_expiry_days: expected a whole number, got "1.5"`,
				`stages: expected a list, got an object`,
			},
		},
		{
			name:   "stage types",
			config: `{"stages": ["s", {"use_previous_output": "yes", "max_num_jobs": "3", "column_mappings": [1], "category_to_prompt_mapping": {"a": {"b": 1}}, "max_records_per_job": 1e99}, null]}`,
			want: []string{
				`stages[0]: expected an object, got a string ("s")`,
				`stages[1].use_previous_output: expected true or false, got a string ("yes")`,
				`stages[1].max_num_jobs: expected a whole number, got a string ("3")`,
				`stages[1].column_mappings: expected an object of string values, got a list`,
				`stages[1].category_to_prompt_mapping.a: expected a string, got an object`,
				`stages[1].max_records_per_job: expected a whole number, got "1e99"`,
			},
		},
		{
			name:   "duplicate key",
			config: `{"pipeline_name": "x", "pipeline_name": "y", "stages": [{"column_mappings": {"m": "a", "m": "b", "odd key": "c"}}]}`,
			want: []string{
				`pipeline_name: appears twice: keep one`,
				`stages[0].column_mappings.m: appears twice: keep one`,
			},
		},
		{
			name:   "syntax error after problems",
			config: "{\"pipeline_name\": \"x\", \"bogus\": 1,\n \"stages\": [}",
			want: []string{
				`bogus: unknown field`,
				`invalid JSON at line 2 column 13: invalid character '}' looking for beginning of value`,
			},
		},
		{
			name:   "truncated",
			config: `{"pipeline_name": "x"`,
			want:   []string{`invalid JSON at line 1 column 22: the file ends in the middle of a value`},
		},
		{
			name:   "trailing data",
			config: `{"pipeline_name": "x"} {"stages": []}`,
			want:   []string{`unexpected data after the configuration at line 1 column 25: a file holds one JSON object`},
		},
		{
			name:   "not an object",
			config: `[1, 2]`,
			want:   []string{`expected an object, got a list`},
		},
		{
			name:   "empty",
			config: " \n",
			want:   []string{`the configuration is empty: give a JSON object`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := DecodePipeline(strings.NewReader(tc.config))
			if p != nil {
				t.Errorf("DecodePipeline returned a pipeline despite errors")
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v (%T) is not a *DecodeError", err, err)
			}
			got := strings.Split(err.Error(), "\n")
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestDecodeJobRequestUnknownField(t *testing.T) {
	_, err := DecodeJobRequest(strings.NewReader(`{"s3_url": "s3://b/k", "prompt_config": {"mode": "single", "column": "x"}, "stages": []}`))
	want := `s3_url: unknown field; did you mean "s3_uri"?` + "\n" +
		`prompt_config.column: unknown field; did you mean "column_name"?` + "\n" +
		`stages: unknown field`
	if err == nil || err.Error() != want {
		t.Errorf("error =\n%v\nwant\n%s", err, want)
	}
}

func TestDecodeTooLarge(t *testing.T) {
	big := `{"pipeline_name": "` + strings.Repeat("x", maxConfigSize) + `"}`
	_, err := DecodePipeline(strings.NewReader(big))
	if err == nil || !strings.Contains(err.Error(), "larger than 1048576 bytes") {
		t.Errorf("error = %v", err)
	}
}

func TestDetectKind(t *testing.T) {
	cases := []struct {
		name, data string
		want       Kind
		err        string
	}{
		{"pipeline", `{"stages": []}`, KindPipeline, ""},
		{"pipeline by name", `{"pipeline_name": "x"}`, KindPipeline, ""},
		{"job request", `{"s3_uri": "s3://b/k", "nested": {"stages": 1}}`, KindJobRequest, ""},
		{"not an object", `"x"`, 0, "not a JSON object: a configuration is a job request or a pipeline object"},
		{"broken", `{"a": }`, 0, "invalid JSON at line 1 column 6: invalid character '}' looking for beginning of value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, err := DetectKind([]byte(tc.data))
			if k != tc.want || (err == nil) != (tc.err == "") || (err != nil && err.Error() != tc.err) {
				t.Errorf("DetectKind = %v, %v; want %v, %q", k, err, tc.want, tc.err)
			}
		})
	}
	if KindPipeline.String() != "pipeline" || KindJobRequest.String() != "job request" {
		t.Errorf("Kind strings: %v, %v", KindPipeline, KindJobRequest)
	}
}

// FuzzDecodePipeline decodes arbitrary bytes: it must not panic, every
// failure must be a *DecodeError with messages, and what decodes must
// validate without panicking.
func FuzzDecodePipeline(f *testing.F) {
	for _, s := range []string{
		`{}`, `[]`, `null`, `{"stages": [null, 1, "x", {}]}`, `{"stages": [` + okStage + `]}`,
		`{"pipeline_name": "x", "presigned_url_expiry_days": -1}`, `{"a": {"b": [1, {"c": null}]}}`, `{"stages": [{"prompt_config": {"expansion_mapping": {"": ""}}}]}`,
		`{"stages": [{"max_records_per_job": 1e3}]}`, "\xff", `{"pipeline_name": "\u00e9"} x`,
	} {
		f.Add([]byte(s))
	}
	for _, name := range []string{"testdata/clothing-analysis-full.json", "testdata/clothing-analysis-test.json"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = DetectKind(data)
		p, err := DecodePipeline(strings.NewReader(string(data)))
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || len(de.Problems) == 0 {
				t.Fatalf("error %v (%T) is not a *DecodeError with problems", err, err)
			}
			return
		}
		_, _ = p.Validate(prompts.Default(), models)
		_ = p.ExpiryDays()
	})
}
