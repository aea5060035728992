// Package hfdataset finds the parquet shards of a Hugging Face dataset split
// through the Hub's parquet API and streams them into S3, so preprocessing
// reads a dataset the same way it reads any parquet input.
package hfdataset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/bbo-dev/bbo/internal/batchio"
	"github.com/bbo-dev/bbo/internal/s3io"
	"github.com/bbo-dev/bbo/internal/taskerr"
)

// DefaultEndpoint is the Hub's base URL when HF_ENDPOINT is not set.
const DefaultEndpoint = "https://huggingface.co"

// DefaultConfig is the dataset configuration (subset) tried first.
const DefaultConfig = "default"

// maxAPIBytes bounds a parquet listing response; real ones are a few KB.
const maxAPIBytes = 8 << 20

// Client talks to the Hugging Face Hub API. The zero value is not usable;
// build one with New or FromEnv.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// New returns a client for the Hub at baseURL (DefaultEndpoint when empty).
// token, if set, is sent as a bearer token and never logged. hc nil means a
// client with a 30-minute overall timeout (shards can be large).
func New(baseURL, token string, hc *http.Client) *Client {
	if baseURL == "" {
		baseURL = DefaultEndpoint
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Minute}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), token: token, http: hc}
}

// FromEnv builds a client from HF_ENDPOINT and HF_TOKEN.
func FromEnv(getenv func(string) string) *Client {
	return New(getenv("HF_ENDPOINT"), getenv(EnvToken), nil)
}

// Endpoint is the base URL the client uses.
func (c *Client) Endpoint() string { return c.base }

// statusError is a non-2xx answer of the Hub.
type statusError struct {
	url    string
	status int
}

func (e *statusError) Error() string {
	return fmt.Sprintf("GET %s: HTTP %d %s", e.url, e.status, http.StatusText(e.status))
}

// get sends an authenticated GET and returns the body of a 2xx answer.
func (c *Client) get(ctx context.Context, u string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, taskerr.Wrap(taskerr.InvalidConfig, fmt.Errorf("bad Hugging Face URL %q: %w: check HF_ENDPOINT", u, err))
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, taskerr.Wrap(taskerr.Transient, fmt.Errorf("GET %s: %w", u, err))
	}
	if resp.StatusCode/100 != 2 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return nil, &statusError{url: u, status: resp.StatusCode}
	}
	return resp.Body, nil
}

// classify names a Hub error for the state machine.
func classify(dataset string, err error) error {
	var se *statusError
	if !errors.As(err, &se) {
		return err
	}
	switch {
	case se.status == http.StatusUnauthorized || se.status == http.StatusForbidden:
		return taskerr.New(taskerr.InvalidConfig, "Hugging Face dataset %q: access denied (%v): the dataset is private, gated or does not exist; check dataset_id, and for private or gated datasets set HF_TOKEN to a token that can read it", dataset, err)
	case se.status == http.StatusTooManyRequests || se.status >= 500:
		return taskerr.Wrap(taskerr.Transient, fmt.Errorf("dataset %q on the Hugging Face Hub: %w: try again later", dataset, err))
	case se.status == http.StatusNotFound:
		return taskerr.New(taskerr.InputNotFound, "Hugging Face dataset %q not found (%v): check dataset_id (owner/name) and that the Hub has converted it to parquet", dataset, err)
	}
	return taskerr.Wrap(taskerr.InvalidInput, fmt.Errorf("dataset %q on the Hugging Face Hub: %w", dataset, err))
}

// ParseShardList decodes the answer of /api/datasets/{id}/parquet/{config}/{split}:
// a JSON array of shard URLs.
func ParseShardList(data []byte) ([]string, error) {
	var urls []string
	if err := json.Unmarshal(data, &urls); err != nil {
		return nil, fmt.Errorf("parquet shard list is not a JSON array of URLs: %w", err)
	}
	for i, u := range urls {
		if err := checkURL(u); err != nil {
			return nil, fmt.Errorf("parquet shard list entry %d: %w", i, err)
		}
	}
	return urls, nil
}

// ParseIndex decodes the answer of /api/datasets/{id}/parquet: config →
// split → shard URLs.
func ParseIndex(data []byte) (map[string]map[string][]string, error) {
	var idx map[string]map[string][]string
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("parquet index is not a JSON object of {config: {split: [URLs]}}: %w", err)
	}
	for cfg, splits := range idx {
		for split, urls := range splits {
			for i, u := range urls {
				if err := checkURL(u); err != nil {
					return nil, fmt.Errorf("parquet index %s/%s entry %d: %w", cfg, split, i, err)
				}
			}
		}
	}
	return idx, nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", s)
	}
	return nil
}

// readJSON GETs u and returns its body, bounded by maxAPIBytes.
func (c *Client) readJSON(ctx context.Context, u string) ([]byte, error) {
	body, err := c.get(ctx, u)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, maxAPIBytes+1))
	if err != nil {
		return nil, taskerr.Wrap(taskerr.Transient, fmt.Errorf("GET %s: %w", u, err))
	}
	if len(data) > maxAPIBytes {
		return nil, fmt.Errorf("GET %s: answer is over %d bytes", u, maxAPIBytes)
	}
	return data, nil
}

func isStatus(err error, status int) bool {
	var se *statusError
	return errors.As(err, &se) && se.status == status
}

// CheckID rejects dataset ids that are not "name" or "owner/name" made of
// letters, digits, '-', '_' and '.', as an InvalidConfig error; the id
// becomes part of URLs and S3 keys.
func CheckID(id string) error {
	parts := strings.Split(id, "/")
	ok := len(parts) <= 2
	for _, p := range parts {
		if p == "" || p == "." || p == ".." {
			ok = false
		}
		for _, c := range p {
			if !(c == '-' || c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				ok = false
			}
		}
	}
	if !ok {
		return taskerr.New(taskerr.InvalidConfig, "dataset_id %q is not a Hugging Face dataset id: write it as \"name\" or \"owner/name\" (letters, digits, '-', '_', '.')", id)
	}
	return nil
}

