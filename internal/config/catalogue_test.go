package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/bbo-dev/bbo/internal/config"
	"github.com/bbo-dev/bbo/internal/models"
	"github.com/bbo-dev/bbo/prompts"
)

// catalogue is the real model registry, as the Lambdas and CLI use it.
type catalogue struct{}

func (catalogue) Known(id string) bool          { return models.Known(id) }
func (catalogue) SupportsImages(id string) bool { return models.SupportsImages(id) }
func (catalogue) IsEmbedding(id string) bool    { return models.IsEmbedding(id) }

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
			warn, err := p.Validate(prompts.Default(), catalogue{})
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if !warn.Empty() {
				t.Errorf("unexpected warnings: %s", warn)
			}
		})
	}
}
