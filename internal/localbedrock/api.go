package localbedrock

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	smithytime "github.com/aws/smithy-go/time"

	"github.com/bbo-dev/bbo/internal/batchio"
	"github.com/bbo-dev/bbo/internal/models"
	"github.com/bbo-dev/bbo/internal/s3io"
)

// apiError is an error answer: HTTP status, X-Amzn-ErrorType and message.
type apiError struct {
	status int
	typ    string
	msg    string
}

func (e *apiError) Error() string { return e.typ + ": " + e.msg }

func validation(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "ValidationException", fmt.Sprintf(format, args...)}
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func writeAPIError(w http.ResponseWriter, e *apiError) { writeError(w, e.status, e.typ, e.msg) }

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// splitPath splits an escaped URL path into unescaped segments.
func splitPath(p string) ([]string, bool) {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil, true
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, false
		}
		segs[i] = u
	}
	return segs, true
}

// Patterns from the Bedrock API reference.
var (
	roleArnRe = regexp.MustCompile(`^arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+$`)
	tokenRe   = regexp.MustCompile(`^[a-zA-Z0-9]{1,256}(-*[a-zA-Z0-9]){0,256}$`)
)

type s3Input struct {
	S3URI         string `json:"s3Uri"`
	S3InputFormat string `json:"s3InputFormat,omitempty"`
	S3BucketOwner string `json:"s3BucketOwner,omitempty"`
}

type s3Output struct {
	S3URI             string `json:"s3Uri"`
	S3EncryptionKeyID string `json:"s3EncryptionKeyId,omitempty"`
	S3BucketOwner     string `json:"s3BucketOwner,omitempty"`
}

type inputConfig struct {
	S3InputDataConfig *s3Input `json:"s3InputDataConfig,omitempty"`
}

type outputConfig struct {
	S3OutputDataConfig *s3Output `json:"s3OutputDataConfig,omitempty"`
}

type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// createRequest is CreateModelInvocationJob's body.
type createRequest struct {
	ClientRequestToken     string          `json:"clientRequestToken,omitempty"`
	InputDataConfig        *inputConfig    `json:"inputDataConfig"`
	JobName                string          `json:"jobName"`
	ModelID                string          `json:"modelId"`
	ModelInvocationType    string          `json:"modelInvocationType,omitempty"`
	OutputDataConfig       *outputConfig   `json:"outputDataConfig"`
	RoleArn                string          `json:"roleArn"`
	Tags                   []tag           `json:"tags,omitempty"`
	TimeoutDurationInHours *int32          `json:"timeoutDurationInHours,omitempty"`
	VpcConfig              json.RawMessage `json:"vpcConfig,omitempty"`
}

// jobJSON is a job as GetModelInvocationJob and the list summaries show
// it.
type jobJSON struct {
	ClientRequestToken     string          `json:"clientRequestToken,omitempty"`
	EndTime                string          `json:"endTime,omitempty"`
	ErrorRecordCount       *int64          `json:"errorRecordCount,omitempty"`
	InputDataConfig        inputConfig     `json:"inputDataConfig"`
	JobArn                 string          `json:"jobArn"`
	JobExpirationTime      string          `json:"jobExpirationTime,omitempty"`
	JobName                string          `json:"jobName"`
	LastModifiedTime       string          `json:"lastModifiedTime,omitempty"`
	Message                string          `json:"message,omitempty"`
	ModelID                string          `json:"modelId"`
	ModelInvocationType    string          `json:"modelInvocationType,omitempty"`
	OutputDataConfig       outputConfig    `json:"outputDataConfig"`
	ProcessedRecordCount   *int64          `json:"processedRecordCount,omitempty"`
	RoleArn                string          `json:"roleArn"`
	Status                 string          `json:"status"`
	SubmitTime             string          `json:"submitTime"`
	SuccessRecordCount     *int64          `json:"successRecordCount,omitempty"`
	TimeoutDurationInHours int32           `json:"timeoutDurationInHours"`
	TotalRecordCount       *int64          `json:"totalRecordCount,omitempty"`
	VpcConfig              json.RawMessage `json:"vpcConfig,omitempty"`
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return smithytime.FormatDateTime(t)
}

