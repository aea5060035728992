package requests

import (
	"context"
	"errors"
	"iter"

	"github.com/bbo-dev/bbo/internal/batchio"
	"github.com/bbo-dev/bbo/internal/records"
)

// Row is what a job keeps per request for the join after Bedrock answers:
// the input record and the request made from it.
type Row struct {
	Record    records.Record
	RequestID string
	PromptID  string
}

// RowHeader is the header of the rows a job keeps: the input columns, then
// request_id and prompt_id.
func RowHeader(in *records.Header) *records.Header {
	return in.With(RequestIDColumn, PromptIDColumn)
}

// Summary counts what Pack did.
type Summary struct {
	// Records is the number of input records read.
	Records int
	// Requests is the number of requests written to jobs.
	Requests int
	// Failed is the number of records (or expanded requests) that could
	// not be built; each was passed to the onFail callback.
	Failed int
	// Jobs is what the packer wrote.
	Jobs batchio.PackResult
}

// Pack reads records, builds their requests and packs them into jobs.
// Records that cannot be read or built go to onFail (with a
// *records.RowError or *RecordError) and are counted; any other error stops
// the run. Reading stops early when the packer reaches max_num_jobs.
func Pack(ctx context.Context, recs iter.Seq2[records.Record, error], b *Builder, p *batchio.Packer[Row], onFail func(error) error) (Summary, error) {
	var (
		sum  Summary
		line []byte
		full bool
		cur  records.Record
	)
	emit := func(r Request) error {
		if full {
			return nil
		}
		line = batchio.AppendInputLine(line[:0], r.ID, r.ModelInput)
		accepted, err := p.Add(batchio.Item[Row]{ID: r.ID, Line: line, Value: Row{Record: cur, RequestID: r.ID, PromptID: r.PromptID}})
		if err != nil {
			return err
		}
		if !accepted {
			full = true
			return nil
		}
		sum.Requests++
		return nil
	}
	for rec, err := range recs {
		if err != nil {
			var rowErr *records.RowError
			if !errors.As(err, &rowErr) {
				return sum, err
			}
			sum.Failed++
			if err := onFail(err); err != nil {
				return sum, err
			}
			continue
		}
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		cur = rec
		err = b.Build(ctx, rec, emit)
		if full {
			break
		}
		sum.Records++
		if n, ok := recordErrors(err); ok {
			sum.Failed += n
			if err := onFail(err); err != nil {
				return sum, err
			}
		} else if err != nil {
			return sum, err
		}
	}
	res, err := p.Close()
	sum.Jobs = res
	return sum, err
}

// recordErrors reports whether err consists only of *RecordError values,
// and how many.
func recordErrors(err error) (int, bool) {
	if err == nil {
		return 0, false
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		n := 0
		for _, e := range joined.Unwrap() {
			var re *RecordError
			if !errors.As(e, &re) {
				return 0, false
			}
			n++
		}
		return n, n > 0
	}
	var re *RecordError
	if errors.As(err, &re) {
		return 1, true
	}
	return 0, false
}
