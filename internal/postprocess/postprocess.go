// Package postprocess turns a finished Bedrock batch job into its result
// table: it joins the job's output lines (every .jsonl.out Bedrock wrote) to
// the request rows preprocess kept and streams one parquet file per job to
// batch_output_parquet/<prefix>/NNNN.snappy.parquet. Failed records stay in
// the table as rows with an error.
package postprocess

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"strings"

	"github.com/bbo-dev/bbo/internal/batchio"
	"github.com/bbo-dev/bbo/internal/jobspec"
	"github.com/bbo-dev/bbo/internal/records"
	"github.com/bbo-dev/bbo/internal/results"
	"github.com/bbo-dev/bbo/internal/s3io"
	"github.com/bbo-dev/bbo/internal/taskerr"
	"github.com/bbo-dev/bbo/prompts"
)

// OutputSuffix ends the names of the files Bedrock writes output lines to.
const OutputSuffix = ".jsonl.out"

// OutputFolder is the top-level folder of the result tables.
const OutputFolder = "batch_output_parquet"

// manifestLimit bounds the manifest read: it is a few hundred bytes.
const manifestLimit = 1 << 20

// Handler runs postprocess. Build it once per process; it is safe for
// concurrent use.
type Handler struct {
	// S3 reads the job's files and writes the result table.
	S3 s3io.API
	// Bucket receives the result table (BUCKET_NAME). Empty means the bucket
	// of the job's input_parquet_path.
	Bucket string
	// Prompts is the library the job's prompts came from; nil means
	// prompts.Default().
	Prompts results.Prompts
	// Log receives progress and warnings; nil means slog.Default().
	Log *slog.Logger
}

// Stats counts the rows of the result table (JSON names are the contract).
type Stats struct {
	Rows         int   `json:"rows"`
	Succeeded    int   `json:"succeeded"`
	Failed       int   `json:"failed"`
	Missing      int   `json:"missing"`
	Unknown      int   `json:"unknown"`
	Malformed    int   `json:"malformed"`
	InputTokens  int64 `json:"input_tokens"`
	OutputTokens int64 `json:"output_tokens"`
}

// Output is what postprocess returns for one job.
type Output struct {
	// OutputPath is the result table, s3://B/batch_output_parquet/P/NNNN.snappy.parquet.
	OutputPath string `json:"output_path"`
	JobName    string `json:"job_name"`
	// Status is the job's Bedrock status, passed through.
	Status string `json:"status"`
	Stats  Stats  `json:"stats"`
	// OutputFiles lists the .jsonl.out objects read, in key order.
	OutputFiles []string `json:"output_files"`
	// Manifest is the job's manifest.json.out, when Bedrock wrote one.
	Manifest *batchio.Manifest `json:"manifest,omitempty"`
	// ManifestMismatch says how the manifest's counts differ from the
	// lines read; empty when they agree or there is no manifest.
	ManifestMismatch string `json:"manifest_mismatch,omitempty"`
}

// OutputPath returns where the result table of job index of a run with the
// given prefix goes.
func OutputPath(bucket, prefix string, index int) s3io.URI {
	return s3io.URI{Bucket: bucket, Key: OutputFolder + "/" + prefix + "/" + batchio.IndexName(index) + ".snappy.parquet"}
}

