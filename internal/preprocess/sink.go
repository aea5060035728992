package preprocess

import (
	"github.com/bbo-dev/bbo/internal/config"

	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/bbo-dev/bbo/internal/batchio"
	"github.com/bbo-dev/bbo/internal/images"
	"github.com/bbo-dev/bbo/internal/records"
	"github.com/bbo-dev/bbo/internal/requests"
	"github.com/bbo-dev/bbo/internal/s3io"
	"github.com/bbo-dev/bbo/internal/taskerr"
)

// jobSink writes each job as two streaming uploads: the Bedrock input
// JSONL and the request rows as parquet.
type jobSink struct {
	ctx    context.Context
	api    s3io.API
	bucket string
	prefix string
	perJob int          // max_records_per_job, for messages
	open   []*jobWriter // jobs not yet closed, for abort
}

func (s *jobSink) jsonURI(i int) s3io.URI {
	return s3io.URI{Bucket: s.bucket, Key: "batch_inputs_json/" + s.prefix + "/" + batchio.IndexName(i) + ".jsonl"}
}

func (s *jobSink) parquetURI(i int) s3io.URI {
	return s3io.URI{Bucket: s.bucket, Key: "batch_inputs_parquet/" + s.prefix + "/" + batchio.IndexName(i) + ".snappy.parquet"}
}

// Open starts job i.
func (s *jobSink) Open(i int) (batchio.JobWriter[requests.Row], error) {
	if i >= config.MaxJobsPerExecution {
		return nil, taskerr.New(taskerr.InvalidConfig,
			"the input needs more than %d jobs of max_records_per_job=%d records; one execution runs at most %d jobs (Step Functions' 256 KB state limit): raise max_records_per_job (Bedrock allows up to %d, i.e. %d records per execution) or split the input",
			config.MaxJobsPerExecution, s.perJob, config.MaxJobsPerExecution, config.MaxRecordsPerJob, config.MaxJobsPerExecution*config.MaxRecordsPerJob)
	}
	w := &jobWriter{
		sink:  s,
		json:  s3io.Create(s.ctx, s.api, s.jsonURI(i), "application/jsonl"),
		pqOut: s3io.Create(s.ctx, s.api, s.parquetURI(i), "application/vnd.apache.parquet"),
		pqURI: s.parquetURI(i),
	}
	s.open = append(s.open, w)
	return w, nil
}

// abort cancels the uploads of jobs still open after a failed run.
func (s *jobSink) abort(cause error) {
	for _, w := range s.open {
		w.json.Abort(cause)
		w.pqOut.Abort(cause)
	}
	s.open = nil
}

// jobWriter is one job's pair of uploads.
type jobWriter struct {
	sink   *jobSink
	json   *s3io.Writer
	pqOut  *s3io.Writer
	pqURI  s3io.URI
	pq     *records.ParquetWriter
	header *records.Header // request-row header
	reqIdx int
	pidIdx int
	vals   []string
}

// Add writes the request line and its row.
func (w *jobWriter) Add(it batchio.Item[requests.Row]) error {
	if _, err := w.json.Write(it.Line); err != nil {
		return err
	}
	rec := it.Value.Record
	if w.pq == nil {
		w.header = requests.RowHeader(rec.Header)
		w.reqIdx, _ = w.header.Index(requests.RequestIDColumn)
		w.pidIdx, _ = w.header.Index(requests.PromptIDColumn)
		pq, err := records.NewParquetWriter(w.pqOut, records.StringColumns(w.header))
		if err != nil {
			return fmt.Errorf("%s: %w", w.pqURI, err)
		}
		w.pq = pq
	}
	if len(rec.Values) > w.header.Len() {
		return fmt.Errorf("%s has %d values for the %d columns of %s", rec.Where(), len(rec.Values), w.header.Len(), w.pqURI)
	}
	// The input may already have request_id/prompt_id columns (a previous
	// stage's output): this request's values replace them.
	w.vals = append(w.vals[:0], rec.Values...)
	for len(w.vals) < w.header.Len() {
		w.vals = append(w.vals, "")
	}
	w.vals[w.reqIdx] = it.Value.RequestID
	w.vals[w.pidIdx] = it.Value.PromptID
	return w.pq.WriteRecord(records.Record{Header: w.header, Values: w.vals, Source: rec.Source})
}