// view renders j; the caller holds s.mu.
func (j *job) view() jobJSON {
	v := jobJSON{
		ClientRequestToken:     j.req.ClientRequestToken,
		EndTime:                ts(j.end),
		InputDataConfig:        *j.req.InputDataConfig,
		JobArn:                 j.arn,
		JobExpirationTime:      ts(j.expire),
		JobName:                j.name,
		LastModifiedTime:       ts(j.lastMod),
		Message:                j.message,
		ModelID:                j.req.ModelID,
		ModelInvocationType:    j.req.ModelInvocationType,
		OutputDataConfig:       *j.req.OutputDataConfig,
		RoleArn:                j.req.RoleArn,
		Status:                 j.status,
		SubmitTime:             ts(j.submit),
		TimeoutDurationInHours: *j.req.TimeoutDurationInHours,
		VpcConfig:              j.req.VpcConfig,
	}
	if j.started {
		total, processed, success, errs := j.total, j.processed, j.success, j.errs
		v.TotalRecordCount, v.ProcessedRecordCount, v.SuccessRecordCount, v.ErrorRecordCount = &total, &processed, &success, &errs
	}
	return v
}

// find returns the job with ARN, id or name ident; the caller holds s.mu.
func (s *Server) find(ident string) *job {
	for i := len(s.jobs) - 1; i >= 0; i-- {
		j := s.jobs[i]
		if j.arn == ident || j.id == ident || j.name == ident {
			return j
		}
	}
	return nil
}

