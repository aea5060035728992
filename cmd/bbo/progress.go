package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/bbo-dev/bbo/internal/asl"
	"github.com/bbo-dev/bbo/internal/localbedrock"
)

// stageStats is what the CLI knows about one stage, gathered from the
// state machine events and Bedrock job events.
type stageStats struct {
	name, prefix string
	state        string // state last entered
	started      time.Time
	ended        time.Time

	jobs, submitted, done, failedJobs int
	running                           map[string]bool // Bedrock jobs in a non-terminal status after Submitted

	recordsRead, requests, failedRecords int
	errorsURI                            string
	rowsOK, rowsFailed                   int
	inputTokens, outputTokens            int64
	outputPaths                          []string
}

// failure is the first task failure of a run: where the error started.
type failure struct {
	stage, state, name, cause string
}

// tracker turns events into per-stage counters. Observe and BedrockEvent
// only queue the event (they run synchronously inside the interpreter and
// the Bedrock emulator, so they must not block); a goroutine applies them.
type tracker struct {
	pipeline bool

	qmu    sync.Mutex
	queue  []func()
	ended  bool // Close was called; later events are dropped
	wake   chan struct{}
	closed chan struct{}

	mu     sync.Mutex
	start  time.Time
	stages []*stageStats
	first  *failure
	log    *slog.Logger // plain progress lines; nil on a TTY
}

func newTracker(pipeline bool, names, prefixes []string, log *slog.Logger) *tracker {
	t := &tracker{pipeline: pipeline, wake: make(chan struct{}, 1), closed: make(chan struct{}), start: time.Now(), log: log}
	for i := range names {
		t.stages = append(t.stages, &stageStats{name: names[i], prefix: prefixes[i], running: map[string]bool{}})
	}
	go t.loop()
	return t
}

// Observe is the asl Observer.
func (t *tracker) Observe(e asl.Event) { t.enqueue(func() { t.apply(e) }) }

// BedrockEvent is the localrun Events hook.
func (t *tracker) BedrockEvent(raw json.RawMessage) {
	b := append(json.RawMessage(nil), raw...)
	t.enqueue(func() { t.applyBedrock(b) })
}

