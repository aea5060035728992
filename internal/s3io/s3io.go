// Package s3io reads and writes S3 objects as streams: s3:// URIs, paginated
// listing, sequential and random-access (range GET) readers, and streaming
// multipart uploads, so no caller ever holds a whole object in memory.
package s3io

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/bbo-dev/bbo/internal/taskerr"
)

// API is the part of the S3 client this package uses; *s3.Client has it.
type API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, opts ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, opts ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	UploadPart(ctx context.Context, in *s3.UploadPartInput, opts ...func(*s3.Options)) (*s3.UploadPartOutput, error)
	CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, opts ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
	AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, opts ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error)
}

// URI is an s3://bucket/key location. Key may be a prefix.
type URI struct {
	Bucket string
	Key    string
}

// ParseURI parses s3://bucket/key. The key may be empty (the whole bucket).
func ParseURI(s string) (URI, error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return URI{}, taskerr.New(taskerr.InvalidConfig, "%q is not an S3 URI: write it as s3://bucket/key", s)
	}
	bucket, key, _ := strings.Cut(rest, "/")
	if bucket == "" {
		return URI{}, taskerr.New(taskerr.InvalidConfig, "%q has no bucket name: write it as s3://bucket/key", s)
	}
	return URI{Bucket: bucket, Key: key}, nil
}

// String formats the URI as s3://bucket/key.
func (u URI) String() string { return "s3://" + u.Bucket + "/" + u.Key }

// Join returns the URI with path elements appended with single slashes.
func (u URI) Join(elem ...string) URI {
	k := u.Key
	for _, e := range elem {
		if e == "" {
			continue
		}
		if k != "" && !strings.HasSuffix(k, "/") {
			k += "/"
		}
		k += strings.TrimPrefix(e, "/")
	}
	return URI{Bucket: u.Bucket, Key: k}
}

// Base is the last path segment of the key.
func (u URI) Base() string {
	k := strings.TrimSuffix(u.Key, "/")
	return k[strings.LastIndex(k, "/")+1:]
}

// IsPrefix reports whether the URI names a folder (empty key or trailing /).
func (u URI) IsPrefix() bool { return u.Key == "" || strings.HasSuffix(u.Key, "/") }

// Object is one listed object.
type Object struct {
	URI  URI
	Size int64
}

// List yields every object under the prefix, page by page, in key order.
func List(ctx context.Context, c API, prefix URI) iter.Seq2[Object, error] {
	return func(yield func(Object, error) bool) {
		p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(prefix.Bucket), Prefix: aws.String(prefix.Key)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				yield(Object{}, classify(fmt.Errorf("list %s: %w", prefix, err)))
				return
			}
			for _, o := range page.Contents {
				if !yield(Object{URI: URI{Bucket: prefix.Bucket, Key: aws.ToString(o.Key)}, Size: aws.ToInt64(o.Size)}, nil) {
					return
				}
			}
		}
	}
}

// Open starts a streaming GET of the object. The caller closes the body.
func Open(ctx context.Context, c API, u URI) (io.ReadCloser, int64, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(u.Bucket), Key: aws.String(u.Key)})
	if err != nil {
		return nil, 0, classify(fmt.Errorf("read %s: %w", u, err))
	}
	return out.Body, aws.ToInt64(out.ContentLength), nil
}

// Size returns the object's size with a HEAD request.
func Size(ctx context.Context, c API, u URI) (int64, error) {
	out, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(u.Bucket), Key: aws.String(u.Key)})
	if err != nil {
		return 0, classify(fmt.Errorf("stat %s: %w", u, err))
	}
	return aws.ToInt64(out.ContentLength), nil
}

// ReadAll reads a small object (a manifest, an image of at most a few MB)
// whole, refusing objects larger than limit bytes.
func ReadAll(ctx context.Context, c API, u URI, limit int64) ([]byte, error) {
	body, size, err := Open(ctx, c, u)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	if size > limit {
		return nil, fmt.Errorf("%s is %d bytes, over the %d-byte limit for this kind of object", u, size, limit)
	}
	b, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, classify(fmt.Errorf("read %s: %w", u, err))
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is over the %d-byte limit for this kind of object", u, limit)
	}
	return b, nil
}

// Put writes a small object in one request.
func Put(ctx context.Context, c API, u URI, body []byte, contentType string) error {
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(u.Bucket), Key: aws.String(u.Key),
		Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))), ContentType: aws.String(contentType)})
	if err != nil {
		return classify(fmt.Errorf("write %s: %w", u, err))
	}
	return nil
}

// partSize is the multipart part size of Writer: S3's minimum part is
// 5 MiB; 8 MiB keeps memory at one part per open writer.
const partSize = 8 << 20

// Writer streams an upload: bytes are buffered up to one part (8 MiB) and
// sent as a multipart upload; an object smaller than one part is sent with
// a single PutObject. Close finishes the upload; Abort cancels it.
type Writer struct {
	ctx      context.Context
	c        API
	uri      URI
	ctype    string
	buf      []byte
	uploadID string
	parts    []types.CompletedPart
	err      error
}

// Create starts a streaming upload to u.
func Create(ctx context.Context, c API, u URI, contentType string) *Writer {
	return &Writer{ctx: ctx, c: c, uri: u, ctype: contentType}
}