// validate checks req like Bedrock does before it looks at S3.
func (s *Server) validate(req *createRequest) *apiError {
	if err := batchio.CheckJobName(req.JobName); err != nil {
		return validation("1 validation error detected: Value at 'jobName' failed to satisfy constraint: %v", err)
	}
	if req.ClientRequestToken != "" && !tokenRe.MatchString(req.ClientRequestToken) {
		return validation("Value at 'clientRequestToken' failed to satisfy constraint: letters, digits and - only, at most 256 characters")
	}
	if req.RoleArn == "" {
		return validation("roleArn is required: the ARN of the service role Bedrock uses to read the input and write the output")
	}
	if !roleArnRe.MatchString(req.RoleArn) || len(req.RoleArn) > 2048 {
		return validation("Value %q at 'roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern: ^arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+$", req.RoleArn)
	}
	if req.ModelID == "" {
		return validation("modelId is required")
	}
	if !models.Known(req.ModelID) {
		return validation("The provided model identifier %q is invalid or not supported for batch inference here (known families: %s)", req.ModelID, strings.Join(models.Families(), ", "))
	}
	if req.InputDataConfig == nil || req.InputDataConfig.S3InputDataConfig == nil || req.InputDataConfig.S3InputDataConfig.S3URI == "" {
		return validation("inputDataConfig.s3InputDataConfig.s3Uri is required")
	}
	in := req.InputDataConfig.S3InputDataConfig
	if in.S3InputFormat == "" {
		in.S3InputFormat = "JSONL"
	}
	if in.S3InputFormat != "JSONL" {
		return validation("s3InputFormat %q is not supported: use JSONL", in.S3InputFormat)
	}
	if _, err := s3io.ParseURI(in.S3URI); err != nil || !strings.HasPrefix(in.S3URI, "s3://") {
		return validation("inputDataConfig s3Uri %q is not an s3://bucket/key URI", in.S3URI)
	}
	if req.OutputDataConfig == nil || req.OutputDataConfig.S3OutputDataConfig == nil || req.OutputDataConfig.S3OutputDataConfig.S3URI == "" {
		return validation("outputDataConfig.s3OutputDataConfig.s3Uri is required")
	}
	if _, err := s3io.ParseURI(req.OutputDataConfig.S3OutputDataConfig.S3URI); err != nil || !strings.HasPrefix(req.OutputDataConfig.S3OutputDataConfig.S3URI, "s3://") {
		return validation("outputDataConfig s3Uri %q is not an s3://bucket/prefix URI", req.OutputDataConfig.S3OutputDataConfig.S3URI)
	}
	if req.TimeoutDurationInHours == nil {
		h := int32(DefaultTimeoutHours)
		req.TimeoutDurationInHours = &h
	}
	if h := *req.TimeoutDurationInHours; h < MinTimeoutHours || h > MaxTimeoutHours {
		return validation("timeoutDurationInHours %d is out of range: use %d to %d", h, MinTimeoutHours, MaxTimeoutHours)
	}
	switch req.ModelInvocationType {
	case "", "InvokeModel":
	default:
		return validation("modelInvocationType %q is not supported here: use InvokeModel", req.ModelInvocationType)
	}
	if len(req.Tags) > 200 {
		return validation("at most 200 tags are allowed, got %d", len(req.Tags))
	}
	for _, t := range req.Tags {
		if t.Key == "" || len(t.Key) > 128 || len(t.Value) > 256 {
			return validation("tag %q=%q: keys are 1-128 characters, values at most 256", t.Key, t.Value)
		}
	}
	return nil
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	if err := dec.Decode(&req); err != nil {
		writeAPIError(w, validation("malformed request body: %v", err))
		return
	}
	s.mu.Lock()
	if s.faults.throttle > 0 {
		s.faults.throttle--
		s.mu.Unlock()
		writeError(w, http.StatusTooManyRequests, "ThrottlingException", "Rate exceeded (injected by local Bedrock)")
		return
	}
	s.mu.Unlock()
	if e := s.validate(&req); e != nil {
		writeAPIError(w, e)
		return
	}
	token := req.ClientRequestToken
	params := req
	params.ClientRequestToken = ""
	hash := requestHash(params)

	s.mu.Lock()
	if token != "" {
		if j, ok := s.byToken[token]; ok {
			s.mu.Unlock()
			if j.hash != hash {
				writeError(w, http.StatusBadRequest, "ConflictException",
					fmt.Sprintf("clientRequestToken %q was already used for job %s with different parameters: use a new token for a different request", token, j.arn))
				return
			}
			writeJSON(w, map[string]string{"jobArn": j.arn})
			return
		}
	}
	for _, j := range s.jobs {
		if j.name == req.JobName {
			s.mu.Unlock()
			writeError(w, http.StatusBadRequest, "ConflictException",
				fmt.Sprintf("a batch inference job named %q already exists (%s): job names must be unique", req.JobName, j.arn))
			return
		}
	}
	active := 0
	for _, j := range s.jobs {
		if j.req.ModelID == req.ModelID && !Terminal(j.status) {
			active++
		}
	}
	s.mu.Unlock()
	if active >= s.cfg.MaxActiveJobs {
		writeError(w, http.StatusBadRequest, "ServiceQuotaExceededException",
			fmt.Sprintf("%d batch inference jobs for %s are submitted or in progress, the quota is %d: wait for some to finish", active, req.ModelID, s.cfg.MaxActiveJobs))
		return
	}

	files, total, e := s.inspectInput(r.Context(), req.InputDataConfig.S3InputDataConfig.S3URI)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	if total < int64(s.cfg.MinRecords) {
		writeAPIError(w, validation("The number of records in the input (%d) is below the minimum of %d records per batch inference job: add records or merge jobs", total, s.cfg.MinRecords))
		return
	}
	if total > int64(s.cfg.MaxRecords) {
		writeAPIError(w, validation("The number of records in the input (%d) is above the maximum of %d records per batch inference job: split the input", total, s.cfg.MaxRecords))
		return
	}

	now := s.cfg.Now()
	id := newJobID()
	ctx, cancel := context.WithCancel(s.ctx)
	j := &job{
		req:    req,
		hash:   hash,
		id:     id,
		arn:    fmt.Sprintf("arn:aws:bedrock:%s:%s:model-invocation-job/%s", s.cfg.Region, s.cfg.AccountID, id),
		name:   req.JobName,
		files:  files,
		total:  total,
		status: StatusSubmitted,
		submit: now, lastMod: now,
		expire: now.Add(time.Duration(*req.TimeoutDurationInHours) * time.Hour),
		ctx:    ctx, cancel: cancel,
		done: make(chan struct{}),
	}
	s.mu.Lock()
	if token != "" {
		if prev, ok := s.byToken[token]; ok { // a concurrent twin won
			s.mu.Unlock()
			cancel()
			writeJSON(w, map[string]string{"jobArn": prev.arn})
			return
		}
		s.byToken[token] = j
	}
	if s.faults.hold[j.name] {
		j.release = make(chan struct{})
	}
	s.jobs = append(s.jobs, j)
	s.wg.Add(1)
	s.mu.Unlock()

	s.log.Info("batch inference job submitted", slog.String("job_arn", j.arn), slog.String("job_name", j.name), slog.Int64("records", total))
	s.emit(j)
	go s.run(j)
	writeJSON(w, map[string]string{"jobArn": j.arn})
}

// inspectInput lists the input files of uri (one object, or every .jsonl
// under a prefix) and counts their records.
func (s *Server) inspectInput(ctx context.Context, uri string) ([]s3io.URI, int64, *apiError) {
	u, _ := s3io.ParseURI(uri)
	var files []s3io.URI
	if !u.IsPrefix() {
		if _, err := s3io.Size(ctx, s.cfg.S3, u); err == nil {
			files = append(files, u)
		} else if !s3io.IsNotFound(err) {
			return nil, 0, &apiError{http.StatusBadRequest, "ValidationException", fmt.Sprintf("Unable to access the input S3 location %s: %v", uri, err)}
		} else {
			u.Key += "/"
		}
	}
	if files == nil {
		for o, err := range s3io.List(ctx, s.cfg.S3, u) {
			if err != nil {
				return nil, 0, validation("Unable to list the input S3 location %s: %v", uri, err)
			}
			if strings.HasSuffix(o.URI.Key, ".jsonl") {
				files = append(files, o.URI)
			}
		}
	}
	if len(files) == 0 {
		return nil, 0, validation("The input S3 location %s does not exist or holds no .jsonl file: upload the input first", uri)
	}
	var total int64
	for _, f := range files {
		n, err := countRecords(ctx, s.cfg.S3, f)
		if err != nil {
			return nil, 0, validation("Unable to read the input file %s: %v", f, err)
		}
		total += n
	}
	return files, total, nil
}

