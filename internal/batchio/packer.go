package batchio

import (
	"errors"
	"fmt"
)

// Bedrock's batch inference quotas (defaults; accounts may differ).
const (
	// DefaultMinRecordsPerJob is "Minimum number of records per batch
	// inference job": Bedrock rejects smaller jobs.
	DefaultMinRecordsPerJob = 100
	// DefaultHardMaxRecordsPerJob is "Records per batch inference job".
	DefaultHardMaxRecordsPerJob = 50_000
	// DefaultMaxJobBytes is "Batch inference input file size" (1 GB); each
	// job has one input file.
	DefaultMaxJobBytes int64 = 1 << 30
	// DefaultMaxRecordsPerJob is the user-facing default job size.
	DefaultMaxRecordsPerJob = 1000
)

// Limits bound the jobs a Packer makes.
type Limits struct {
	MaxRecordsPerJob     int   // the user's job size (default 1000)
	MaxNumJobs           int   // 0 = unlimited
	MinRecordsPerJob     int   // Bedrock's minimum (default 100)
	HardMaxRecordsPerJob int   // Bedrock's maximum (default 50,000)
	MaxJobBytes          int64 // Bedrock's input file size limit (default 1 GB)
}

// DefaultLimits returns Bedrock's default quotas and a job size of 1000.
func DefaultLimits() Limits {
	return Limits{
		MaxRecordsPerJob:     DefaultMaxRecordsPerJob,
		MinRecordsPerJob:     DefaultMinRecordsPerJob,
		HardMaxRecordsPerJob: DefaultHardMaxRecordsPerJob,
		MaxJobBytes:          DefaultMaxJobBytes,
	}
}

// Validate checks that the limits can make jobs Bedrock accepts.
func (l Limits) Validate() error {
	switch {
	case l.MinRecordsPerJob < 1:
		return fmt.Errorf("minimum records per job is %d: it must be at least 1", l.MinRecordsPerJob)
	case l.MaxRecordsPerJob < l.MinRecordsPerJob:
		return fmt.Errorf("max_records_per_job is %d but Bedrock needs at least %d records per job: raise max_records_per_job", l.MaxRecordsPerJob, l.MinRecordsPerJob)
	case l.MaxRecordsPerJob > l.HardMaxRecordsPerJob:
		return fmt.Errorf("max_records_per_job is %d but Bedrock accepts at most %d records per job: lower max_records_per_job", l.MaxRecordsPerJob, l.HardMaxRecordsPerJob)
	case l.MaxNumJobs < 0:
		return fmt.Errorf("max_num_jobs is %d: use 0 for no limit or a positive number", l.MaxNumJobs)
	case l.MaxJobBytes <= 0:
		return fmt.Errorf("maximum job size is %d bytes: it must be positive", l.MaxJobBytes)
	}
	return nil
}

// Item is one request line and what the caller needs to keep per record
// (e.g. the input row), handed to the job it lands in.
type Item[T any] struct {
	ID    string // record id, for error messages
	Line  []byte // one input line, as made by AppendInputLine
	Value T
}

// JobSink creates the jobs a Packer fills.
type JobSink[T any] interface {
	// Open starts job number index (0, 1, ...).
	Open(index int) (JobWriter[T], error)
}

// JobWriter receives one job's items. Add must not keep item.Line after it
// returns.
type JobWriter[T any] interface {
	Add(item Item[T]) error
	Close() error
}

// JobStat describes one job written.
type JobStat struct {
	Index   int
	Records int
	Bytes   int64
}

// PackResult describes the jobs a Packer made.
type PackResult struct {
	Jobs []JobStat
	// Truncated is set when MaxNumJobs was reached with input left over.
	// The rest of the input was not read, so it is not counted.
	Truncated bool
	// Merged is the number of records appended to the last job because
	// they were too few for a job of their own; that job then has up to
	// MinRecordsPerJob-1 records more than MaxRecordsPerJob.
	Merged int
}

// TooFewRecordsError is returned when records are left that cannot form a
// job Bedrock accepts.
type TooFewRecordsError struct {
	Count int // records that could not be placed
	Min   int // Bedrock's minimum records per job
	// Reason is set when the records could not join the previous job
	// because a hard limit would be broken.
	Reason string
}

func (e *TooFewRecordsError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("%d records are left over, fewer than Bedrock's minimum of %d per batch job, and they cannot join the previous job: %s; change max_records_per_job so the records divide into jobs of at least %d", e.Count, e.Min, e.Reason, e.Min)
	}
	if e.Count == 0 {
		return fmt.Sprintf("the input has no records; a Bedrock batch job needs at least %d", e.Min)
	}
	return fmt.Sprintf("the input has %d records, fewer than Bedrock's minimum of %d per batch job: add records, or run them on demand or locally instead of as a batch job", e.Count, e.Min)
}

// ErrLineTooLarge is wrapped by the error for a single line larger than
// MaxJobBytes.
var ErrLineTooLarge = errors.New("record is larger than a Bedrock batch input file may be")