// Close finishes both uploads.
func (w *jobWriter) Close() error {
	var errs []error
	if w.pq != nil {
		if err := w.pq.Close(); err != nil {
			w.pqOut.Abort(err)
			errs = append(errs, fmt.Errorf("%s: %w", w.pqURI, err))
		}
	}
	if len(errs) == 0 {
		if err := w.pqOut.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := w.json.Close(); err != nil {
		errs = append(errs, err)
	}
	for i, o := range w.sink.open {
		if o == w {
			w.sink.open = append(w.sink.open[:i], w.sink.open[i+1:]...)
			break
		}
	}
	return errors.Join(errs...)
}

// FailureLine is one line of batch_errors/<prefix>/preprocess.jsonl.
type FailureLine struct {
	RecordID string `json:"record_id"`
	Source   string `json:"source"`
	PromptID string `json:"prompt_id"`
	Reason   string `json:"reason"`
}

// failLog streams failures to the errors file, created on the first one.
type failLog struct {
	ctx       context.Context
	api       s3io.API
	uri       s3io.URI
	w         *s3io.Writer
	n         int
	rowErrors int
	first     []string
	err       error
}

// maxFirstReasons is how many failure reasons an all-failed error quotes.
const maxFirstReasons = 3

// add records one failure callback of requests.Pack: a *records.RowError,
// a *requests.RecordError or several joined.
func (f *failLog) add(err error) error {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			if err := f.add(e); err != nil {
				return err
			}
		}
		return nil
	}
	var line FailureLine
	var rowErr *records.RowError
	var recErr *requests.RecordError
	switch {
	case errors.As(err, &recErr):
		line = FailureLine{RecordID: recErr.RecordID, Source: recErr.Source, PromptID: recErr.PromptID, Reason: recErr.Reason}
		if recErr.Err != nil {
			line.Reason += ": " + recErr.Err.Error()
		}
	case errors.As(err, &rowErr):
		f.rowErrors++
		line = FailureLine{Source: fmt.Sprintf("%s line %d", rowErr.Source, rowErr.Line), Reason: rowErr.Err.Error()}
	default:
		line = FailureLine{Reason: err.Error()}
	}
	f.n++
	if len(f.first) < maxFirstReasons {
		f.first = append(f.first, err.Error())
	}
	if f.err != nil {
		return f.err
	}
	if f.w == nil {
		f.w = s3io.Create(f.ctx, f.api, f.uri, "application/jsonl")
	}
	b, merr := json.Marshal(line)
	if merr != nil {
		f.err = merr
		return merr
	}
	if _, werr := f.w.Write(append(b, '\n')); werr != nil {
		f.err = werr
		return werr
	}
	return nil
}

// close finishes the errors file and returns its URI ("" if none).
func (f *failLog) close() (string, error) {
	if f.w == nil {
		return "", nil
	}
	if err := f.w.Close(); err != nil {
		return "", err
	}
	return f.uri.String(), nil
}

// s3Images fetches images for the request builder: a HEAD first, so an
// oversized image is rejected without downloading it.
type s3Images struct {
	api s3io.API
	// base resolves image paths that are not s3:// URIs: they are keys
	// relative to the input file's folder (or the input prefix); ".."
	// works, leaving the bucket does not.
	base s3io.URI
}

// FetchImage returns the bytes of the image at path.
func (s *s3Images) FetchImage(ctx context.Context, p string) ([]byte, error) {
	var u s3io.URI
	if strings.HasPrefix(p, "s3://") {
		var err error
		if u, err = s3io.ParseURI(p); err != nil {
			return nil, err
		}
	} else {
		if s.base.Bucket == "" {
			return nil, fmt.Errorf("image path %q is not an s3:// URI", p)
		}
		u = s.base.Join(p)
		u.Key = path.Clean(u.Key)
		if u.Key == ".." || strings.HasPrefix(u.Key, "../") || strings.HasPrefix(u.Key, "/") {
			return nil, fmt.Errorf("image path %q leaves the bucket: use an s3:// URI", p)
		}
	}
	size, err := s3io.Size(ctx, s.api, u)
	if err != nil {
		if taskerr.Name(err) == taskerr.InputNotFound {
			return nil, fmt.Errorf("%s does not exist", u)
		}
		return nil, err
	}
	if err := images.CheckSize(size); err != nil {
		return nil, err
	}
	return readImage(ctx, s.api, u, size)
}

// readImage GETs an image into a slice of exactly its size, so a held image
// costs its size and no more (the prefetch bound counts on it). headSize is
// the size a HEAD reported; the GET's own length wins if the object changed.
func readImage(ctx context.Context, api s3io.API, u s3io.URI, headSize int64) ([]byte, error) {
	body, size, err := s3io.Open(ctx, api, u)
	if err != nil {
		if taskerr.Name(err) == taskerr.InputNotFound {
			return nil, fmt.Errorf("%s does not exist", u)
		}
		return nil, err
	}
	defer body.Close()
	if size <= 0 {
		size = headSize
	}
	if err := images.CheckSize(size); err != nil {
		return nil, err
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(body, data); err != nil {
		return nil, taskerr.Wrap(taskerr.Transient, fmt.Errorf("read %s: %w; it was replaced while being read, or the connection broke: retry", u, err))
	}
	var extra [1]byte
	if n, _ := body.Read(extra[:]); n > 0 {
		return nil, taskerr.Wrap(taskerr.Transient, fmt.Errorf("read %s: it is longer than the %d bytes announced; it was replaced while being read: retry", u, size))
	}
	return data, nil
}
