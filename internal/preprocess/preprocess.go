// Package preprocess is the first task of a batch run: it finds the input
// records (an S3 file, a folder of files or images, or a Hugging Face
// dataset), builds one Bedrock request per record and prompt, and packs
// them into batch job files in S3, streaming throughout so memory does not
// grow with the input.
package preprocess

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/bbo-dev/bbo/internal/batchio"
	"github.com/bbo-dev/bbo/internal/config"
	"github.com/bbo-dev/bbo/internal/hfdataset"
	"github.com/bbo-dev/bbo/internal/jobspec"
	"github.com/bbo-dev/bbo/internal/models"
	"github.com/bbo-dev/bbo/internal/requests"
	"github.com/bbo-dev/bbo/internal/s3io"
	"github.com/bbo-dev/bbo/internal/taskerr"
	"github.com/bbo-dev/bbo/prompts"
)

// Input is the task's event: {"request": <JobRequest>, "run_id": "<execution name>"}.
type Input struct {
	// Request is the job request, decoded strictly (unknown fields and
	// wrongly typed values are InvalidConfig).
	Request config.JobRequest `json:"request"`
	// RunID names the run (the Step Functions execution name); job names
	// end with its first six letters or digits. Empty means one derived
	// from the request.
	RunID string `json:"run_id"`
}

