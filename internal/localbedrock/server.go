// Package localbedrock emulates the Amazon Bedrock batch inference control
// plane (CreateModelInvocationJob, GetModelInvocationJob,
// ListModelInvocationJobs, StopModelInvocationJob) over the REST-JSON
// protocol the AWS SDK speaks, runs the jobs against a model backend
// (package backends), reading the JSONL input from and writing the
// .jsonl.out files and manifest.json.out to S3 exactly where Bedrock does,
// and reports every status change as an EventBridge "Batch Inference Job
// State Change" event. bbo's tests and its offline local runtime point the
// real SDK client at it.
package localbedrock

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/bbo-dev/bbo/internal/backends"
	"github.com/bbo-dev/bbo/internal/batchio"
)

// Job statuses, as Bedrock spells them.
const (
	StatusSubmitted          = "Submitted"
	StatusValidating         = "Validating"
	StatusScheduled          = "Scheduled"
	StatusInProgress         = "InProgress"
	StatusCompleted          = "Completed"
	StatusPartiallyCompleted = "PartiallyCompleted"
	StatusFailed             = "Failed"
	StatusStopping           = "Stopping"
	StatusStopped            = "Stopped"
	StatusExpired            = "Expired"
)

// Terminal reports whether a job in status will not change again.
func Terminal(status string) bool {
	switch status {
	case StatusCompleted, StatusPartiallyCompleted, StatusFailed, StatusStopped, StatusExpired:
		return true
	}
	return false
}

// Bedrock's batch inference quotas and defaults.
const (
	DefaultMinRecords   = batchio.DefaultMinRecordsPerJob     // records per job, at least
	DefaultMaxRecords   = batchio.DefaultHardMaxRecordsPerJob // records per job, at most
	DefaultTimeoutHours = 168                                 // timeoutDurationInHours when not given
	MinTimeoutHours     = 24
	MaxTimeoutHours     = 168
	DefaultConcurrency  = 4
	DefaultMaxActive    = 20 // submitted or in-progress jobs per model
)

// EventSink receives every job state change event (EventBridge JSON). It
// is called from the job's goroutine, in order, one event at a time per
// job.
type EventSink func(ctx context.Context, event json.RawMessage)