// Write buffers p and sends every full part.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n := len(p)
	for len(p) > 0 {
		if w.buf == nil {
			w.buf = make([]byte, 0, partSize)
		}
		k := min(len(p), partSize-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
		if len(w.buf) == partSize {
			if err := w.sendPart(); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

func (w *Writer) sendPart() error {
	if w.uploadID == "" {
		out, err := w.c.CreateMultipartUpload(w.ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(w.uri.Bucket), Key: aws.String(w.uri.Key), ContentType: aws.String(w.ctype)})
		if err != nil {
			w.err = classify(fmt.Errorf("write %s: start upload: %w", w.uri, err))
			return w.err
		}
		w.uploadID = aws.ToString(out.UploadId)
	}
	num := int32(len(w.parts) + 1)
	out, err := w.c.UploadPart(w.ctx, &s3.UploadPartInput{Bucket: aws.String(w.uri.Bucket), Key: aws.String(w.uri.Key),
		UploadId: aws.String(w.uploadID), PartNumber: aws.Int32(num), Body: bytes.NewReader(w.buf), ContentLength: aws.Int64(int64(len(w.buf)))})
	if err != nil {
		w.err = classify(fmt.Errorf("write %s: part %d: %w", w.uri, num, err))
		return w.err
	}
	w.parts = append(w.parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(num)})
	w.buf = w.buf[:0]
	return nil
}

// Close sends what is buffered and completes the upload.
func (w *Writer) Close() error {
	if w.err != nil {
		w.Abort(w.err)
		return w.err
	}
	if w.uploadID == "" {
		return Put(w.ctx, w.c, w.uri, w.buf, w.ctype)
	}
	if len(w.buf) > 0 {
		if err := w.sendPart(); err != nil {
			w.Abort(err)
			return err
		}
	}
	_, err := w.c.CompleteMultipartUpload(w.ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(w.uri.Bucket), Key: aws.String(w.uri.Key),
		UploadId: aws.String(w.uploadID), MultipartUpload: &types.CompletedMultipartUpload{Parts: w.parts}})
	if err != nil {
		w.err = classify(fmt.Errorf("write %s: complete upload: %w", w.uri, err))
		w.Abort(w.err)
		return w.err
	}
	w.err = errors.New("s3io: write after Close")
	return nil
}

// Abort cancels the upload so no partial object or parts are left behind.
func (w *Writer) Abort(cause error) {
	if w.err == nil {
		w.err = cause
	}
	if w.uploadID != "" {
		_, _ = w.c.AbortMultipartUpload(context.WithoutCancel(w.ctx), &s3.AbortMultipartUploadInput{Bucket: aws.String(w.uri.Bucket), Key: aws.String(w.uri.Key), UploadId: aws.String(w.uploadID)})
		w.uploadID = ""
	}
}

// IsNotFound reports whether err means the object or bucket does not exist.
func IsNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	var nb *types.NoSuchBucket
	if errors.As(err, &nsk) || errors.As(err, &nf) || errors.As(err, &nb) {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound", "NoSuchBucket", "404":
			return true
		}
	}
	return false
}

// classify names S3 errors for the state machine: missing objects are
// InputNotFound, throttling is ThrottledError, server errors are transient.
func classify(err error) error {
	if IsNotFound(err) {
		return taskerr.Wrap(taskerr.InputNotFound, err)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded":
			return taskerr.Wrap(taskerr.Throttled, err)
		case "InternalError", "ServiceUnavailable":
			return taskerr.Wrap(taskerr.Transient, err)
		}
	}
	return err
}

// ReaderAt reads an object with range GETs, for formats that need random
// access (parquet). It buffers one block so sequential small reads do not
// each cost a request.
type ReaderAt struct {
	ctx   context.Context
	c     API
	u     URI
	size  int64
	block []byte
	start int64
	n     int
}

// blockSize is the read-ahead of ReaderAt: large enough that parquet's
// page reads hit the buffer, small enough to bound memory.
const blockSize = 4 << 20

// NewReaderAt returns a random-access reader of the object (HEAD for its
// size).
func NewReaderAt(ctx context.Context, c API, u URI) (*ReaderAt, error) {
	size, err := Size(ctx, c, u)
	if err != nil {
		return nil, err
	}
	return &ReaderAt{ctx: ctx, c: c, u: u, size: size, start: -1}, nil
}

// Size is the object's size.
func (r *ReaderAt) Size() int64 { return r.size }

// ReadAt implements io.ReaderAt. It is not safe for concurrent use.
func (r *ReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= r.size {
		return 0, io.EOF
	}
	total := 0
	for len(p) > 0 && off < r.size {
		if r.start < 0 || off < r.start || off >= r.start+int64(r.n) {
			if len(p) >= blockSize {
				// Large read: fetch it directly, don't churn the buffer.
				n, err := r.fetch(p, off)
				total += n
				if err != nil {
					return total, err
				}
				p, off = p[n:], off+int64(n)
				continue
			}
			if r.block == nil {
				r.block = make([]byte, blockSize)
			}
			want := min(int64(blockSize), r.size-off)
			n, err := r.fetch(r.block[:want], off)
			if err != nil {
				r.start = -1
				return total, err
			}
			r.start, r.n = off, n
		}
		n := copy(p, r.block[off-r.start:r.n])
		total += n
		p, off = p[n:], off+int64(n)
	}
	if len(p) > 0 {
		return total, io.EOF
	}
	return total, nil
}

func (r *ReaderAt) fetch(p []byte, off int64) (int, error) {
	end := min(off+int64(len(p)), r.size) - 1
	out, err := r.c.GetObject(r.ctx, &s3.GetObjectInput{Bucket: aws.String(r.u.Bucket), Key: aws.String(r.u.Key),
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, end))})
	if err != nil {
		return 0, classify(fmt.Errorf("read %s bytes %d-%d: %w", r.u, off, end, err))
	}
	defer out.Body.Close()
	n, err := io.ReadFull(out.Body, p[:end-off+1])
	if err != nil {
		return n, fmt.Errorf("read %s bytes %d-%d: %w", r.u, off, end, err)
	}
	return n, nil
}
