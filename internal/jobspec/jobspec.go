// Package jobspec holds the events that describe one Bedrock batch job as it
// moves through the state machine: the JobConfig preprocess emits and the
// TaskItem the job-state handler hands to postprocess. The JSON field names
// are the contract between the tasks.
package jobspec

import (
	"strings"

	"github.com/bbo-dev/bbo/internal/batchio"
)

// JobConfig describes one Bedrock batch job: preprocess emits one per job
// and start-job submits it.
type JobConfig struct {
	// JobIndex is the job's position (NNNN in S3 keys is batchio.IndexName(JobIndex)).
	JobIndex int `json:"job_index"`
	// JobName is the Bedrock job name, "<prefix>-part-NNNN-<run6>".
	JobName string `json:"job_name"`
	// ModelID is the Bedrock model or inference profile id.
	ModelID string `json:"model_id"`
	// JobNamePrefix names the run's S3 folders.
	JobNamePrefix string `json:"job_name_prefix"`
	// S3URIInput is the Bedrock input JSONL, s3://B/batch_inputs_json/P/NNNN.jsonl.
	S3URIInput string `json:"s3_uri_input"`
	// S3URIOutput is the folder Bedrock writes under, s3://B/batch_outputs_json/P/NNNN/.
	S3URIOutput string `json:"s3_uri_output"`
	// InputParquetPath holds the job's request rows for the join,
	// s3://B/batch_inputs_parquet/P/NNNN.snappy.parquet.
	InputParquetPath string `json:"input_parquet_path"`
	// Records is the number of requests in the job.
	Records int `json:"records"`
}

// Job statuses a TaskItem reaches postprocess with.
const (
	StatusCompleted          = "Completed"
	StatusPartiallyCompleted = "PartiallyCompleted"
)

// TaskItem is a finished job: its JobConfig and what Bedrock reported. The
// job-state handler sends it with SendTaskSuccess; postprocess reads it.
type TaskItem struct {
	JobConfig
	// JobARN is the Bedrock job ARN; its last segment is the job id Bedrock
	// uses as the output folder name.
	JobARN string `json:"job_arn"`
	// Status is Bedrock's final status (Completed or PartiallyCompleted).
	Status string `json:"status"`
	// Message is Bedrock's status message, if any.
	Message string `json:"message"`
	// Manifest is the job's manifest.json.out when the job-state handler
	// read it; nil otherwise.
	Manifest *batchio.Manifest `json:"manifest"`
}

// JobID is the last segment of the job ARN (after the final '/'), the name
// of the folder Bedrock writes the job's output into.
func (t *TaskItem) JobID() string {
	return t.JobARN[strings.LastIndexByte(t.JobARN, '/')+1:]
}
