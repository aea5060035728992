package preprocess

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"path"
	"slices"
	"strings"

	"github.com/bbo-dev/bbo/internal/config"
	"github.com/bbo-dev/bbo/internal/hfdataset"
	"github.com/bbo-dev/bbo/internal/records"
	"github.com/bbo-dev/bbo/internal/s3io"
	"github.com/bbo-dev/bbo/internal/taskerr"
)

// Table formats, picked by file extension (case-insensitive).
const (
	kindCSV     = "csv"
	kindJSONL   = "jsonl"
	kindParquet = "parquet"
)

// SupportedTableExtensions lists the file extensions read as tables; .json
// is read as JSON Lines (one object per line).
var SupportedTableExtensions = []string{".csv", ".jsonl", ".json", ".parquet"}

const imageExtensions = ".jpg .jpeg .png .gif .webp"

// tableKind returns the table format of a key, or "".
func tableKind(key string) string {
	switch strings.ToLower(path.Ext(key)) {
	case ".csv":
		return kindCSV
	case ".jsonl", ".json":
		return kindJSONL
	case ".parquet":
		return kindParquet
	}
	return ""
}

// inputStats counts what discovery saw besides records.
type inputStats struct {
	files   int // table files read
	skipped int // files skipped for their type
}

// open finds the request's input and returns its records as one stream.
// Problems found before any record (missing input, unsupported type) are
// returned directly; problems found while reading are yielded.
func (h *Handler) open(ctx context.Context, req *config.JobRequest, imgs *s3Images, st *inputStats) (iter.Seq2[records.Record, error], error) {
	if req.DatasetID != "" {
		return h.openDataset(ctx, req, st)
	}
	u, err := s3io.ParseURI(req.S3URI)
	if err != nil {
		return nil, err
	}
	image := req.InputType == config.InputImage
	if !u.IsPrefix() {
		size, err := s3io.Size(ctx, h.S3, u)
		switch {
		case err == nil:
			imgs.base = s3io.URI{Bucket: u.Bucket, Key: u.Key[:strings.LastIndexByte(u.Key, '/')+1]}
			return h.openObject(ctx, s3io.Object{URI: u, Size: size}, image, st)
		case !s3io.IsNotFound(err):
			return nil, err
		}
		// No such object: maybe a folder given without its trailing slash.
		u.Key += "/"
	}
	imgs.base = u
	// The first image or table file under the prefix decides what the
	// prefix holds: image input reads either a folder of images or tables
	// of image paths (such as a previous stage's output).
	var first *s3io.Object
	tables := false
	for obj, err := range s3io.List(ctx, h.S3, u) {
		if err != nil {
			return nil, err
		}
		if first == nil {
			first = &obj
		}
		if records.IsImageKey(obj.URI.Key) {
			break
		}
		if tableKind(obj.URI.Key) != "" {
			tables = true
			break
		}
	}
	if first == nil {
		return nil, taskerr.New(taskerr.InputNotFound, "nothing found at %s: no such object and no objects under that prefix; check s3_uri", req.S3URI)
	}
	if image && !tables {
		return h.imageFolder(ctx, u, st), nil
	}
	return h.tables(ctx, s3io.List(ctx, h.S3, u), true, st, func() error {
		return taskerr.New(taskerr.InputNotFound, "no table files under %s (%d other files skipped); supported: %s",
			u, st.skipped, strings.Join(SupportedTableExtensions, " "))
	}), nil
}

// openObject reads one object named by s3_uri.
func (h *Handler) openObject(ctx context.Context, obj s3io.Object, image bool, st *inputStats) (iter.Seq2[records.Record, error], error) {
	if image && records.IsImageKey(obj.URI.Key) {
		rec := records.ImageRecord(obj.URI.String())
		return func(yield func(records.Record, error) bool) { yield(rec, nil) }, nil
	}
	if tableKind(obj.URI.Key) == "" {
		ext := path.Ext(obj.URI.Key)
		if ext == "" {
			ext = "(none)"
		}
		hint := ""
		if image {
			hint = "; for images, point s3_uri at a folder (ending in /) of " + imageExtensions + " files"
		}
		return nil, taskerr.New(taskerr.InvalidInput, "%s has extension %s, which bbo cannot read: supported: %s%s",
			obj.URI, ext, strings.Join(SupportedTableExtensions, " "), hint)
	}
	one := func(yield func(s3io.Object, error) bool) { yield(obj, nil) }
	return h.tables(ctx, one, false, st, nil), nil
}

// openDataset copies the dataset's parquet shards into the bucket and reads
// them.
func (h *Handler) openDataset(ctx context.Context, req *config.JobRequest, st *inputStats) (iter.Seq2[records.Record, error], error) {
	hf := h.HF
	if hf == nil {
		hf = hfdataset.New("", "", nil)
	}
	shards, err := hf.CopyToS3(ctx, h.S3, h.Bucket, req.DatasetID, req.Split)
	if err != nil {
		return nil, err
	}
	for _, s := range shards {
		h.log().Info("copied dataset shard", slog.String("dataset_id", req.DatasetID), slog.String("split", req.Split),
			slog.String("s3_uri", s.URI.String()), slog.Int64("bytes", s.Size))
	}
	objs := func(yield func(s3io.Object, error) bool) {
		for _, s := range shards {
			if !yield(s3io.Object{URI: s.URI, Size: s.Size}, nil) {
				return
			}
		}
	}
	return h.tables(ctx, objs, len(shards) > 1, st, func() error {
		return taskerr.New(taskerr.InputNotFound, "Hugging Face dataset %q split %q has no parquet shards", req.DatasetID, req.Split)
	}), nil
}