// Handle writes the result table of one finished job.
func (h *Handler) Handle(ctx context.Context, in jobspec.TaskItem) (Output, error) {
	log := h.Log
	if log == nil {
		log = slog.Default()
	}
	lib := h.Prompts
	if lib == nil {
		lib = prompts.Default()
	}
	log = log.With(slog.String("job_name", in.JobName), slog.String("job_arn", in.JobARN), slog.String("status", in.Status))
	out := Output{JobName: in.JobName, Status: in.Status, OutputFiles: []string{}}
	if err := checkItem(&in); err != nil {
		return out, err
	}
	if in.Status != jobspec.StatusCompleted && in.Status != jobspec.StatusPartiallyCompleted {
		log.Warn("postprocessing a job whose status is neither Completed nor PartiallyCompleted", slog.String("message", in.Message))
	}
	reqURI, err := s3io.ParseURI(in.InputParquetPath)
	if err != nil {
		return out, fmt.Errorf("job %s: input_parquet_path: %w", in.JobName, err)
	}
	outPrefix, err := s3io.ParseURI(in.S3URIOutput)
	if err != nil {
		return out, fmt.Errorf("job %s: s3_uri_output: %w", in.JobName, err)
	}
	outPrefix = outPrefix.Join(in.JobID() + "/")
	if !outPrefix.IsPrefix() {
		outPrefix.Key += "/"
	}
	bucket := h.Bucket
	if bucket == "" {
		bucket = reqURI.Bucket
	}
	dst := OutputPath(bucket, in.JobNamePrefix, in.JobIndex)
	out.OutputPath = dst.String()

	files, manifestURI, err := listOutputs(ctx, h.S3, outPrefix)
	if err != nil {
		return out, err
	}
	if len(files) == 0 {
		return out, taskerr.New(taskerr.OutputNotFound, "job %s (%s): no %s file under %s: Bedrock wrote no output for the job; check the job in the Bedrock console",
			in.JobName, in.JobARN, OutputSuffix, outPrefix)
	}
	for _, f := range files {
		out.OutputFiles = append(out.OutputFiles, f.String())
	}

	reqs, err := loadRequests(ctx, h.S3, reqURI)
	if err != nil {
		return out, fmt.Errorf("job %s: %w", in.JobName, err)
	}
	coll, err := results.NewCollector(in.ModelID, lib, reqs.PromptIDs())
	if err != nil {
		return out, taskerr.Wrap(taskerr.InvalidConfig, fmt.Errorf("job %s: %w", in.JobName, err))
	}

	var lines lineCounts
	w := s3io.Create(ctx, h.S3, dst, "application/vnd.apache.parquet")
	st, err := results.Write(w, reqs, coll, readOutputs(ctx, h.S3, files, &lines))
	if err != nil {
		w.Abort(err)
		return out, fmt.Errorf("job %s: write %s: %w", in.JobName, dst, err)
	}
	if err := w.Close(); err != nil {
		return out, fmt.Errorf("job %s: %w", in.JobName, err)
	}
	out.Stats = Stats(st)

	if manifestURI != nil {
		m, err := readManifest(ctx, h.S3, *manifestURI)
		if err != nil {
			// The table is written; a bad manifest only costs the check.
			log.Warn("cannot read the job's manifest", slog.String("manifest", manifestURI.String()), slog.String("error", err.Error()))
		} else {
			out.Manifest = &m
			out.ManifestMismatch = compareManifest(m, lines, reqs.Len())
		}
	} else if in.Manifest != nil {
		out.Manifest = in.Manifest
		out.ManifestMismatch = compareManifest(*in.Manifest, lines, reqs.Len())
	}
	if out.ManifestMismatch != "" {
		log.Warn("manifest counts differ from the output read", slog.String("mismatch", out.ManifestMismatch))
	}
	log.Info("postprocess done", slog.String("output_path", out.OutputPath), slog.Int("files", len(files)),
		slog.Int("rows", st.Rows), slog.Int("succeeded", st.Succeeded), slog.Int("failed", st.Failed),
		slog.Int("missing", st.Missing), slog.Int("unknown", st.Unknown), slog.Int("malformed", st.Malformed))
	return out, nil
}

// checkItem reports the fields postprocess cannot do without.
func checkItem(in *jobspec.TaskItem) error {
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"job_arn", in.JobARN}, {"job_name_prefix", in.JobNamePrefix}, {"model_id", in.ModelID},
		{"s3_uri_output", in.S3URIOutput}, {"input_parquet_path", in.InputParquetPath},
	} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return taskerr.New(taskerr.InvalidInput, "postprocess input for job %q lacks %s: it must be the TaskItem the job-state task sends",
			in.JobName, strings.Join(missing, ", "))
	}
	if in.JobIndex < 0 {
		return taskerr.New(taskerr.InvalidInput, "postprocess input for job %q has job_index %d: it must be 0 or more", in.JobName, in.JobIndex)
	}
	return nil
}

