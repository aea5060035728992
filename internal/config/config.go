// Package config holds the typed job requests and pipeline configurations
// bbo runs — field for field those of the original sample, so its configs
// run unchanged — with strict decoding and validation that reports every
// problem at once.
package config

// Prompt modes: how a stage picks the prompt for each record.
const (
	// ModeSingle renders one prompt (prompt_id) for every record.
	ModeSingle = "single"
	// ModeMapped reads each record's prompt id from the column column_name.
	ModeMapped = "mapped"
	// ModeExpanded picks an expansion rule by the record's category_column
	// value and makes one request per prompt of the rule.
	ModeExpanded = "expanded"
)

// Input types.
const (
	// InputText sends only the rendered prompt.
	InputText = "text"
	// InputImage sends the image named by the image column with the prompt.
	InputImage = "image"
)

// Defaults and limits.
const (
	// DefaultSplit is the Hugging Face dataset split read when none is given.
	DefaultSplit = "train"
	// DefaultImageColumn is the column holding image locations.
	DefaultImageColumn = "image_path"
	// DefaultMaxRecordsPerJob is the batch size when none is given.
	DefaultMaxRecordsPerJob = 1000
	// MinRecordsPerJob is Bedrock's minimum number of records per batch job.
	MinRecordsPerJob = 100
	// MaxRecordsPerJob is Bedrock's maximum number of records per batch job.
	MaxRecordsPerJob = 50000
	// MaxJobsPerExecution is the most Bedrock jobs one single-stage
	// execution runs. The job list (up to about 620 bytes a job with the
	// longest prefix) travels through the state machine, whose state data
	// Step Functions caps at 256 KB; 300 jobs keep a margin of a quarter.
	// With up to 50,000 records per job that is 15,000,000 records per
	// execution.
	MaxJobsPerExecution = 300
	// MaxJobNamePrefixLen keeps generated job names (prefix +
	// "-part-NNNN-" + 6 characters) within Bedrock's 63-character limit.
	MaxJobNamePrefixLen = 40
	// DefaultPresignedURLExpiryDays is the notification links' lifetime when
	// none is given.
	DefaultPresignedURLExpiryDays = 7
	// MaxPresignedURLExpiryDays is the longest lifetime SigV4 presigning allows.
	MaxPresignedURLExpiryDays = 7
	// DefaultMappingKey is the key of category_to_prompt_mapping and
	// expansion_mapping used for categories without an entry of their own.
	DefaultMappingKey = "default"
)

// PromptConfig says which prompt each record of a stage gets.
type PromptConfig struct {
	// Mode is ModeSingle, ModeMapped or ModeExpanded.
	Mode string `json:"mode"`
	// PromptID is the prompt of single mode.
	PromptID string `json:"prompt_id,omitempty"`
	// ColumnName is the column holding each record's prompt id (mapped mode).
	ColumnName string `json:"column_name,omitempty"`
	// CategoryColumn is the column whose value picks the expansion rule
	// (expanded mode).
	CategoryColumn string `json:"category_column,omitempty"`
	// ExpansionMapping maps category values (and "default") to expansion
	// rule ids (expanded mode).
	ExpansionMapping map[string]string `json:"expansion_mapping,omitempty"`
}

// JobRequest is the input of a single-stage run: where the records are,
// which model and prompts to use, and how to cut them into batch jobs.
type JobRequest struct {
	// S3URI is the input: a .csv or .parquet object, or for image input a
	// prefix of image files. Exactly one of S3URI and DatasetID is set.
	S3URI string `json:"s3_uri,omitempty"`
	// DatasetID is a Hugging Face dataset id to read instead of S3URI.
	DatasetID string `json:"dataset_id,omitempty"`
	// Split is the dataset split (default "train").
	Split string `json:"split,omitempty"`
	// JobNamePrefix names the batch jobs and the S3 folders of this run.
	JobNamePrefix string `json:"job_name_prefix"`
	// ModelID is the Bedrock model or inference profile id.
	ModelID string `json:"model_id"`
	// PromptID is the legacy way to say PromptConfig{Mode: single, PromptID}.
	PromptID string `json:"prompt_id,omitempty"`
	// PromptConfig says which prompt each record gets.
	PromptConfig *PromptConfig `json:"prompt_config,omitempty"`
	// InputType is "text" (default) or "image".
	InputType string `json:"input_type,omitempty"`
	// ImageColumn is the column holding image locations for image input
	// (default "image_path").
	ImageColumn string `json:"image_column,omitempty"`
	// MaxNumJobs caps the number of batch jobs; 0 means no cap.
	MaxNumJobs int `json:"max_num_jobs,omitempty"`
	// MaxRecordsPerJob is the batch size; 0 means DefaultMaxRecordsPerJob.
	MaxRecordsPerJob int `json:"max_records_per_job,omitempty"`
	// StageName is set when the request runs a pipeline stage.
	StageName string `json:"stage_name,omitempty"`
}