// UnmarshalJSON decodes the event, reading "request" with
// config.DecodeJobRequest so a misspelt field fails as InvalidConfig rather
// than being ignored. Unknown top-level fields are ignored.
func (in *Input) UnmarshalJSON(data []byte) error {
	var raw struct {
		Request json.RawMessage `json:"request"`
		RunID   string          `json:"run_id"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return taskerr.New(taskerr.InvalidConfig, "preprocess event is not {\"request\": {...}, \"run_id\": \"...\"}: %v", err)
	}
	if len(bytes.TrimSpace(raw.Request)) == 0 || string(bytes.TrimSpace(raw.Request)) == "null" {
		return taskerr.New(taskerr.InvalidConfig, "preprocess event has no \"request\": pass the job request as {\"request\": {...}}")
	}
	req, err := config.DecodeJobRequest(bytes.NewReader(raw.Request))
	if err != nil {
		return taskerr.Wrap(taskerr.InvalidConfig, fmt.Errorf("request: %w", err))
	}
	in.Request, in.RunID = *req, raw.RunID
	return nil
}

// Output is the task's result; the state machine maps over Jobs.
type Output struct {
	Jobs          []jobspec.JobConfig `json:"jobs"`
	StageName     string              `json:"stage_name"`
	JobNamePrefix string              `json:"job_name_prefix"`
	Summary       Summary             `json:"summary"`
}

// Summary counts what preprocessing did.
type Summary struct {
	// RecordsRead is every input row seen, including unreadable ones.
	RecordsRead int `json:"records_read"`
	// Requests is the number of requests written to jobs.
	Requests int `json:"requests"`
	// FailedRecords is the number of lines in the errors file: unreadable
	// rows and records (or expanded requests) that could not be built.
	FailedRecords int `json:"failed_records"`
	// ErrorsURI is the errors file, or "" when nothing failed.
	ErrorsURI string `json:"errors_uri"`
	// Truncated is set when max_num_jobs stopped reading early.
	Truncated bool `json:"truncated"`
	// MergedRemainder is the number of records appended to the last job
	// because they were too few for a job of their own.
	MergedRemainder int `json:"merged_remainder"`
	// SkippedFiles counts files under an input folder that were not read
	// because of their type (each is logged).
	SkippedFiles int `json:"skipped_files"`
}

// Handler runs preprocessing. Build one per process and reuse it; it is
// safe for concurrent use (each call has its own state).
type Handler struct {
	// S3 is the S3 client.
	S3 s3io.API
	// Bucket is the run bucket (BUCKET_NAME) all outputs go to.
	Bucket string
	// HF reads Hugging Face datasets; nil means the public Hub without a token.
	HF *hfdataset.Client
	// DefaultMaxRecordsPerJob is the job size for requests that set none
	// (env MAX_RECORDS_PER_JOB); 0 means 1000.
	DefaultMaxRecordsPerJob int
	// MinRecordsPerJob is Bedrock's minimum records per job; 0 means 100.
	// Lower it only for local emulators (env BBO_MIN_RECORDS_PER_JOB):
	// real Bedrock rejects smaller jobs.
	MinRecordsPerJob int
	// ImageConcurrency is how many records ahead of the request builder
	// have their images fetched at once for input_type "image"; 0 means
	// DefaultImageConcurrency (8) and 1 fetches one image at a time. It is
	// also the memory bound: at most this many images, each at most 3.75
	// MiB, are held at once (30 MiB at 8).
	ImageConcurrency int
	// Log receives progress and skip notes; nil means slog.Default().
	Log *slog.Logger
}

// FromEnv builds a Handler from the Lambda environment: BUCKET_NAME
// (required), HF_ENDPOINT, HF_TOKEN, MAX_RECORDS_PER_JOB,
// BBO_MIN_RECORDS_PER_JOB and BBO_IMAGE_CONCURRENCY.
func FromEnv(api s3io.API, getenv func(string) string, log *slog.Logger) (*Handler, error) {
	h := &Handler{S3: api, Bucket: getenv("BUCKET_NAME"), HF: hfdataset.FromEnv(getenv), Log: log}
	if h.Bucket == "" {
		return nil, errors.New("BUCKET_NAME is not set: set it to the run bucket")
	}
	for _, e := range []struct {
		name string
		dst  *int
	}{{"MAX_RECORDS_PER_JOB", &h.DefaultMaxRecordsPerJob}, {"BBO_MIN_RECORDS_PER_JOB", &h.MinRecordsPerJob},
		{"BBO_IMAGE_CONCURRENCY", &h.ImageConcurrency}} {
		v := strings.TrimSpace(getenv(e.name))
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s is %q: set a positive whole number or unset it", e.name, v)
		}
		*e.dst = n
	}
	return h, nil
}

func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}

func (h *Handler) minRecords() int {
	if h.MinRecordsPerJob > 0 {
		return h.MinRecordsPerJob
	}
	return batchio.DefaultMinRecordsPerJob
}

// validate normalizes and checks the request; every problem is reported in
// one InvalidConfig error.
func (h *Handler) validate(req *config.JobRequest) error {
	if req.MaxRecordsPerJob == 0 && h.DefaultMaxRecordsPerJob > 0 {
		req.MaxRecordsPerJob = h.DefaultMaxRecordsPerJob
	}
	req.Normalize()
	warns, err := req.Validate(prompts.Default(), models.Catalogue{})
	for _, w := range warns.Problems {
		h.log().Warn("job request note", slog.String("field", w.Field), slog.String("message", w.Message))
	}
	var ve *config.ValidationError
	if errors.As(err, &ve) && h.minRecords() < config.MinRecordsPerJob && req.MaxRecordsPerJob >= h.minRecords() && req.MaxRecordsPerJob <= config.MaxRecordsPerJob {
		// A lowered minimum (local emulator) allows smaller jobs than
		// validation, which knows only Bedrock's, would.
		kept := ve.Problems[:0:0]
		for _, p := range ve.Problems {
			if p.Field != "max_records_per_job" {
				kept = append(kept, p)
			}
		}
		err = nil
		if len(kept) > 0 {
			err = &config.ValidationError{Problems: kept}
		}
	}
	if err != nil {
		return taskerr.Wrap(taskerr.InvalidConfig, fmt.Errorf("job request: %w", err))
	}
	return nil
}

func (h *Handler) limits(req *config.JobRequest) batchio.Limits {
	lim := batchio.DefaultLimits()
	lim.MaxRecordsPerJob = req.MaxRecordsPerJob
	lim.MaxNumJobs = req.MaxNumJobs
	lim.MinRecordsPerJob = h.minRecords()
	return lim
}

// RunIDFor derives a run id from the request when the event has none: the
// first 12 hex digits of the SHA-256 of its JSON, so the same request gets
// the same job names.
func RunIDFor(req config.JobRequest) string {
	b, _ := json.Marshal(req)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}

// Handle runs preprocessing for one job request.
func (h *Handler) Handle(ctx context.Context, in Input) (Output, error) {
	req := in.Request
	if err := h.validate(&req); err != nil {
		return Output{}, err
	}
	if h.Bucket == "" {
		return Output{}, taskerr.New(taskerr.Internal, "preprocess has no bucket: set BUCKET_NAME")
	}
	lim := h.limits(&req)
	if err := lim.Validate(); err != nil {
		return Output{}, taskerr.Wrap(taskerr.InvalidConfig, err)
	}
	runID := in.RunID
	if runID == "" {
		runID = RunIDFor(req)
	}
	imgs := &s3Images{api: h.S3}
	var (
		src requests.ImageSource = imgs
		pf  *prefetcher
	)
	if req.InputType == config.InputImage {
		pf = newPrefetcher(imgs.FetchImage, req.ImageColumn, h.imageConcurrency())
		src = pf
	}
	builder, err := requests.New(requests.Options{
		ModelID:      req.ModelID,
		PromptConfig: req.EffectivePromptConfig(),
		InputType:    req.InputType,
		ImageColumn:  req.ImageColumn,
		Prompts:      prompts.Default(),
		Images:       src,
	})
	if err != nil {
		return Output{}, taskerr.Wrap(taskerr.InvalidConfig, fmt.Errorf("job request: %w", err))
	}
	st := &inputStats{}
	recs, err := h.open(ctx, &req, imgs, st)
	if err != nil {
		return Output{}, err
	}
	if pf != nil {
		recs = pf.wrap(ctx, recs)
	}
	prefix := req.JobNamePrefix
	sink := &jobSink{ctx: ctx, api: h.S3, bucket: h.Bucket, prefix: prefix, perJob: lim.MaxRecordsPerJob}
	packer, err := batchio.NewPacker(lim, batchio.JobSink[requests.Row](sink))
	if err != nil {
		return Output{}, taskerr.Wrap(taskerr.InvalidConfig, err)
	}
	fails := &failLog{ctx: ctx, api: h.S3, uri: s3io.URI{Bucket: h.Bucket, Key: "batch_errors/" + prefix + "/preprocess.jsonl"}}
	sum, perr := requests.Pack(ctx, recs, builder, packer, fails.add)
	if perr != nil {
		sink.abort(perr)
	}
	errorsURI, ferr := fails.close()
	out := Output{
		Jobs:          []jobspec.JobConfig{},
		StageName:     req.StageName,
		JobNamePrefix: prefix,
		Summary: Summary{
			RecordsRead:     sum.Records + fails.rowErrors,
			Requests:        sum.Requests,
			FailedRecords:   fails.n,
			ErrorsURI:       errorsURI,
			Truncated:       sum.Jobs.Truncated,
			MergedRemainder: sum.Jobs.Merged,
			SkippedFiles:    st.skipped,
		},
	}
	if perr != nil {
		return out, h.packError(perr, sum, fails, errorsURI)
	}
	if ferr != nil {
		return out, ferr
	}
	for _, j := range sum.Jobs.Jobs {
		nnnn := batchio.IndexName(j.Index)
		out.Jobs = append(out.Jobs, jobspec.JobConfig{
			JobIndex:         j.Index,
			JobName:          batchio.JobName(prefix, j.Index, runID),
			ModelID:          req.ModelID,
			JobNamePrefix:    prefix,
			S3URIInput:       sink.jsonURI(j.Index).String(),
			S3URIOutput:      s3io.URI{Bucket: h.Bucket, Key: "batch_outputs_json/" + prefix + "/" + nnnn + "/"}.String(),
			InputParquetPath: sink.parquetURI(j.Index).String(),
			Records:          j.Records,
		})
	}
	h.log().Info("preprocess done",
		slog.String("job_name_prefix", prefix), slog.Int("jobs", len(out.Jobs)),
		slog.Int("records_read", out.Summary.RecordsRead), slog.Int("requests", out.Summary.Requests),
		slog.Int("failed_records", out.Summary.FailedRecords), slog.String("errors_uri", errorsURI),
		slog.Bool("truncated", out.Summary.Truncated), slog.Int("merged_remainder", out.Summary.MergedRemainder),
		slog.Int("skipped_files", st.skipped))
	return out, nil
}

// packError names the error that stopped packing.
func (h *Handler) packError(err error, sum requests.Summary, fails *failLog, errorsURI string) error {
	var tooFew *batchio.TooFewRecordsError
	isTooFew := errors.As(err, &tooFew)
	if sum.Requests == 0 && fails.n > 0 && isTooFew {
		return taskerr.New(taskerr.InvalidInput, "no record could become a request (%d failed); first reasons: %s; every failure is listed in %s",
			fails.n, strings.Join(fails.first, "; "), errorsURI)
	}
	if isTooFew {
		msg := err.Error()
		if fails.n > 0 {
			msg += fmt.Sprintf(" (%d more records failed; see %s)", fails.n, errorsURI)
		}
		return taskerr.New(taskerr.TooFewRecords, "%s", msg)
	}
	return err
}
