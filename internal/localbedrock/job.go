package localbedrock

import (
	"github.com/bbo-dev/bbo/internal/jsontext"

	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/bbo-dev/bbo/internal/backends"
	"github.com/bbo-dev/bbo/internal/batchio"
	"github.com/bbo-dev/bbo/internal/models"
	"github.com/bbo-dev/bbo/internal/s3io"
)

// job is one batch inference job. Fields below the line are guarded by
// Server.mu.
type job struct {
	req   createRequest
	hash  [32]byte
	id    string
	arn   string
	name  string
	files []s3io.URI

	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
	eventMu sync.Mutex // orders a job's status changes with their events

	// guarded by Server.mu
	status                          string
	message                         string
	submit, lastMod, end, expire    time.Time
	started                         bool // InProgress was reached: counts are shown
	total, processed, success, errs int64
	inTokens, outTokens             int64
	stopped, expired                bool
	release                         chan struct{} // non-nil while held
}

// endReq reports whether a stop or expiry was asked for.
func (j *job) endReq() bool { return j.stopped || j.expired }

// setStatus records a status change and emits its event. A stopping job
// only moves to a terminal status.
func (s *Server) setStatus(j *job, status, message string) bool {
	j.eventMu.Lock()
	defer j.eventMu.Unlock()
	s.mu.Lock()
	if Terminal(j.status) || (j.status == StatusStopping && !Terminal(status)) || j.status == status {
		s.mu.Unlock()
		return false
	}
	now := s.cfg.Now()
	j.status, j.message, j.lastMod = status, message, now
	if status == StatusInProgress {
		j.started = true
	}
	if Terminal(status) {
		j.end = now
	}
	s.mu.Unlock()
	s.log.Info("batch inference job status", slog.String("job_arn", j.arn), slog.String("status", status), slog.String("message", message))
	s.emit(j)
	return true
}

// run drives a job from Submitted to a terminal status.
func (s *Server) run(j *job) {
	defer s.wg.Done()
	defer close(j.done)
	defer j.cancel()

	if !s.setStatus(j, StatusValidating, "") && s.ending(j) {
		s.finishEarly(j)
		return
	}
	if err := s.validateInput(j); err != nil {
		if s.ending(j) {
			s.finishEarly(j)
			return
		}
		s.setStatus(j, StatusFailed, err.Error())
		return
	}
	s.setStatus(j, StatusScheduled, "")
	s.mu.Lock()
	release := j.release
	s.mu.Unlock()
	if release != nil {
		select {
		case <-release:
		case <-j.ctx.Done():
		}
	}
	if s.ending(j) {
		s.finishEarly(j)
		return
	}
	s.setStatus(j, StatusInProgress, "")
	s.mu.Lock()
	failMsg, fail := s.faults.failJob[j.name]
	s.mu.Unlock()
	if fail {
		s.setStatus(j, StatusFailed, failMsg)
		return
	}
	out, err := s3io.ParseURI(j.req.OutputDataConfig.S3OutputDataConfig.S3URI)
	if err != nil { // validated at create
		s.setStatus(j, StatusFailed, err.Error())
		return
	}
	out = out.Join(j.id)
	var runErr error
	for _, f := range j.files {
		if runErr = s.processFile(j, f, out.Join(f.Base()+".out")); runErr != nil {
			break
		}
	}
	s.mu.Lock()
	m := batchio.Manifest{TotalRecordCount: j.total, ProcessedRecordCount: j.processed, SuccessRecordCount: j.success,
		ErrorRecordCount: j.errs, InputTokenCount: j.inTokens, OutputTokenCount: j.outTokens}
	stopped, expired := j.stopped, j.expired
	s.mu.Unlock()
	mb, _ := json.Marshal(m)
	// The manifest is written with the service's own context: a stopped
	// or expired job still reports what it did.
	if err := s3io.Put(s.ctx, s.cfg.S3, out.Join(batchio.ManifestName), mb, "application/json"); err != nil && runErr == nil {
		runErr = err
	}
	switch {
	case stopped:
		s.setStatus(j, StatusStopped, "")
	case expired && m.SuccessRecordCount > 0:
		s.setStatus(j, StatusPartiallyCompleted, fmt.Sprintf("The job timed out after %d hours; %d of %d records were processed", *j.req.TimeoutDurationInHours, m.ProcessedRecordCount, m.TotalRecordCount))
	case expired:
		s.setStatus(j, StatusExpired, fmt.Sprintf("The job timed out after %d hours", *j.req.TimeoutDurationInHours))
	case s.ctx.Err() != nil:
		s.setStatus(j, StatusFailed, "local Bedrock was shut down while the job ran")
	case runErr != nil:
		s.setStatus(j, StatusFailed, runErr.Error())
	case m.ErrorRecordCount > 0 && m.SuccessRecordCount == 0:
		s.setStatus(j, StatusFailed, fmt.Sprintf("All %d records failed; see the error lines in the output", m.ErrorRecordCount))
	case m.ErrorRecordCount > 0:
		s.setStatus(j, StatusPartiallyCompleted, fmt.Sprintf("%d of %d records failed; see the error lines in the output", m.ErrorRecordCount, m.TotalRecordCount))
	default:
		s.setStatus(j, StatusCompleted, "")
	}
}