// imageFolder yields one record per image under the prefix, in key order.
func (h *Handler) imageFolder(ctx context.Context, prefix s3io.URI, st *inputStats) iter.Seq2[records.Record, error] {
	return func(yield func(records.Record, error) bool) {
		n := 0
		for obj, err := range s3io.List(ctx, h.S3, prefix) {
			if err != nil {
				yield(records.Record{}, err)
				return
			}
			if !records.IsImageKey(obj.URI.Key) {
				h.skip(obj, "not an image ("+imageExtensions+")", st)
				continue
			}
			n++
			if !yield(records.ImageRecord(obj.URI.String()), nil) {
				return
			}
		}
		if n == 0 {
			yield(records.Record{}, taskerr.New(taskerr.InputNotFound, "No images found under %s; supported: %s", prefix, imageExtensions))
		}
	}
}

func (h *Handler) skip(obj s3io.Object, why string, st *inputStats) {
	if strings.HasSuffix(obj.URI.Key, "/") && obj.Size == 0 {
		return // a folder marker, not a file
	}
	st.skipped++
	h.log().Warn("skipped input file", slog.String("s3_uri", obj.URI.String()), slog.String("reason", why))
}

// tables reads table files one after another. With multi, each file's
// generated ids get their own prefix (f0001-, f0002-, ...) so they stay
// unique, and every file must have the same columns as the first, because
// a job's request rows share one parquet schema. none, if set, is the error
// when no table file was found.
func (h *Handler) tables(ctx context.Context, objs iter.Seq2[s3io.Object, error], multi bool, st *inputStats, none func() error) iter.Seq2[records.Record, error] {
	return func(yield func(records.Record, error) bool) {
		var (
			first    *records.Header
			firstURI string
		)
		for obj, err := range objs {
			if err != nil {
				yield(records.Record{}, err)
				return
			}
			kind := tableKind(obj.URI.Key)
			if kind == "" {
				h.skip(obj, "not a table file ("+strings.Join(SupportedTableExtensions, " ")+")", st)
				continue
			}
			st.files++
			var opts records.ReadOptions
			if multi {
				opts.IDPrefix = fmt.Sprintf("f%04d-", st.files)
			}
			var last *records.Header
			for rec, err := range h.readTable(ctx, obj, kind, opts) {
				if err != nil {
					var rowErr *records.RowError
					if !errors.As(err, &rowErr) {
						yield(records.Record{}, taskerr.Wrap(taskerr.InvalidInput, err))
						return
					}
					if !yield(records.Record{}, err) {
						return
					}
					continue
				}
				if rec.Header != last {
					last = rec.Header
					if first == nil {
						first, firstURI = rec.Header, obj.URI.String()
					} else if !slices.Equal(first.Names(), rec.Header.Names()) {
						yield(records.Record{}, taskerr.New(taskerr.InvalidInput,
							"%s has columns [%s] but %s has columns [%s]: every file of one input must have the same columns in the same order (a job's request rows share one schema); fix the files or run them separately",
							obj.URI, strings.Join(rec.Header.Names(), ", "), firstURI, strings.Join(first.Names(), ", ")))
						return
					}
				}
				if !yield(rec, nil) {
					return
				}
			}
		}
		if st.files == 0 && none != nil {
			yield(records.Record{}, none())
		}
	}
}

// readTable streams one table file.
func (h *Handler) readTable(ctx context.Context, obj s3io.Object, kind string, opts records.ReadOptions) iter.Seq2[records.Record, error] {
	src := obj.URI.String()
	if kind == kindParquet {
		return func(yield func(records.Record, error) bool) {
			ra, err := s3io.NewReaderAt(ctx, h.S3, obj.URI)
			if err != nil {
				yield(records.Record{}, err)
				return
			}
			for rec, err := range records.ReadParquet(ra, ra.Size(), src, opts) {
				if !yield(rec, err) {
					return
				}
			}
		}
	}
	return func(yield func(records.Record, error) bool) {
		body, _, err := s3io.Open(ctx, h.S3, obj.URI)
		if err != nil {
			yield(records.Record{}, err)
			return
		}
		defer body.Close()
		r := transientReader{body}
		read := records.ReadCSV
		if kind == kindJSONL {
			read = records.ReadJSONL
		}
		for rec, err := range read(r, src, opts) {
			if !yield(rec, err) {
				return
			}
		}
	}
}

// transientReader names errors of a streaming GET body as transient: the
// connection broke, the input is fine.
type transientReader struct{ r io.Reader }

func (t transientReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		err = taskerr.Wrap(taskerr.Transient, err)
	}
	return n, err
}