// Config configures a Server. S3 and Backend are required.
type Config struct {
	S3      *s3.Client       // where inputs are read and outputs written
	Backend backends.Backend // answers each record (backends.NewStub() offline)
	Events  EventSink        // nil: events are dropped

	Region    string // default "us-east-1"
	AccountID string // default "123456789012"

	// MinRecords is the fewest records a job may have (default 100, as
	// Bedrock). The local runtime may lower it; New logs a warning then,
	// because real Bedrock would reject such jobs.
	MinRecords int
	// MaxRecords is the most records a job may have (default 50,000).
	MaxRecords int
	// Concurrency bounds the backend calls in flight per job (default 4).
	Concurrency int
	// MaxActiveJobs bounds the unfinished jobs per model
	// (default 20); creating more is ServiceQuotaExceededException.
	MaxActiveJobs int
	// Attempts is how often a record is tried on throttling or server
	// errors of the backend (default 3); RetryBackoff is the first pause,
	// doubled each time (default 200ms).
	Attempts     int
	RetryBackoff time.Duration
	// Now is the clock (default time.Now); tests pass a ManualClock's Now
	// and call ExpireDue after advancing it.
	Now func() time.Time
	// ExpiryCheck is how often running jobs are checked against their
	// jobExpirationTime (default 30s; negative: never, call ExpireDue).
	ExpiryCheck time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Server is the emulator: an http.Handler for the Bedrock control plane
// that runs jobs in goroutines. Close it to stop every job.
type Server struct {
	cfg    Config
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	jobs     []*job // in creation order
	byToken  map[string]*job
	faults   faults
	closed   bool
	tickStop chan struct{}
}

// faults are the injected failures; see the Server methods that set them.
type faults struct {
	throttle    int
	failJob     map[string]string // job name → failure message
	failRecords map[string]recordFault
	hold        map[string]bool
	dropEvents  bool
}

type recordFault struct {
	code int
	fail func(recordID string) bool
}

// New checks cfg, fills its defaults and returns a running Server.
func New(cfg Config) (*Server, error) {
	if cfg.S3 == nil {
		return nil, fmt.Errorf("localbedrock: Config.S3 is nil: pass an S3 client (awsenv.S3)")
	}
	if cfg.Backend == nil {
		return nil, fmt.Errorf("localbedrock: Config.Backend is nil: pass backends.NewStub() for offline runs")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.AccountID == "" {
		cfg.AccountID = "123456789012"
	}
	if cfg.MaxRecords == 0 {
		cfg.MaxRecords = DefaultMaxRecords
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.MaxActiveJobs <= 0 {
		cfg.MaxActiveJobs = DefaultMaxActive
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 3
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = 200 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ExpiryCheck == 0 {
		cfg.ExpiryCheck = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	switch {
	case cfg.MinRecords == 0:
		cfg.MinRecords = DefaultMinRecords
	case cfg.MinRecords < 0:
		return nil, fmt.Errorf("localbedrock: MinRecords is %d: use 1 or more (Bedrock requires %d)", cfg.MinRecords, DefaultMinRecords)
	case cfg.MinRecords < DefaultMinRecords:
		cfg.Logger.Warn("local Bedrock accepts jobs below Bedrock's minimum record count; real Bedrock rejects them",
			slog.Int("min_records", cfg.MinRecords), slog.Int("bedrock_min_records", DefaultMinRecords))
	}
	if cfg.MaxRecords < cfg.MinRecords {
		return nil, fmt.Errorf("localbedrock: MaxRecords %d is below MinRecords %d", cfg.MaxRecords, cfg.MinRecords)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{cfg: cfg, log: cfg.Logger, ctx: ctx, cancel: cancel, byToken: map[string]*job{}, tickStop: make(chan struct{})}
	s.faults.failJob = map[string]string{}
	s.faults.failRecords = map[string]recordFault{}
	s.faults.hold = map[string]bool{}
	if cfg.ExpiryCheck > 0 {
		s.wg.Add(1)
		go s.expiryLoop()
	}
	return s, nil
}

func (s *Server) expiryLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.ExpiryCheck)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			s.ExpireDue()
		}
	}
}

// Close stops every running job and waits for them; their statuses stay
// as they are. Requests after Close fail.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

// ThrottleCreates makes the next n CreateModelInvocationJob calls fail
// with ThrottlingException (HTTP 429). The SDK retries throttling, so a
// test that wants to see the error sets n above the client's attempts.
func (s *Server) ThrottleCreates(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.throttle = n
}

// FailJob makes the jobs named jobName fail with message once they reach
// InProgress (as a job whose role cannot write the output would).
func (s *Server) FailJob(jobName, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.failJob[jobName] = message
}

// FailRecords makes the records of jobs named jobName for which fail
// returns true get an error line with errorCode code instead of calling
// the backend. Failing some records makes the job PartiallyCompleted,
// failing all makes it Failed.
func (s *Server) FailRecords(jobName string, code int, fail func(recordID string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.failRecords[jobName] = recordFault{code: code, fail: fail}
}

// Hold keeps jobs named jobName in Scheduled until Release, a Stop, or
// expiry: tests use it to stop or expire a job before it runs.
func (s *Server) Hold(jobName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.hold[jobName] = true
}

// Release lets held jobs named jobName run.
func (s *Server) Release(jobName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.faults.hold, jobName)
	for _, j := range s.jobs {
		if j.name == jobName && j.release != nil {
			close(j.release)
			j.release = nil
		}
	}
}

// DropEvents stops (true) or resumes (false) event delivery, as when
// EventBridge loses events; callers then have to poll.
func (s *Server) DropEvents(drop bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.dropEvents = drop
}

// ExpireDue ends every unfinished job whose jobExpirationTime is not after
// Now: a job that has not started becomes Expired; one in progress stops
// and becomes PartiallyCompleted (Expired if no record was processed).
func (s *Server) ExpireDue() {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range s.jobs {
		if !Terminal(j.status) && !j.endReq() && !now.Before(j.expire) {
			j.expired = true
			j.cancel()
		}
	}
}

// Wait blocks until the job (ARN, id or name) is finished or ctx ends and
// returns its final status.
func (s *Server) Wait(ctx context.Context, jobIdentifier string) (string, error) {
	s.mu.Lock()
	j := s.find(jobIdentifier)
	s.mu.Unlock()
	if j == nil {
		return "", fmt.Errorf("no job %q", jobIdentifier)
	}
	select {
	case <-j.done:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return j.status, nil
}

// ManualClock is a settable clock for tests: pass its Now as Config.Now.
type ManualClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewManualClock returns a clock stopped at t.
func NewManualClock(t time.Time) *ManualClock { return &ManualClock{t: t} }

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newJobID returns a 12-character lowercase job id, as Bedrock's.
func newJobID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 12)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			panic("localbedrock: crypto/rand failed: " + err.Error())
		}
		b[i] = alphabet[n.Int64()]
	}
	return string(b)
}

// requestHash identifies a create request's parameters for idempotency.
func requestHash(v any) [32]byte {
	b, _ := json.Marshal(v)
	return sha256.Sum256(b)
}

// ServeHTTP routes the Bedrock control plane operations.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		writeError(w, http.StatusInternalServerError, "InternalServerException", "local Bedrock is shut down")
		return
	}
	segs, ok := splitPath(r.URL.EscapedPath())
	if !ok {
		writeError(w, http.StatusBadRequest, "ValidationException", "malformed request path "+r.URL.Path)
		return
	}
	switch {
	case r.Method == http.MethodPost && len(segs) == 1 && segs[0] == "model-invocation-job":
		s.create(w, r)
	case r.Method == http.MethodGet && len(segs) == 1 && segs[0] == "model-invocation-jobs":
		s.list(w, r)
	case r.Method == http.MethodGet && len(segs) == 2 && segs[0] == "model-invocation-job":
		s.get(w, segs[1])
	case r.Method == http.MethodPost && len(segs) == 3 && segs[0] == "model-invocation-job" && segs[2] == "stop":
		s.stop(w, segs[1])
	default:
		writeError(w, http.StatusNotFound, "UnknownOperationException", fmt.Sprintf("local Bedrock does not implement %s %s: only the batch inference job operations", r.Method, r.URL.Path))
	}
}
