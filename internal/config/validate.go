package config

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/bbo-dev/bbo/prompts"
)

// Prompts is the prompt library validation checks prompt ids against
// (*prompts.Library satisfies it).
type Prompts interface {
	Get(id string) (*prompts.Template, bool)
	IDs() []string
}

// Models is the model catalogue validation checks model ids against.
type Models interface {
	Known(modelID string) bool
	SupportsImages(modelID string) bool
	IsEmbedding(modelID string) bool
}

var modes = []string{ModeSingle, ModeMapped, ModeExpanded}

// Validate checks the whole pipeline and returns notes on ignored or
// adjusted settings, and a *ValidationError listing every problem (nil when
// the pipeline can run).
func (p *Pipeline) Validate(pr Prompts, m Models) (Warnings, error) {
	v := &validator{pr: pr, m: m, stage: -1}
	if strings.TrimSpace(p.PipelineName) == "" {
		v.errf("pipeline_name", "missing: give the pipeline a name; notifications use it")
	}
	if d := p.PresignedURLExpiryDays; d != nil {
		switch {
		case *d < 1:
			v.errf("presigned_url_expiry_days", "is %d: download links must live at least 1 day; set 1..%d or leave it out for %d",
				*d, MaxPresignedURLExpiryDays, DefaultPresignedURLExpiryDays)
		case *d > MaxPresignedURLExpiryDays:
			v.warnf("presigned_url_expiry_days", "is %d: presigned links live at most %d days (the SigV4 maximum), so %d is used",
				*d, MaxPresignedURLExpiryDays, MaxPresignedURLExpiryDays)
		}
	}
	if len(p.Stages) == 0 {
		v.errf("stages", "missing: a pipeline needs at least one stage")
	}
	names := map[string]int{}
	prefixes := map[string]int{}
	for i := range p.Stages {
		s := &p.Stages[i]
		v.stage, v.stageName = i, s.StageName
		v.stageChecks(s, i)
		if s.StageName != "" {
			if j, dup := names[s.StageName]; dup {
				v.errf("stage_name", "%q is already the name of stages[%d]: stage names must be unique", s.StageName, j)
			} else {
				names[s.StageName] = i
			}
		}
		if s.JobNamePrefix != "" {
			if j, dup := prefixes[s.JobNamePrefix]; dup {
				v.errf("job_name_prefix", "%q is already used by stages[%d]: the stages would overwrite each other's files under batch_output_parquet/%s/; make it unique",
					s.JobNamePrefix, j, s.JobNamePrefix)
			} else {
				prefixes[s.JobNamePrefix] = i
			}
		}
	}
	return v.result()
}

func (v *validator) stageChecks(s *Stage, i int) {
	if strings.TrimSpace(s.StageName) == "" {
		v.errf("stage_name", "missing: give every stage a unique name")
	}
	v.model(s.ModelID, s.InputType)
	switch {
	case i == 0 && s.UsePreviousOutput:
		v.errf("use_previous_output", "the first stage has no previous output: remove use_previous_output and set input_s3_uri")
	case i > 0 && !s.UsePreviousOutput && s.InputS3URI == "":
		v.errf("input_s3_uri", "missing: a later stage reads input_s3_uri or, with \"use_previous_output\": true, the previous stage's output; set one")
	case i > 0 && s.UsePreviousOutput && s.InputS3URI != "":
		v.warnf("input_s3_uri", "ignored: the stage reads the previous stage's output because use_previous_output is true")
	}
	if i == 0 && s.InputS3URI == "" {
		v.errf("input_s3_uri", "missing: the first stage reads its records from input_s3_uri (s3://<bucket>/<key or prefix>)")
	}
	if s.InputS3URI != "" {
		v.s3URI("input_s3_uri", s.InputS3URI)
	}
	v.jobNamePrefix(s.JobNamePrefix)
	v.batchSizes(s.MaxNumJobs, s.MaxRecordsPerJob)
	if s.PromptConfig == nil {
		v.missingPrompt(s.ModelID)
	} else {
		v.promptConfig(*s.PromptConfig, false)
	}

	if len(s.CategoryToPromptMapping) > 0 {
		mapped := s.PromptConfig != nil && s.PromptConfig.Mode == ModeMapped
		switch {
		case !mapped:
			v.warnf("category_to_prompt_mapping", "ignored: it fills prompt_config.column_name, which only mapped mode reads; set prompt_config.mode to \"mapped\" to use it")
		case !s.UsePreviousOutput:
			v.warnf("category_to_prompt_mapping", "ignored: it maps the previous stage's categories, so it applies only with \"use_previous_output\": true")
		}
		for _, k := range sortedKeys(s.CategoryToPromptMapping) {
			v.promptRef(join("category_to_prompt_mapping", k), s.CategoryToPromptMapping[k], false)
		}
	}
	if len(s.ColumnMappings) > 0 && !s.UsePreviousOutput {
		v.warnf("column_mappings", "ignored: it renames the previous stage's output columns, so it applies only with \"use_previous_output\": true")
	}
	for _, k := range sortedKeys(s.ColumnMappings) {
		if strings.TrimSpace(k) == "" {
			v.errf("column_mappings", "has an empty target column name: map a column name to a source column")
		}
		if strings.TrimSpace(s.ColumnMappings[k]) == "" {
			v.errf(join("column_mappings", k), "empty source column: name the previous output's column to copy (usually \"response\")")
		}
	}
}

