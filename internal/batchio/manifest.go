package batchio

import (
	"encoding/json"
	"fmt"
	"io"
)

// ManifestName is the name of the summary file Bedrock writes next to a
// job's output files.
const ManifestName = "manifest.json.out"

// Manifest is a job's manifest.json.out: record and token counts.
type Manifest struct {
	TotalRecordCount     int64 `json:"totalRecordCount"`
	ProcessedRecordCount int64 `json:"processedRecordCount"`
	SuccessRecordCount   int64 `json:"successRecordCount"`
	ErrorRecordCount     int64 `json:"errorRecordCount"`
	InputTokenCount      int64 `json:"inputTokenCount"`
	OutputTokenCount     int64 `json:"outputTokenCount"`
}

// ParseManifest reads a manifest.json.out. Unknown fields are ignored.
func ParseManifest(r io.Reader) (Manifest, error) {
	var m Manifest
	if err := json.NewDecoder(r).Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("parse %s: %w", ManifestName, err)
	}
	return m, nil
}