func (s *Server) get(w http.ResponseWriter, ident string) {
	s.mu.Lock()
	j := s.find(ident)
	if j == nil {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "ResourceNotFoundException", fmt.Sprintf("The batch inference job %q could not be found", ident))
		return
	}
	v := j.view()
	s.mu.Unlock()
	writeJSON(w, v)
}

func (s *Server) stop(w http.ResponseWriter, ident string) {
	s.mu.Lock()
	j := s.find(ident)
	if j == nil {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "ResourceNotFoundException", fmt.Sprintf("The batch inference job %q could not be found", ident))
		return
	}
	if Terminal(j.status) || j.status == StatusStopping {
		st := j.status
		s.mu.Unlock()
		writeAPIError(w, validation("The batch inference job %s is %s: only Submitted, Validating, Scheduled or InProgress jobs can be stopped", j.arn, st))
		return
	}
	j.stopped = true
	s.mu.Unlock()
	s.setStatus(j, StatusStopping, "")
	j.cancel()
	writeJSON(w, struct{}{})
}

// listToken is the decoded nextToken: the offset into the filtered list.
func encodeToken(off int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("off:" + strconv.Itoa(off)))
}

func decodeToken(t string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil || !strings.HasPrefix(string(b), "off:") {
		return 0, errors.New("invalid nextToken")
	}
	return strconv.Atoi(string(b[4:]))
}

var statuses = []string{StatusSubmitted, StatusValidating, StatusScheduled, StatusInProgress, StatusCompleted,
	StatusPartiallyCompleted, StatusFailed, StatusStopping, StatusStopped, StatusExpired}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	status := q.Get("statusEquals")
	if status != "" && !slices.Contains(statuses, status) {
		writeAPIError(w, validation("statusEquals %q is not one of %s", status, strings.Join(statuses, ", ")))
		return
	}
	name := q.Get("nameContains")
	max := 1000
	if m := q.Get("maxResults"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 1 || n > 1000 {
			writeAPIError(w, validation("maxResults %q is out of range: use 1 to 1000", m))
			return
		}
		max = n
	}
	var after, before time.Time
	for _, p := range []struct {
		key string
		t   *time.Time
	}{{"submitTimeAfter", &after}, {"submitTimeBefore", &before}} {
		if v := q.Get(p.key); v != "" {
			t, err := smithytime.ParseDateTime(v)
			if err != nil {
				writeAPIError(w, validation("%s %q is not a date-time", p.key, v))
				return
			}
			*p.t = t
		}
	}
	if sb := q.Get("sortBy"); sb != "" && sb != "CreationTime" {
		writeAPIError(w, validation("sortBy %q is not supported: use CreationTime", sb))
		return
	}
	desc := true
	switch q.Get("sortOrder") {
	case "", "Descending":
	case "Ascending":
		desc = false
	default:
		writeAPIError(w, validation("sortOrder %q is not Ascending or Descending", q.Get("sortOrder")))
		return
	}
	off := 0
	if t := q.Get("nextToken"); t != "" {
		n, err := decodeToken(t)
		if err != nil || n < 0 {
			writeAPIError(w, validation("nextToken is invalid: pass the token of the previous page unchanged"))
			return
		}
		off = n
	}

	s.mu.Lock()
	var match []jobJSON
	for _, j := range s.jobs {
		if status != "" && j.status != status || name != "" && !strings.Contains(j.name, name) ||
			!after.IsZero() && !j.submit.After(after) || !before.IsZero() && !j.submit.Before(before) {
			continue
		}
		match = append(match, j.view())
	}
	s.mu.Unlock()
	if desc {
		slices.Reverse(match)
	}
	out := struct {
		Summaries []jobJSON `json:"invocationJobSummaries"`
		NextToken string    `json:"nextToken,omitempty"`
	}{Summaries: []jobJSON{}}
	if off < len(match) {
		end := min(off+max, len(match))
		out.Summaries = match[off:end]
		if end < len(match) {
			out.NextToken = encodeToken(end)
		}
	}
	writeJSON(w, out)
}
