package asl

import (
	"context"
	"errors"
	"fmt"

	"github.com/bbo-dev/bbo/internal/taskerr"
)

// Error names defined by the States Language.
const (
	ErrAll                   = "States.ALL"
	ErrTaskFailed            = "States.TaskFailed"
	ErrTimeout               = "States.Timeout"
	ErrHeartbeatTimeout      = "States.HeartbeatTimeout"
	ErrRuntime               = "States.Runtime"
	ErrBranchFailed          = "States.BranchFailed"
	ErrNoChoiceMatched       = "States.NoChoiceMatched"
	ErrIntrinsicFailure      = "States.IntrinsicFailure"
	ErrResultPathMatch       = "States.ResultPathMatchFailure"
	ErrParameterPathFailure  = "States.ParameterPathFailure"
	ErrPermissions           = "States.Permissions"
	ErrDataLimitExceeded     = "States.DataLimitExceeded"
	errExecutionAborted      = "States.Aborted"
	errExecutionTimedOutName = "States.ExecutionTimeout"
)

// Error is a named failure, as Step Functions sees it: the Name is what
// Retry and Catch match in ErrorEquals, the Cause is free text. Task handlers
// return *Error to fail with a specific name; any other error becomes
// States.TaskFailed (a *taskerr.Error keeps its taskerr name).
type Error struct {
	Name  string
	Cause string
}

// Error implements error.
func (e *Error) Error() string {
	if e.Cause == "" {
		return e.Name
	}
	return e.Name + ": " + e.Cause
}

func newErr(name, format string, args ...any) *Error {
	return &Error{Name: name, Cause: fmt.Sprintf(format, args...)}
}

// stateErr prefixes the cause with the state name, so a failed execution
// says where it failed.
func stateErr(state, name, format string, args ...any) *Error {
	return &Error{Name: name, Cause: fmt.Sprintf("state %q: ", state) + fmt.Sprintf(format, args...)}
}

// asError converts a handler error to a named error.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var te *taskerr.Error
	if errors.As(err, &te) {
		return &Error{Name: te.Name, Cause: err.Error()}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Name: ErrTimeout, Cause: err.Error()}
	}
	return &Error{Name: ErrTaskFailed, Cause: err.Error()}
}

// matches reports whether a Retrier or Catcher with errorEquals handles name.
// States.Runtime is terminal and matches nothing; States.ALL matches every
// other name; States.TaskFailed matches every name except States.Timeout.
func matches(errorEquals []string, name string) bool {
	if name == ErrRuntime || name == ErrDataLimitExceeded || name == errExecutionAborted {
		return false
	}
	for _, want := range errorEquals {
		switch {
		case want == name:
			return true
		case want == ErrAll:
			return true
		case want == ErrTaskFailed && name != ErrTimeout:
			return true
		}
	}
	return false
}