// Validate checks the job request and returns notes on ignored or adjusted
// settings, and a *ValidationError listing every problem (nil when the
// request can run).
func (j *JobRequest) Validate(pr Prompts, m Models) (Warnings, error) {
	v := &validator{pr: pr, m: m, stage: -1, stageName: j.StageName}
	switch {
	case j.S3URI != "" && j.DatasetID != "":
		v.errf("s3_uri", "set either s3_uri or dataset_id, not both")
	case j.S3URI == "" && j.DatasetID == "":
		v.errf("s3_uri", "missing: set s3_uri (s3://<bucket>/<key or prefix>) or dataset_id (a Hugging Face dataset id)")
	case j.S3URI != "":
		v.s3URI("s3_uri", j.S3URI)
	}
	if j.Split != "" && j.DatasetID == "" {
		v.warnf("split", "ignored: split applies only to dataset_id input")
	}
	if j.ImageColumn != "" && j.InputType != InputImage {
		v.warnf("image_column", "ignored: image_column applies only to input_type \"image\"")
	}
	v.model(j.ModelID, j.InputType)
	v.jobNamePrefix(j.JobNamePrefix)
	v.batchSizes(j.MaxNumJobs, j.MaxRecordsPerJob)
	switch {
	case j.PromptConfig != nil && j.PromptID != "":
		v.errf("prompt_id", "set prompt_config or the legacy prompt_id, not both")
	case j.PromptConfig != nil:
		v.promptConfig(*j.PromptConfig, false)
	case j.PromptID != "":
		v.promptConfig(j.EffectivePromptConfig(), true)
	default:
		v.missingPrompt(j.ModelID)
	}
	return v.result()
}

// missingPrompt reports a stage or request without a prompt, which only an
// embedding model can run: it embeds the input_text column as it is (as
// the original did).
func (v *validator) missingPrompt(modelID string) {
	if modelID != "" && v.m.Known(modelID) && v.m.IsEmbedding(modelID) {
		return
	}
	v.errf("prompt_config", `missing: say which prompt each record gets, e.g. {"mode": "single", "prompt_id": "joke_about_topic"} (only embedding models may omit it; they embed the input_text column)`)
}

type validator struct {
	pr        Prompts
	m         Models
	stage     int
	stageName string
	errs      []Problem
	warns     []Problem
}