// Normalize fills in defaults and turns a legacy prompt_id into a single
// mode PromptConfig. It is idempotent.
func (j *JobRequest) Normalize() {
	if j.DatasetID != "" && j.Split == "" {
		j.Split = DefaultSplit
	}
	if j.InputType == "" {
		j.InputType = InputText
	}
	if j.InputType == InputImage && j.ImageColumn == "" {
		j.ImageColumn = DefaultImageColumn
	}
	if j.MaxRecordsPerJob == 0 {
		j.MaxRecordsPerJob = DefaultMaxRecordsPerJob
	}
	if j.PromptConfig == nil && j.PromptID != "" {
		pc := j.EffectivePromptConfig()
		j.PromptConfig = &pc
		j.PromptID = ""
	}
}

// EffectivePromptConfig returns the prompt configuration the request asks
// for: PromptConfig if set, else single mode with the legacy PromptID.
func (j *JobRequest) EffectivePromptConfig() PromptConfig {
	if j.PromptConfig != nil {
		return *j.PromptConfig
	}
	return PromptConfig{Mode: ModeSingle, PromptID: j.PromptID}
}

// Stage is one step of a pipeline: a batch run whose input is either an S3
// location or the previous stage's output.
type Stage struct {
	// StageName names the stage in messages and notifications; unique.
	StageName string `json:"stage_name"`
	// ModelID is the Bedrock model or inference profile id.
	ModelID string `json:"model_id"`
	// InputS3URI is the stage's input (first stage, or a later stage that
	// does not use the previous output).
	InputS3URI string `json:"input_s3_uri,omitempty"`
	// UsePreviousOutput makes the previous stage's output table this
	// stage's input.
	UsePreviousOutput bool `json:"use_previous_output,omitempty"`
	// InputType is "text" (default) or "image".
	InputType string `json:"input_type,omitempty"`
	// JobNamePrefix names the stage's batch jobs and S3 folders; unique.
	JobNamePrefix string `json:"job_name_prefix"`
	// PromptConfig says which prompt each record gets.
	PromptConfig *PromptConfig `json:"prompt_config,omitempty"`
	// CategoryToPromptMapping maps the previous stage's category (lower
	// case, trimmed; key "default" as fallback) to a prompt id written into
	// the column PromptConfig.ColumnName.
	CategoryToPromptMapping map[string]string `json:"category_to_prompt_mapping,omitempty"`
	// ColumnMappings maps target column to source column of the previous
	// output: the source is renamed, or when absent the response is copied.
	ColumnMappings map[string]string `json:"column_mappings,omitempty"`
	// MaxNumJobs caps the number of batch jobs; 0 means no cap.
	MaxNumJobs int `json:"max_num_jobs,omitempty"`
	// MaxRecordsPerJob is the batch size; 0 means DefaultMaxRecordsPerJob.
	MaxRecordsPerJob int `json:"max_records_per_job,omitempty"`
}

// JobRequest returns the single-stage request that runs the stage on the
// given input (the stage's InputS3URI, or the transformed previous output).
func (s *Stage) JobRequest(inputS3URI string) JobRequest {
	j := JobRequest{
		S3URI:            inputS3URI,
		JobNamePrefix:    s.JobNamePrefix,
		ModelID:          s.ModelID,
		InputType:        s.InputType,
		MaxNumJobs:       s.MaxNumJobs,
		MaxRecordsPerJob: s.MaxRecordsPerJob,
		StageName:        s.StageName,
	}
	if s.PromptConfig != nil {
		pc := *s.PromptConfig
		j.PromptConfig = &pc
	}
	j.Normalize()
	return j
}

// Pipeline is a multi-stage run: stages execute in order, each optionally
// reading the previous one's output.
type Pipeline struct {
	// PipelineName names the pipeline in notifications.
	PipelineName string `json:"pipeline_name"`
	// PresignedURLExpiryDays is the lifetime of the notification's download
	// links; nil means DefaultPresignedURLExpiryDays. Use ExpiryDays.
	PresignedURLExpiryDays *int `json:"presigned_url_expiry_days,omitempty"`
	// Stages run in order.
	Stages []Stage `json:"stages"`
}

// ExpiryDays returns the presigned links' lifetime in days: the default
// when unset, clamped to 1..MaxPresignedURLExpiryDays.
func (p *Pipeline) ExpiryDays() int {
	if p.PresignedURLExpiryDays == nil {
		return DefaultPresignedURLExpiryDays
	}
	return ClampExpiryDays(*p.PresignedURLExpiryDays)
}

// ClampExpiryDays bounds a link lifetime to 1..MaxPresignedURLExpiryDays
// days, the range SigV4 presigning allows.
func ClampExpiryDays(days int) int {
	return min(max(days, 1), MaxPresignedURLExpiryDays)
}