// Packer splits a stream of request lines into jobs.
//
// Remainder policy — the Packer never makes a job Bedrock rejects for being
// too small. A new job's first MinRecordsPerJob-1 items are buffered in
// memory (copies of their lines; at most MinRecordsPerJob-1 items); only
// when the job reaches the minimum is it opened on the sink and the
// previous job closed. A job is full at MaxRecordsPerJob records or when
// the next line would take it past MaxJobBytes. At Close, a buffered
// remainder (fewer than the minimum) is appended to the previous job, still
// open, as long as that job then stays within HardMaxRecordsPerJob and
// MaxJobBytes; so the last job may exceed MaxRecordsPerJob by fewer than
// MinRecordsPerJob records (reported as PackResult.Merged). If there is no
// previous job (the whole input has fewer than the minimum) or appending
// would break a hard limit, Close returns a *TooFewRecordsError.
//
// When MaxNumJobs jobs exist and another would start, Add returns false
// and PackResult.Truncated is set: the caller stops reading, and the
// records not read are not counted.
//
// After an error the jobs written so far are incomplete; discard them.
type Packer[T any] struct {
	lim       Limits
	sink      JobSink[T]
	res       PackResult
	open      JobWriter[T] // the newest job, opened on the sink
	cur       *JobStat     // its stats (last element of res.Jobs)
	pending   []Item[T]    // the next job's first items, not yet opened
	pendBytes int64
	started   int // jobs started, including the pending one
	done      bool
}

// NewPacker returns a Packer writing jobs to sink.
func NewPacker[T any](lim Limits, sink JobSink[T]) (*Packer[T], error) {
	if err := lim.Validate(); err != nil {
		return nil, err
	}
	return &Packer[T]{lim: lim, sink: sink}, nil
}

// Add places one item. It returns false, without taking the item, when
// MaxNumJobs is reached; the caller should stop reading input then.
func (p *Packer[T]) Add(it Item[T]) (bool, error) {
	if p.done {
		return false, nil
	}
	n := int64(len(it.Line))
	if n > p.lim.MaxJobBytes {
		return false, fmt.Errorf("record %q: %w (%d bytes, limit %d)", it.ID, ErrLineTooLarge, n, p.lim.MaxJobBytes)
	}
	if p.pending == nil && p.open != nil && p.cur.Records < p.lim.MaxRecordsPerJob && p.cur.Bytes+n <= p.lim.MaxJobBytes {
		if err := p.open.Add(it); err != nil {
			return false, fmt.Errorf("job %s: add record %q: %w", IndexName(p.cur.Index), it.ID, err)
		}
		p.cur.Records++
		p.cur.Bytes += n
		return true, nil
	}
	if p.pending == nil {
		if p.lim.MaxNumJobs > 0 && p.started >= p.lim.MaxNumJobs {
			p.done = true
			p.res.Truncated = true
			return false, nil
		}
		p.started++
		p.pending = make([]Item[T], 0, p.lim.MinRecordsPerJob)
	}
	if p.pendBytes+n > p.lim.MaxJobBytes {
		return false, fmt.Errorf("record %q: %d records already take %d bytes, so a job of Bedrock's minimum %d records would pass the %d-byte input file limit: make the records smaller", it.ID, len(p.pending), p.pendBytes, p.lim.MinRecordsPerJob, p.lim.MaxJobBytes)
	}
	it.Line = append([]byte(nil), it.Line...)
	p.pending = append(p.pending, it)
	p.pendBytes += n
	if len(p.pending) == p.lim.MinRecordsPerJob {
		if err := p.startPending(); err != nil {
			return false, err
		}
	}
	return true, nil
}

// startPending closes the previous job and opens the pending one.
func (p *Packer[T]) startPending() error {
	if err := p.closeOpen(); err != nil {
		return err
	}
	index := len(p.res.Jobs)
	w, err := p.sink.Open(index)
	if err != nil {
		return fmt.Errorf("job %s: open: %w", IndexName(index), err)
	}
	p.open = w
	p.res.Jobs = append(p.res.Jobs, JobStat{Index: index})
	p.cur = &p.res.Jobs[len(p.res.Jobs)-1]
	if err := p.flushPending(); err != nil {
		return err
	}
	return nil
}

func (p *Packer[T]) flushPending() error {
	for _, it := range p.pending {
		if err := p.open.Add(it); err != nil {
			return fmt.Errorf("job %s: add record %q: %w", IndexName(p.cur.Index), it.ID, err)
		}
		p.cur.Records++
		p.cur.Bytes += int64(len(it.Line))
	}
	p.pending, p.pendBytes = nil, 0
	return nil
}

func (p *Packer[T]) closeOpen() error {
	if p.open == nil {
		return nil
	}
	w := p.open
	p.open = nil
	if err := w.Close(); err != nil {
		return fmt.Errorf("job %s: close: %w", IndexName(p.cur.Index), err)
	}
	return nil
}

// Close places the remainder (see Packer), closes the last job and returns
// what was written.
func (p *Packer[T]) Close() (PackResult, error) {
	p.done = true
	if len(p.pending) > 0 || p.open == nil {
		n := len(p.pending)
		var tooFew error
		switch {
		case p.open == nil:
			tooFew = &TooFewRecordsError{Count: n, Min: p.lim.MinRecordsPerJob}
		case p.cur.Records+n > p.lim.HardMaxRecordsPerJob:
			tooFew = &TooFewRecordsError{Count: n, Min: p.lim.MinRecordsPerJob,
				Reason: fmt.Sprintf("job %s would have %d records, more than Bedrock's %d", IndexName(p.cur.Index), p.cur.Records+n, p.lim.HardMaxRecordsPerJob)}
		case p.cur.Bytes+p.pendBytes > p.lim.MaxJobBytes:
			tooFew = &TooFewRecordsError{Count: n, Min: p.lim.MinRecordsPerJob,
				Reason: fmt.Sprintf("job %s would have %d bytes, more than the %d-byte input file limit", IndexName(p.cur.Index), p.cur.Bytes+p.pendBytes, p.lim.MaxJobBytes)}
		}
		if tooFew != nil {
			if err := p.closeOpen(); err != nil {
				return p.res, errors.Join(tooFew, err)
			}
			return p.res, tooFew
		}
		p.res.Merged = n
		if err := p.flushPending(); err != nil {
			return p.res, errors.Join(err, p.closeOpen())
		}
	}
	return p.res, p.closeOpen()
}
