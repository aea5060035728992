package config_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bbo-dev/bbo/internal/config"
	"github.com/bbo-dev/bbo/internal/models"
	"github.com/bbo-dev/bbo/prompts"
)

// The original sample's configs must validate clean against the real prompt
// library and model registry, not only against test doubles.
func TestOriginalConfigsAgainstRealCatalogue(t *testing.T) {
	files, err := filepath.Glob("testdata/clothing-analysis-*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no original configs in testdata: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			p, err := config.DecodePipeline(fh)
			if err != nil {
				t.Fatal(err)
			}
			warn, err := p.Validate(prompts.Default(), models.Catalogue{})
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if !warn.Empty() {
				t.Errorf("unexpected warnings: %s", warn)
			}
		})
	}
}

// Every example in pipeline-configs/ must decode and validate, so the
// README's commands run as written.
func TestShippedExampleConfigs(t *testing.T) {
	files, err := filepath.Glob("../../pipeline-configs/*.json")
	if err != nil || len(files) < 5 {
		t.Fatalf("expected the example configs in pipeline-configs/: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			kind, err := config.DetectKind(data)
			if err != nil {
				t.Fatal(err)
			}
			var warn config.Warnings
			switch kind {
			case config.KindPipeline:
				p, err := config.DecodePipeline(bytes.NewReader(data))
				if err != nil {
					t.Fatal(err)
				}
				warn, err = p.Validate(prompts.Default(), models.Catalogue{})
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
			default:
				r, err := config.DecodeJobRequest(bytes.NewReader(data))
				if err != nil {
					t.Fatal(err)
				}
				warn, err = r.Validate(prompts.Default(), models.Catalogue{})
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
			}
			if !warn.Empty() {
				t.Errorf("warnings: %s", warn)
			}
		})
	}
}

func TestMaxNumJobsAboveExecutionLimit(t *testing.T) {
	r := config.JobRequest{S3URI: "s3://b/in.csv", JobNamePrefix: "p", ModelID: "anthropic.claude-3-haiku-20240307-v1:0",
		PromptID: "joke_about_topic", MaxNumJobs: config.MaxJobsPerExecution + 1}
	_, err := r.Validate(prompts.Default(), models.Catalogue{})
	if err == nil || !strings.Contains(err.Error(), "max_num_jobs") || !strings.Contains(err.Error(), "raise max_records_per_job") {
		t.Fatalf("err = %v", err)
	}
	r.MaxNumJobs = config.MaxJobsPerExecution
	if _, err := r.Validate(prompts.Default(), models.Catalogue{}); err != nil {
		t.Fatalf("max_num_jobs at the limit: %v", err)
	}
}