// ending reports whether the job was asked to stop or expire.
func (s *Server) ending(j *job) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return j.endReq() || s.ctx.Err() != nil
}

// finishEarly ends a job that never reached InProgress.
func (s *Server) finishEarly(j *job) {
	s.mu.Lock()
	stopped, expired := j.stopped, j.expired
	s.mu.Unlock()
	switch {
	case stopped:
		s.setStatus(j, StatusStopped, "")
	case expired:
		s.setStatus(j, StatusExpired, fmt.Sprintf("The job was not started within its timeout of %d hours", *j.req.TimeoutDurationInHours))
	default:
		s.setStatus(j, StatusFailed, "local Bedrock was shut down before the job ran")
	}
}

// inputLine is one Bedrock batch input record.
type inputLine struct {
	RecordID   *string         `json:"recordId"`
	ModelInput json.RawMessage `json:"modelInput"`
}

// parseInputLine checks one input line like Bedrock's validation does.
func parseInputLine(b []byte) (inputLine, error) {
	var l inputLine
	if err := json.Unmarshal(b, &l); err != nil {
		return l, fmt.Errorf("not a JSON object: %v", err)
	}
	if len(l.ModelInput) == 0 || l.ModelInput[0] != '{' {
		return l, errors.New(`"modelInput" must be a JSON object`)
	}
	if l.RecordID != nil && (*l.RecordID == "" || len(*l.RecordID) > 256) {
		return l, errors.New(`"recordId" must be 1 to 256 characters when given`)
	}
	return l, nil
}

// lines calls fn with each non-blank line of f (1-based numbers); the
// slice is only valid during the call.
func lines(ctx context.Context, c s3io.API, f s3io.URI, fn func(n int, line []byte) error) error {
	body, _, err := s3io.Open(ctx, c, f)
	if err != nil {
		return err
	}
	defer body.Close()
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 0, 64<<10), batchio.MaxLineBytes)
	n := 0
	for sc.Scan() {
		n++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if err := fn(n, b); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s line %d: %w", f, n+1, err)
	}
	return nil
}

// countRecords counts the non-blank lines of f.
func countRecords(ctx context.Context, c s3io.API, f s3io.URI) (int64, error) {
	var n int64
	err := lines(ctx, c, f, func(int, []byte) error { n++; return nil })
	return n, err
}