func (t *tracker) enqueue(f func()) {
	t.qmu.Lock()
	defer t.qmu.Unlock()
	if t.ended {
		return
	}
	t.queue = append(t.queue, f)
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

func (t *tracker) loop() {
	for {
		_, open := <-t.wake
		t.qmu.Lock()
		q := t.queue
		t.queue = nil
		t.qmu.Unlock()
		for _, f := range q {
			f()
		}
		if !open {
			close(t.closed)
			return
		}
	}
}

// Close applies every queued event and stops the goroutine. Call it after
// the execution has ended.
func (t *tracker) Close() {
	t.qmu.Lock()
	t.ended = true
	close(t.wake)
	t.qmu.Unlock()
	<-t.closed
}

// stageOf maps an execution to its stage: a pipeline's stages run as
// child executions named "stage<i>-<hash>"; a job request is one stage.
func (t *tracker) stageOf(exec string) *stageStats {
	if !t.pipeline {
		return t.stages[0]
	}
	rest, ok := strings.CutPrefix(exec, "stage")
	if !ok {
		return nil
	}
	n, _, _ := strings.Cut(rest, "-")
	i, err := strconv.Atoi(n)
	if err != nil || i < 0 || i >= len(t.stages) {
		return nil
	}
	return t.stages[i]
}

// stageOfJob finds a Bedrock job's stage by its name, <prefix>-part-....
func (t *tracker) stageOfJob(job string) *stageStats {
	var best *stageStats
	for _, s := range t.stages {
		if strings.HasPrefix(job, s.prefix+"-") && (best == nil || len(s.prefix) > len(best.prefix)) {
			best = s
		}
	}
	return best
}

// lambdaPayload returns the Payload of a lambda:invoke result, or out.
func lambdaPayload(out json.RawMessage) json.RawMessage {
	var w struct {
		Payload json.RawMessage `json:"Payload"`
	}
	if json.Unmarshal(out, &w) == nil && len(w.Payload) > 0 {
		return w.Payload
	}
	return out
}

func (t *tracker) apply(e asl.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.stageOf(e.Execution)
	stageName := "pipeline"
	if s != nil {
		stageName = s.name
	}
	switch e.Type {
	case asl.EventStateEntered:
		if s != nil {
			if s.started.IsZero() {
				s.started = e.Time
			}
			s.state = e.State
		}
		t.logf("state entered", slog.String("stage", stageName), slog.String("state", e.State))
	case asl.EventExecutionSucceeded, asl.EventExecutionFailed, asl.EventExecutionAborted, asl.EventExecutionTimedOut:
		if s != nil {
			s.ended = e.Time
			s.state = strings.TrimPrefix(string(e.Type), "Execution")
		}
	case asl.EventTaskScheduled:
		if s != nil && e.State == "StartJob" {
			s.submitted++
		}
	case asl.EventTaskSucceeded:
		if s == nil {
			return
		}
		switch e.State {
		case "Preprocess":
			var p struct {
				Jobs    []json.RawMessage `json:"jobs"`
				Summary struct {
					RecordsRead   int    `json:"records_read"`
					Requests      int    `json:"requests"`
					FailedRecords int    `json:"failed_records"`
					ErrorsURI     string `json:"errors_uri"`
				} `json:"summary"`
			}
			if json.Unmarshal(lambdaPayload(e.Output), &p) == nil {
				s.jobs = len(p.Jobs)
				s.recordsRead, s.requests, s.failedRecords = p.Summary.RecordsRead, p.Summary.Requests, p.Summary.FailedRecords
				s.errorsURI = p.Summary.ErrorsURI
				t.logf("preprocessed", slog.String("stage", s.name), slog.Int("records", s.recordsRead),
					slog.Int("requests", s.requests), slog.Int("failed_records", s.failedRecords), slog.Int("jobs", s.jobs))
			}
		case "Postprocess":
			var p struct {
				OutputPath string `json:"output_path"`
				JobName    string `json:"job_name"`
				Stats      struct {
					Succeeded    int   `json:"succeeded"`
					Failed       int   `json:"failed"`
					Missing      int   `json:"missing"`
					Malformed    int   `json:"malformed"`
					InputTokens  int64 `json:"input_tokens"`
					OutputTokens int64 `json:"output_tokens"`
				} `json:"stats"`
			}
			if json.Unmarshal(lambdaPayload(e.Output), &p) == nil {
				s.done++
				s.rowsOK += p.Stats.Succeeded
				s.rowsFailed += p.Stats.Failed + p.Stats.Missing + p.Stats.Malformed
				s.inputTokens += p.Stats.InputTokens
				s.outputTokens += p.Stats.OutputTokens
				if p.OutputPath != "" {
					s.outputPaths = append(s.outputPaths, p.OutputPath)
				}
				t.logf("job done", slog.String("stage", s.name), slog.String("job", p.JobName),
					slog.Int("records_ok", p.Stats.Succeeded), slog.String("output", p.OutputPath))
			}
		}
	case asl.EventTaskFailed, asl.EventTaskTimedOut:
		if t.first == nil {
			t.first = &failure{stage: stageName, state: e.State, name: e.Error, cause: e.Cause}
		}
		if s != nil && (e.State == "StartJob" || e.State == "Postprocess") {
			s.failedJobs++
		}
		t.logf("task failed", slog.String("stage", stageName), slog.String("state", e.State),
			slog.String("error", e.Error), slog.String("cause", plainCause(e.Cause)))
	}
}

func (t *tracker) applyBedrock(raw json.RawMessage) {
	var ev localbedrock.Event
	if json.Unmarshal(raw, &ev) != nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	d := ev.Detail
	s := t.stageOfJob(d.BatchJobName)
	name := ""
	if s != nil {
		name = s.name
		if localbedrock.Terminal(d.Status) || d.Status == localbedrock.StatusSubmitted {
			delete(s.running, d.BatchJobName)
		} else {
			s.running[d.BatchJobName] = true
		}
	}
	attrs := []any{slog.String("stage", name), slog.String("job", d.BatchJobName), slog.String("status", d.Status)}
	if d.FailureMessage != "" {
		attrs = append(attrs, slog.String("message", d.FailureMessage))
	}
	t.logf("batch job status", attrs...)
}

func (t *tracker) logf(msg string, attrs ...any) {
	if t.log != nil {
		t.log.Info(msg, attrs...)
	}
}

// snapshot copies the stages for rendering.
func (t *tracker) snapshot() []stageStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]stageStats, len(t.stages))
	for i, s := range t.stages {
		out[i] = *s
		out[i].outputPaths = append([]string(nil), s.outputPaths...)
		out[i].jobs = max(s.jobs, s.submitted)
		out[i].running = make(map[string]bool, len(s.running))
		for k := range s.running {
			out[i].running[k] = true
		}
	}
	return out
}

func (t *tracker) firstFailure() *failure {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.first == nil {
		return nil
	}
	f := *t.first
	return &f
}

// progressLines renders one line per stage.
func progressLines(stages []stageStats, now time.Time) []string {
	lines := make([]string, 0, len(stages))
	w := 5
	for _, s := range stages {
		w = max(w, utf8.RuneCountInString(cell(s.name, 40)))
	}
	for _, s := range stages {
		el := "-"
		if !s.started.IsZero() {
			end := now
			if !s.ended.IsZero() {
				end = s.ended
			}
			el = end.Sub(s.started).Round(100 * time.Millisecond).String()
		}
		state := s.state
		if state == "" {
			state = "waiting"
		}
		lines = append(lines, fmt.Sprintf("%-*s  %-14.14s jobs %d/%d submitted, %d running, %d done, %d failed  records %d ok, %d failed  %s",
			w, cell(s.name, 40), state, s.submitted, s.jobs, len(s.running), s.done, s.failedJobs, s.rowsOK, s.rowsFailed, el))
	}
	return lines
}

// liveDisplay redraws the progress lines in place on a terminal.
type liveDisplay struct {
	w    io.Writer
	t    *tracker
	n    int // lines drawn last time
	stop chan struct{}
	done chan struct{}
}

func startLive(w io.Writer, t *tracker) *liveDisplay {
	d := &liveDisplay{w: w, t: t, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(d.done)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			d.draw()
			select {
			case <-d.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return d
}

func (d *liveDisplay) draw() {
	lines := progressLines(d.t.snapshot(), time.Now())
	var b strings.Builder
	if d.n > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", d.n) // cursor up to the first line drawn
	}
	for _, l := range lines {
		b.WriteString("\r\x1b[2K" + l + "\n")
	}
	d.n = len(lines)
	_, _ = io.WriteString(d.w, b.String())
}

// Stop draws the final state once more and stops redrawing.
func (d *liveDisplay) Stop() {
	close(d.stop)
	<-d.done
	d.draw()
}