// escapeID escapes each segment of an "owner/name" dataset id for a URL
// path, keeping the slash.
func escapeID(id string) string {
	parts := strings.Split(id, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// ShardURLs lists the parquet shard URLs of a dataset split, in shard order.
// It asks for the "default" configuration first; if that does not exist it
// reads the dataset's parquet index and takes the first configuration (in
// name order) that has the split. A missing dataset or split is
// taskerr.InputNotFound (naming the splits there are); 401/403 is
// InvalidConfig (set HF_TOKEN); 429 and 5xx are TransientError.
func (c *Client) ShardURLs(ctx context.Context, dataset, split string) ([]string, error) {
	if err := CheckID(dataset); err != nil {
		return nil, err
	}
	base := c.base + "/api/datasets/" + escapeID(dataset) + "/parquet"
	data, err := c.readJSON(ctx, base+"/"+DefaultConfig+"/"+url.PathEscape(split))
	if err == nil {
		urls, perr := ParseShardList(data)
		if perr != nil {
			return nil, taskerr.Wrap(taskerr.Transient, fmt.Errorf("dataset %q on the Hugging Face Hub: %w", dataset, perr))
		}
		if len(urls) > 0 {
			return urls, nil
		}
	} else if !isStatus(err, http.StatusNotFound) {
		return nil, classify(dataset, err)
	}
	data, err = c.readJSON(ctx, base)
	if err != nil {
		return nil, classify(dataset, err)
	}
	idx, err := ParseIndex(data)
	if err != nil {
		return nil, taskerr.Wrap(taskerr.Transient, fmt.Errorf("dataset %q on the Hugging Face Hub: %w", dataset, err))
	}
	return pickSplit(dataset, split, idx)
}

// pickSplit takes the first configuration, in name order ("default" first),
// that has the split.
func pickSplit(dataset, split string, idx map[string]map[string][]string) ([]string, error) {
	cfgs := make([]string, 0, len(idx))
	for cfg := range idx {
		cfgs = append(cfgs, cfg)
	}
	sort.Slice(cfgs, func(i, j int) bool {
		if (cfgs[i] == DefaultConfig) != (cfgs[j] == DefaultConfig) {
			return cfgs[i] == DefaultConfig
		}
		return cfgs[i] < cfgs[j]
	})
	var avail []string
	for _, cfg := range cfgs {
		if urls := idx[cfg][split]; len(urls) > 0 {
			return urls, nil
		}
		splits := make([]string, 0, len(idx[cfg]))
		for s := range idx[cfg] {
			splits = append(splits, s)
		}
		sort.Strings(splits)
		for _, s := range splits {
			avail = append(avail, cfg+"/"+s)
		}
	}
	if len(avail) == 0 {
		return nil, taskerr.New(taskerr.InputNotFound, "Hugging Face dataset %q has no parquet files: the Hub has not converted it (yet); try again later or upload it to S3 and use s3_uri", dataset)
	}
	return nil, taskerr.New(taskerr.InputNotFound, "Hugging Face dataset %q has no split %q; available (config/split): %s: set split to one of them", dataset, split, strings.Join(avail, ", "))
}

// Shard is one parquet shard copied into S3.
type Shard struct {
	// URL is where the shard came from.
	URL string
	// URI is its copy, s3://<bucket>/hf/<dataset_id>/NNNN.parquet.
	URI s3io.URI
	// Size is the number of bytes copied.
	Size int64
}

// ShardKey is the S3 key of shard i of a dataset: hf/<dataset_id>/NNNN.parquet.
func ShardKey(dataset string, i int) string {
	return "hf/" + dataset + "/" + batchio.IndexName(i) + ".parquet"
}

// CopyToS3 streams every shard of the split into bucket at
// hf/<dataset_id>/NNNN.parquet (no shard is held in memory beyond the
// upload's part buffer) and returns the copies in shard order.
func (c *Client) CopyToS3(ctx context.Context, api s3io.API, bucket, dataset, split string) ([]Shard, error) {
	urls, err := c.ShardURLs(ctx, dataset, split)
	if err != nil {
		return nil, err
	}
	shards := make([]Shard, 0, len(urls))
	for i, u := range urls {
		dst := s3io.URI{Bucket: bucket, Key: ShardKey(dataset, i)}
		n, err := c.copyShard(ctx, api, u, dst)
		if err != nil {
			return nil, err
		}
		shards = append(shards, Shard{URL: u, URI: dst, Size: n})
	}
	return shards, nil
}

func (c *Client) copyShard(ctx context.Context, api s3io.API, src string, dst s3io.URI) (int64, error) {
	body, err := c.get(ctx, src)
	if err != nil {
		if isStatus(err, http.StatusNotFound) {
			return 0, taskerr.Wrap(taskerr.Transient, fmt.Errorf("shard %s vanished (%w): the Hub may be re-converting the dataset; try again", src, err))
		}
		return 0, classify(dst.Key, err)
	}
	defer body.Close()
	w := s3io.Create(ctx, api, dst, "application/vnd.apache.parquet")
	n, err := io.Copy(w, body)
	if err != nil {
		w.Abort(err)
		var te *taskerr.Error
		if !errors.As(err, &te) {
			err = taskerr.Wrap(taskerr.Transient, err)
		}
		return n, fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	if err := w.Close(); err != nil {
		return n, fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	return n, nil
}