func (v *validator) errf(field, format string, args ...any) {
	v.errs = append(v.errs, Problem{Stage: v.stage, StageName: v.stageName, Field: field, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) warnf(field, format string, args ...any) {
	v.warns = append(v.warns, Problem{Stage: v.stage, StageName: v.stageName, Field: field, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) result() (Warnings, error) {
	w := Warnings{Problems: v.warns}
	if len(v.errs) > 0 {
		return w, &ValidationError{Problems: v.errs}
	}
	return w, nil
}

func (v *validator) model(id, inputType string) {
	switch {
	case strings.TrimSpace(id) == "":
		v.errf("model_id", "missing: set the Bedrock model or inference profile id, e.g. \"anthropic.claude-3-haiku-20240307-v1:0\"")
	case !v.m.Known(id):
		v.errf("model_id", "%s is not a model bbo supports: check the id, including any inference-profile region prefix such as \"us.\"", quoteShort(id))
	}
	switch inputType {
	case "", InputText:
	case InputImage:
		if id != "" && v.m.Known(id) && !v.m.SupportsImages(id) {
			v.errf("input_type", "model %q does not accept images: pick a model with image support or use input_type \"text\"", id)
		}
	default:
		v.errf("input_type", "%s is not an input type: use \"text\" or \"image\"", quoteShort(inputType))
	}
}

func (v *validator) s3URI(field, uri string) {
	rest, ok := strings.CutPrefix(uri, "s3://")
	bucket, _, _ := strings.Cut(rest, "/")
	if !ok || bucket == "" {
		v.errf(field, "%s is not an S3 URI: write s3://<bucket>/<key or prefix>", quoteShort(uri))
	}
}

// jobNamePrefix checks what Bedrock allows in job names: letters, digits
// and '-', starting with a letter or digit, at most 63 characters including
// the "-part-NNNN-xxxxxx" suffix bbo appends.
func (v *validator) jobNamePrefix(p string) {
	if p == "" {
		v.errf("job_name_prefix", "missing: set a short name for the stage's batch jobs and S3 folders, e.g. \"stage1-classify\"")
		return
	}
	var bad []string
	for _, c := range p {
		ok := c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !ok && !slices.Contains(bad, string(c)) {
			bad = append(bad, string(c))
		}
	}
	if len(bad) > 0 {
		v.errf("job_name_prefix", "%s contains %s: Bedrock job names allow only letters, digits and '-'", quoteShort(p), quoteList(bad))
	} else if p[0] == '-' {
		v.errf("job_name_prefix", "%s starts with '-': Bedrock job names start with a letter or digit", quoteShort(p))
	}
	if len(p) > MaxJobNamePrefixLen {
		v.errf("job_name_prefix", "is %d characters long: keep it at most %d so the job name (prefix + \"-part-NNNN-\" + 6 characters) stays within Bedrock's 63-character limit",
			len(p), MaxJobNamePrefixLen)
	}
}

func (v *validator) batchSizes(maxJobs, perJob int) {
	switch {
	case maxJobs < 0:
		v.errf("max_num_jobs", "is %d: use 0 or leave it out for no cap, or a positive number of jobs", maxJobs)
	case maxJobs > MaxJobsPerExecution:
		v.errf("max_num_jobs", "is %d: one execution runs at most %d jobs (Step Functions' 256 KB state limit); raise max_records_per_job (up to %d) instead",
			maxJobs, MaxJobsPerExecution, MaxRecordsPerJob)
	}
	if perJob != 0 && (perJob < MinRecordsPerJob || perJob > MaxRecordsPerJob) {
		v.errf("max_records_per_job", "is %d: Bedrock batch jobs take at least %d and at most %d records; set a value in %d..%d (default %d)",
			perJob, MinRecordsPerJob, MaxRecordsPerJob, MinRecordsPerJob, MaxRecordsPerJob, DefaultMaxRecordsPerJob)
	}
}

// promptConfig checks a prompt configuration; legacy means it came from a
// job request's top-level prompt_id, so problems name that field.
func (v *validator) promptConfig(pc PromptConfig, legacy bool) {
	field := func(f string) string {
		if legacy {
			return f
		}
		return "prompt_config." + f
	}
	ignored := func(f, mode string) {
		v.warnf(field(f), "ignored in %s mode", mode)
	}
	switch pc.Mode {
	case ModeSingle:
		if pc.PromptID == "" {
			v.errf(field("prompt_id"), "missing: single mode renders one prompt for every record; name it")
		} else {
			v.promptRef(field("prompt_id"), pc.PromptID, false)
		}
		if pc.ColumnName != "" {
			ignored("column_name", pc.Mode)
		}
		if pc.CategoryColumn != "" {
			ignored("category_column", pc.Mode)
		}
		if len(pc.ExpansionMapping) > 0 {
			ignored("expansion_mapping", pc.Mode)
		}
	case ModeMapped:
		if pc.ColumnName == "" {
			v.errf(field("column_name"), "missing: mapped mode reads each record's prompt id from this column; name it")
		}
		if pc.PromptID != "" {
			ignored("prompt_id", pc.Mode)
		}
		if pc.CategoryColumn != "" {
			ignored("category_column", pc.Mode)
		}
		if len(pc.ExpansionMapping) > 0 {
			ignored("expansion_mapping", pc.Mode)
		}
	case ModeExpanded:
		if pc.CategoryColumn == "" {
			v.errf(field("category_column"), "missing: expanded mode picks each record's expansion rule by this column's value; name it")
		}
		if len(pc.ExpansionMapping) == 0 {
			v.errf(field("expansion_mapping"), `missing: map category values (and "default") to expansion rules, e.g. {"default": "detailed_clothing_analysis"}`)
		}
		for _, k := range sortedKeys(pc.ExpansionMapping) {
			v.promptRef(join(field("expansion_mapping"), k), pc.ExpansionMapping[k], true)
		}
		if pc.PromptID != "" {
			ignored("prompt_id", pc.Mode)
		}
		if pc.ColumnName != "" {
			ignored("column_name", pc.Mode)
		}
	case "":
		v.errf(field("mode"), `missing: set "single", "mapped" or "expanded"`)
	default:
		v.errf(field("mode"), `%s is not a mode: use "single", "mapped" or "expanded"%s`, quoteShort(pc.Mode), suggest(pc.Mode, modes))
	}
}

// promptRef checks that id names a prompt (rule=false) or an expansion
// rule (rule=true) of the library.
func (v *validator) promptRef(field, id string, rule bool) {
	if strings.TrimSpace(id) == "" {
		v.errf(field, "empty prompt id: name a template of the prompt library")
		return
	}
	t, ok := v.pr.Get(id)
	switch {
	case !ok:
		hint := suggest(id, v.pr.IDs())
		if hint == "" {
			hint = "; docs/prompts.md lists the shipped ids"
		}
		v.errf(field, "unknown prompt %s%s", quoteShort(id), hint)
	case !rule && t.IsExpansion():
		v.errf(field, "%q is an expansion rule, not a prompt: use mode \"expanded\" with an expansion_mapping to it, or name one of its prompts (%s)",
			id, strings.Join(t.Expansion, ", "))
	case rule && !t.IsExpansion():
		v.errf(field, "%q is a prompt, not an expansion rule: expanded mode maps categories to rules (%s); for one prompt per record use mode \"single\" or \"mapped\"",
			id, strings.Join(v.rules(), ", "))
	}
}

func (v *validator) rules() []string {
	var out []string
	for _, id := range v.pr.IDs() {
		if t, ok := v.pr.Get(id); ok && t.IsExpansion() {
			out = append(out, id)
		}
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}