// validateInput checks every line of every input file.
func (s *Server) validateInput(j *job) error {
	for _, f := range j.files {
		err := lines(j.ctx, s.cfg.S3, f, func(n int, b []byte) error {
			if _, err := parseInputLine(b); err != nil {
				return fmt.Errorf("validation failed: %s line %d is not a valid batch inference record: %v; each line must be {\"recordId\": \"...\", \"modelInput\": {...}}", f, n, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// generatedRecordID makes the id Bedrock adds to records without one: 11
// uppercase letters and digits, here hashed from the file and line.
func generatedRecordID(f s3io.URI, line int) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%d", f, line)
	x := h.Sum64()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 11)
	for i := range b {
		b[i] = alphabet[x%36]
		x /= 36
		if x == 0 {
			x = h.Sum64() ^ uint64(i+1)*0x9e3779b97f4a7c15
		}
	}
	return string(b)
}

type work struct {
	id    string
	input json.RawMessage
}

type result struct {
	line    []byte
	ok      bool
	in, out int64
}

// processFile runs every record of f through the backend with bounded
// concurrency and streams the output lines to dst. Lines are written in
// completion order, as Bedrock does not promise input order either.
func (s *Server) processFile(j *job, f, dst s3io.URI) error {
	proc, err := models.Lookup(j.req.ModelID)
	if err != nil {
		return err
	}
	s.mu.Lock()
	rf, hasRF := s.faults.failRecords[j.name]
	s.mu.Unlock()

	works := make(chan work)
	results := make(chan result)
	var wg sync.WaitGroup
	for range s.cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for w := range works {
				results <- s.record(j, proc, w, rf, hasRF)
			}
		}()
	}
	readErr := make(chan error, 1)
	go func() {
		defer close(works)
		readErr <- lines(j.ctx, s.cfg.S3, f, func(n int, b []byte) error {
			l, err := parseInputLine(b)
			if err != nil { // validated already; the object changed since
				return fmt.Errorf("%s line %d: %v", f, n, err)
			}
			id := generatedRecordID(f, n)
			if l.RecordID != nil {
				id = *l.RecordID
			}
			select {
			case works <- work{id: id, input: bytes.Clone(l.ModelInput)}:
				return nil
			case <-j.ctx.Done():
				return j.ctx.Err()
			}
		})
	}()
	go func() {
		wg.Wait()
		close(results)
	}()

	w := s3io.Create(s.ctx, s.cfg.S3, dst, "application/jsonl")
	var writeErr error
	for r := range results {
		if writeErr == nil {
			if _, err := w.Write(r.line); err != nil {
				writeErr = err
			}
		}
		s.mu.Lock()
		j.processed++
		if r.ok {
			j.success++
		} else {
			j.errs++
		}
		j.inTokens += r.in
		j.outTokens += r.out
		s.mu.Unlock()
	}
	rerr := <-readErr
	if writeErr != nil {
		w.Abort(writeErr)
		return fmt.Errorf("write %s: %w", dst, writeErr)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	if rerr != nil && j.ctx.Err() == nil {
		return rerr
	}
	return nil
}

// record answers one record: an output line with modelOutput, or with
// error after retries.
func (s *Server) record(j *job, proc models.Processor, w work, rf recordFault, hasRF bool) result {
	if hasRF && rf.fail(w.id) {
		return result{line: errorLine(w, rf.code, "injected record failure (local Bedrock fault)")}
	}
	var (
		out []byte
		err error
	)
	delay := s.cfg.RetryBackoff
	for attempt := range s.cfg.Attempts {
		if attempt > 0 {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-j.ctx.Done():
				t.Stop()
			}
			delay *= 2
		}
		if j.ctx.Err() != nil {
			err = j.ctx.Err()
			break
		}
		out, err = s.cfg.Backend.Invoke(j.ctx, j.req.ModelID, w.input)
		if err == nil || !backends.Retryable(err) {
			break
		}
	}
	if err != nil {
		return result{line: errorLine(w, backends.Code(err), err.Error())}
	}
	var compact bytes.Buffer
	if e := json.Compact(&compact, out); e != nil || compact.Len() == 0 || compact.Bytes()[0] != '{' {
		return result{line: errorLine(w, 500, "the model returned a body that is not a JSON object")}
	}
	res, _ := proc.ParseModelOutput(compact.Bytes())
	line := make([]byte, 0, len(w.input)+compact.Len()+len(w.id)+48)
	line = append(line, `{"modelInput":`...)
	line = append(line, w.input...)
	line = append(line, `,"modelOutput":`...)
	line = append(line, compact.Bytes()...)
	line = append(line, `,"recordId":`...)
	line = jsontext.AppendString(line, w.id)
	line = append(line, "}\n"...)
	return result{line: line, ok: true, in: int64(res.Usage.InputTokens), out: int64(res.Usage.OutputTokens)}
}

// errorLine is Bedrock's output line for a failed record.
func errorLine(w work, code int, msg string) []byte {
	line := make([]byte, 0, len(w.input)+len(msg)+len(w.id)+80)
	line = append(line, `{"modelInput":`...)
	line = append(line, w.input...)
	line = append(line, `,"error":{"errorCode":`...)
	line = fmt.Appendf(line, "%d", code)
	line = append(line, `,"errorMessage":`...)
	line = jsontext.AppendString(line, msg)
	line = append(line, `},"recordId":`...)
	line = jsontext.AppendString(line, w.id)
	return append(line, "}\n"...)
}
