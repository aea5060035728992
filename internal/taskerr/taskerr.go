// Package taskerr holds the error names bbo's tasks report to Step
// Functions, so the state machines can Retry and Catch on them, and the
// typed error that carries a name from a handler to the Lambda runtime (or
// to the local interpreter).
package taskerr

import (
	"errors"
	"fmt"
)

// Error names. The ASL files Retry/Catch on these strings; they are the one
// place the names are spelled.
const (
	// InvalidConfig: the job request or pipeline config is wrong. Not retried.
	InvalidConfig = "InvalidConfig"
	// InputNotFound: the input object, prefix or dataset does not exist or
	// holds nothing usable. Not retried.
	InputNotFound = "InputNotFound"
	// InvalidInput: the input exists but cannot be read (bad header, not
	// parquet, unsupported extension). Not retried.
	InvalidInput = "InvalidInput"
	// TooFewRecords: fewer records than Bedrock's per-job minimum. Not retried.
	TooFewRecords = "TooFewRecords"
	// Throttled: Bedrock or another service throttled us or a quota
	// (ServiceQuotaExceededException) is full. Retried with backoff.
	Throttled = "ThrottledError"
	// BatchJobFailed, BatchJobStopped, BatchJobExpired: the Bedrock batch
	// job ended without results (sent with SendTaskFailure).
	BatchJobFailed  = "BatchJobFailed"
	BatchJobStopped = "BatchJobStopped"
	BatchJobExpired = "BatchJobExpired"
	// PreviousOutputNotFound: a stage with use_previous_output found no
	// output of the stage before it.
	PreviousOutputNotFound = "PreviousOutputNotFound"
	// OutputNotFound: a finished job has no .jsonl.out in its output prefix.
	OutputNotFound = "OutputNotFound"
	// Transient: an AWS call failed in a way worth retrying (5xx, timeout).
	Transient = "TransientError"
	// Internal: a bug or an unexpected state. Not retried.
	Internal = "InternalError"
)

// Error is an error with a name Step Functions can branch on.
type Error struct {
	Name string
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

// New returns a named error with a formatted message.
func New(name, format string, args ...any) error {
	return &Error{Name: name, Err: fmt.Errorf(format, args...)}
}

// Wrap names err. A nil err stays nil; an err that already has a name keeps
// it (the innermost cause knows best).
func Wrap(name string, err error) error {
	if err == nil {
		return nil
	}
	var te *Error
	if errors.As(err, &te) {
		return err
	}
	return &Error{Name: name, Err: err}
}

// Name returns the name of err for Step Functions: the name of the first
// *Error in its chain, or Internal.
func Name(err error) string {
	var te *Error
	if errors.As(err, &te) {
		return te.Name
	}
	return Internal
}