// listOutputs finds the job's output files (in key order) and manifest.
func listOutputs(ctx context.Context, c s3io.API, prefix s3io.URI) ([]s3io.URI, *s3io.URI, error) {
	var files []s3io.URI
	var manifest *s3io.URI
	for o, err := range s3io.List(ctx, c, prefix) {
		if err != nil {
			return nil, nil, err
		}
		switch {
		case strings.HasSuffix(o.URI.Key, OutputSuffix) && o.URI.Base() != batchio.ManifestName:
			files = append(files, o.URI)
		case o.URI.Base() == batchio.ManifestName && manifest == nil:
			u := o.URI
			manifest = &u
		}
	}
	return files, manifest, nil
}

// loadRequests reads the job's request rows (bounded by one job).
func loadRequests(ctx context.Context, c s3io.API, u s3io.URI) (*results.Requests, error) {
	ra, err := s3io.NewReaderAt(ctx, c, u)
	if err != nil {
		return nil, fmt.Errorf("request rows: %w", err)
	}
	reqs, err := results.LoadRequests(records.ReadParquet(ra, ra.Size(), u.String(), records.ReadOptions{}))
	if err != nil {
		return nil, taskerr.Wrap(taskerr.InvalidInput, fmt.Errorf("%s: %w", u, err))
	}
	return reqs, nil
}

// lineCounts counts the output lines by kind, for the manifest check.
type lineCounts struct {
	success, errors, malformed int64
}

// readOutputs streams the lines of every output file in turn, opening each
// only when the previous one is done.
func readOutputs(ctx context.Context, c s3io.API, files []s3io.URI, n *lineCounts) iter.Seq2[batchio.OutputLine, error] {
	return func(yield func(batchio.OutputLine, error) bool) {
		for _, f := range files {
			body, _, err := s3io.Open(ctx, c, f)
			if err != nil {
				yield(batchio.OutputLine{}, err)
				return
			}
			stop := false
			for line, err := range countLines(batchio.ReadOutput(body, f.String()), n) {
				if !yield(line, err) {
					stop = true
					break
				}
			}
			body.Close()
			if stop {
				return
			}
		}
	}
}

// countLines counts the lines of an output file by kind as they pass.
func countLines(lines iter.Seq2[batchio.OutputLine, error], n *lineCounts) iter.Seq2[batchio.OutputLine, error] {
	return func(yield func(batchio.OutputLine, error) bool) {
		for line, err := range lines {
			var le *batchio.LineError
			switch {
			case err == nil && line.Error != nil:
				n.errors++
			case err == nil:
				n.success++
			case errors.As(err, &le):
				n.malformed++
			}
			if !yield(line, err) {
				return
			}
		}
	}
}

func readManifest(ctx context.Context, c s3io.API, u s3io.URI) (batchio.Manifest, error) {
	b, err := s3io.ReadAll(ctx, c, u, manifestLimit)
	if err != nil {
		return batchio.Manifest{}, err
	}
	return batchio.ParseManifest(bytes.NewReader(b))
}

// compareManifest says how Bedrock's counts differ from the lines read and
// the requests sent ("" when they agree). Bedrock counts a record whose
// answer failed our output_schema as a success, so the comparison is with
// output lines, not with the table's failed rows.
func compareManifest(m batchio.Manifest, n lineCounts, requests int) string {
	var diffs []string
	if m.TotalRecordCount != int64(requests) {
		diffs = append(diffs, fmt.Sprintf("totalRecordCount %d but the job had %d requests", m.TotalRecordCount, requests))
	}
	if m.SuccessRecordCount != n.success {
		diffs = append(diffs, fmt.Sprintf("successRecordCount %d but %d output lines have modelOutput", m.SuccessRecordCount, n.success))
	}
	if m.ErrorRecordCount != n.errors+n.malformed {
		diffs = append(diffs, fmt.Sprintf("errorRecordCount %d but %d output lines have an error and %d are malformed", m.ErrorRecordCount, n.errors, n.malformed))
	}
	return strings.Join(diffs, "; ")
}
