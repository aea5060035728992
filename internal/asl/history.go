package asl

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// EventType names a history event.
type EventType string

// History event types.
const (
	EventExecutionStarted    EventType = "ExecutionStarted"
	EventExecutionSucceeded  EventType = "ExecutionSucceeded"
	EventExecutionFailed     EventType = "ExecutionFailed"
	EventExecutionTimedOut   EventType = "ExecutionTimedOut"
	EventExecutionAborted    EventType = "ExecutionAborted"
	EventStateEntered        EventType = "StateEntered"
	EventStateExited         EventType = "StateExited"
	EventStateFailed         EventType = "StateFailed"
	EventTaskScheduled       EventType = "TaskScheduled"
	EventTaskSucceeded       EventType = "TaskSucceeded"
	EventTaskFailed          EventType = "TaskFailed"
	EventTaskTimedOut        EventType = "TaskTimedOut"
	EventTaskHeartbeat       EventType = "TaskHeartbeat"
	EventTaskRetry           EventType = "TaskRetryScheduled"
	EventWaitStarted         EventType = "WaitStarted"
	EventMapIterationStarted EventType = "MapIterationStarted"
	EventMapIterationDone    EventType = "MapIterationSucceeded"
	EventMapIterationFailed  EventType = "MapIterationFailed"
	EventParallelBranchStart EventType = "ParallelBranchStarted"
	EventCaught              EventType = "ErrorCaught"
)

// Event is one entry of an execution's history.
type Event struct {
	ID        int
	Time      time.Time
	Type      EventType
	Execution string // execution name
	State     string
	Resource  string
	Input     json.RawMessage
	Output    json.RawMessage
	Error     string
	Cause     string
	// Index is the Map item or Parallel branch index, or the retry attempt
	// for TaskRetryScheduled; -1 when it does not apply.
	Index int
	// Delay is the wait before a retry or in a Wait state.
	Delay time.Duration
}

// String renders the event on one line, with payloads cut to 200 bytes.
func (e Event) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-22s", e.Type)
	if e.State != "" {
		fmt.Fprintf(&b, " state=%q", e.State)
	}
	if e.Index > 0 || (e.Index == 0 && (e.Type == EventMapIterationStarted || e.Type == EventMapIterationDone || e.Type == EventMapIterationFailed || e.Type == EventParallelBranchStart)) {
		fmt.Fprintf(&b, " index=%d", e.Index)
	}
	if e.Resource != "" {
		fmt.Fprintf(&b, " resource=%s", e.Resource)
	}
	if e.Delay > 0 {
		fmt.Fprintf(&b, " delay=%s", e.Delay)
	}
	if e.Error != "" {
		fmt.Fprintf(&b, " error=%s", e.Error)
	}
	if e.Cause != "" {
		fmt.Fprintf(&b, " cause=%q", clip(e.Cause))
	}
	if len(e.Input) > 0 {
		fmt.Fprintf(&b, " input=%s", clip(string(e.Input)))
	}
	if len(e.Output) > 0 {
		fmt.Fprintf(&b, " output=%s", clip(string(e.Output)))
	}
	return b.String()
}

func clip(s string) string {
	const n = 200
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// FormatHistory writes events as text, one per line, with the time since
// the first event.
func FormatHistory(w io.Writer, events []Event) error {
	var t0 time.Time
	for i, e := range events {
		if i == 0 {
			t0 = e.Time
		}
		if _, err := fmt.Fprintf(w, "%4d %9s %s\n", e.ID, "+"+e.Time.Sub(t0).Round(time.Millisecond).String(), e); err != nil {
			return err
		}
	}
	return nil
}
