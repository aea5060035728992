package asl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// stateCtx is what the context object ($$) says about the current state.
type stateCtx struct {
	name       string
	entered    time.Time
	retryCount int
	token      string
	mapIndex   int
	mapValue   any
	inMap      bool
}

func (x *Execution) contextObject(sc stateCtx) map[string]any {
	exec := map[string]any{
		"Id":        x.ARN,
		"Name":      x.Name,
		"StartTime": x.StartTime.UTC().Format(timeLayout),
	}
	if in, err := decodeJSON(x.Input); err == nil {
		exec["Input"] = in
	}
	if x.rt.RoleArn != "" {
		exec["RoleArn"] = x.rt.RoleArn
	}
	smName := x.StateMachine.Name
	if smName == "" {
		smName = "local"
	}
	c := map[string]any{
		"Execution":    exec,
		"StateMachine": map[string]any{"Id": x.StateMachineARN, "Name": smName},
		"State": map[string]any{
			"Name":        sc.name,
			"EnteredTime": sc.entered.UTC().Format(timeLayout),
			"RetryCount":  intNum(int64(sc.retryCount)),
		},
	}
	if sc.token != "" {
		c["Task"] = map[string]any{"Token": sc.token}
	}
	if sc.inMap {
		c["Map"] = map[string]any{"Item": map[string]any{"Index": intNum(int64(sc.mapIndex)), "Value": sc.mapValue}}
	}
	return c
}

// abortErr turns a cancelled context into the error that ends the run.
func abortErr(ctx context.Context) *Error {
	var e *Error
	if errors.As(context.Cause(ctx), &e) {
		return e
	}
	return &Error{Name: errExecutionAborted, Cause: "cancelled"}
}

func (x *Execution) runGraph(ctx context.Context, g *graph, input any) (any, *Error) {
	name := g.startAt
	for {
		if ctx.Err() != nil {
			return nil, abortErr(ctx)
		}
		s := g.states[name]
		out, next, err := x.runState(ctx, s, input)
		if err != nil {
			return nil, err
		}
		if next == "" {
			return out, nil
		}
		name, input = next, out
	}
}

func (x *Execution) runState(ctx context.Context, s *State, input any) (any, string, *Error) {
	entered := x.rt.clock().Now()
	x.emit(Event{Type: EventStateEntered, State: s.Name, Input: encodeJSON(input), Time: entered})
	var out any
	var next string
	var err *Error
	switch s.Type {
	case "Task", "Parallel", "Map":
		out, next, err = x.runWithRetry(ctx, s, input, entered)
	default:
		out, next, err = x.runSimple(ctx, s, input, entered)
	}
	if err != nil {
		x.emit(Event{Type: EventStateFailed, State: s.Name, Error: err.Name, Cause: err.Cause})
		return nil, "", err
	}
	enc := encodeJSON(out)
	if len(enc) > MaxPayloadBytes {
		err = &Error{Name: ErrDataLimitExceeded, Cause: fmt.Sprintf("state %q: output is %d bytes, over Step Functions' %d-byte limit for state data",
			s.Name, len(enc), MaxPayloadBytes)}
		x.emit(Event{Type: EventStateFailed, State: s.Name, Error: err.Name, Cause: err.Cause})
		return nil, "", err
	}
	x.emit(Event{Type: EventStateExited, State: s.Name, Output: enc})
	return out, next, nil
}

// MaxPayloadBytes is Step Functions' limit on the data a state passes on
// (256 KiB); the interpreter enforces it so local runs fail where AWS would.
const MaxPayloadBytes = 256 * 1024

func (s *State) following() string {
	if s.end {
		return ""
	}
	return s.next
}

// applyPath applies InputPath or OutputPath: absent keeps v, null gives {}.
func applyPath(s *State, field string, p optPath, v, ctxObj any) (any, *Error) {
	switch {
	case p.null:
		return map[string]any{}, nil
	case p.path == nil:
		return v, nil
	}
	root, rootName := v, "input"
	if field == "OutputPath" {
		rootName = "output"
	}
	if p.path.Context() {
		root, rootName = ctxObj, "context object"
	}
	out, err := p.path.Get(root)
	if err != nil {
		msg := err.Error()
		var pe *pathError
		if errors.As(err, &pe) {
			msg = pe.describe(rootName)
		}
		return nil, stateErr(s.Name, ErrRuntime, "%s: %s", field, msg)
	}
	return out, nil
}

// applyResultPath places result into raw as ResultPath says.
func applyResultPath(s *State, field string, p optPath, raw, result any) (any, *Error) {
	switch {
	case p.null:
		return raw, nil
	case p.path == nil:
		return result, nil
	}
	out, err := p.path.Set(raw, result)
	if err != nil {
		return nil, stateErr(s.Name, ErrResultPathMatch, "%s: %v", field, err)
	}
	return out, nil
}

func withState(s *State, e *Error) *Error {
	if e == nil || strings.HasPrefix(e.Cause, "state ") {
		return e
	}
	return &Error{Name: e.Name, Cause: fmt.Sprintf("state %q: %s", s.Name, e.Cause)}
}

func (x *Execution) runSimple(ctx context.Context, s *State, raw any, entered time.Time) (any, string, *Error) {
	ctxObj := x.contextObject(stateCtx{name: s.Name, entered: entered})
	if s.Type == "Fail" {
		e := &Error{Name: s.errorName, Cause: s.cause}
		for _, f := range []struct {
			field string
			expr  *valueExpr
			dst   *string
		}{{"ErrorPath", s.errorExpr, &e.Name}, {"CausePath", s.causeExp, &e.Cause}} {
			if f.expr == nil {
				continue
			}
			v, err := f.expr.eval(raw, ctxObj)
			if err != nil {
				return nil, "", stateErr(s.Name, ErrRuntime, "%s: %v", f.field, err)
			}
			str, ok := v.(string)
			if !ok {
				return nil, "", stateErr(s.Name, ErrRuntime, "%s: must select a string, got %s", f.field, typeName(v))
			}
			*f.dst = str
		}
		return nil, "", e
	}
	eff, err := applyPath(s, "InputPath", s.inputPath, raw, ctxObj)
	if err != nil {
		return nil, "", err
	}
	next := s.following()
	out := eff
	switch s.Type {
	case "Pass":
		result := eff
		if s.parameters != nil {
			result, err = s.parameters.eval("Parameters", eff, ctxObj)
			if err != nil {
				return nil, "", withState(s, err)
			}
		}
		if s.hasResult {
			result = s.result
		}
		if out, err = applyResultPath(s, "ResultPath", s.resultPath, raw, result); err != nil {
			return nil, "", err
		}
	case "Choice":
		next = s.defaultNext
		matched := false
		for i, c := range s.choices {
			ok, cerr := c.eval(eff, ctxObj)
			if cerr != nil {
				return nil, "", stateErr(s.Name, ErrRuntime, "Choices[%d]: %v", i, cerr)
			}
			if ok {
				next, matched = c.next, true
				break
			}
		}
		if !matched && next == "" {
			return nil, "", stateErr(s.Name, ErrNoChoiceMatched, "no choice rule matched and there is no Default")
		}
	case "Wait":
		d, werr := x.waitDuration(s, eff)
		if werr != nil {
			return nil, "", werr
		}
		x.emit(Event{Type: EventWaitStarted, State: s.Name, Delay: d})
		if err := x.rt.clock().Sleep(ctx, d); err != nil {
			return nil, "", abortErr(ctx)
		}
	case "Succeed":
		next = ""
	}
	out, err = applyPath(s, "OutputPath", s.outputPath, out, ctxObj)
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

func (x *Execution) waitDuration(s *State, eff any) (time.Duration, *Error) {
	switch {
	case s.seconds != nil:
		return time.Duration(*s.seconds) * time.Second, nil
	case s.secondsPath != nil:
		v, err := s.secondsPath.Get(eff)
		if err != nil {
			return 0, stateErr(s.Name, ErrRuntime, "SecondsPath: %v", err)
		}
		n, ok := toInt(v)
		if !ok || n < 0 {
			return 0, stateErr(s.Name, ErrRuntime, "SecondsPath %s: want a non-negative integer, got %v", s.secondsPath, v)
		}
		return time.Duration(n) * time.Second, nil
	}
	ts := s.timestamp
	if s.timestampPath != nil {
		v, err := s.timestampPath.Get(eff)
		if err != nil {
			return 0, stateErr(s.Name, ErrRuntime, "TimestampPath: %v", err)
		}
		ts, _ = v.(string)
	}
	t, err := parseTimestamp(ts)
	if err != nil {
		return 0, stateErr(s.Name, ErrRuntime, "%v", err)
	}
	return max(t.Sub(x.rt.clock().Now()), 0), nil
}

// retryDelay is the wait before retry number attempt (0-based) of r.
func retryDelay(r retrier, attempt int, jitter float64) time.Duration {
	d := r.intervalSeconds * math.Pow(r.backoffRate, float64(attempt))
	if r.maxDelaySeconds > 0 && d > r.maxDelaySeconds {
		d = r.maxDelaySeconds
	}
	if r.jitterFull {
		d *= jitter
	}
	return time.Duration(d * float64(time.Second))
}

func (x *Execution) runWithRetry(ctx context.Context, s *State, raw any, entered time.Time) (any, string, *Error) {
	counts := make([]int, len(s.retry))
	retries := 0
	for {
		out, err := x.execute(ctx, s, raw, stateCtx{name: s.Name, entered: entered, retryCount: retries})
		if err == nil {
			return out, s.following(), nil
		}
		if ctx.Err() != nil {
			return nil, "", abortErr(ctx)
		}
		retried := false
		for i, r := range s.retry {
			if !matches(r.errorEquals, err.Name) {
				continue
			}
			if counts[i] < r.maxAttempts {
				d := retryDelay(r, counts[i], x.jitter())
				counts[i]++
				retries++
				x.emit(Event{Type: EventTaskRetry, State: s.Name, Error: err.Name, Cause: err.Cause, Index: counts[i], Delay: d})
				if serr := x.rt.clock().Sleep(ctx, d); serr != nil {
					return nil, "", abortErr(ctx)
				}
				retried = true
			}
			break // only the first matching retrier applies
		}
		if retried {
			continue
		}
		for _, c := range s.catch {
			if !matches(c.errorEquals, err.Name) {
				continue
			}
			x.emit(Event{Type: EventCaught, State: s.Name, Error: err.Name, Cause: err.Cause, Resource: c.next})
			out, rerr := applyResultPath(s, "Catch.ResultPath", c.resultPath, raw, map[string]any{"Error": err.Name, "Cause": err.Cause})
			if rerr != nil {
				return nil, "", rerr
			}
			return out, c.next, nil
		}
		return nil, "", err
	}
}

// execute runs one attempt of a Task, Parallel or Map state, with its
// whole input and output processing.
func (x *Execution) execute(ctx context.Context, s *State, raw any, sc stateCtx) (any, *Error) {
	if s.Type == "Task" && strings.HasSuffix(s.resource, ".waitForTaskToken") {
		sc.token = uuid.NewString() + uuid.NewString()
	}
	ctxObj := x.contextObject(sc)
	eff, err := applyPath(s, "InputPath", s.inputPath, raw, ctxObj)
	if err != nil {
		return nil, err
	}
	if s.parameters != nil {
		if eff, err = s.parameters.eval("Parameters", eff, ctxObj); err != nil {
			return nil, withState(s, err)
		}
	}
	var result any
	switch s.Type {
	case "Task":
		result, err = x.runTask(ctx, s, eff, sc)
	case "Parallel":
		result, err = x.runParallel(ctx, s, eff)
	case "Map":
		result, err = x.runMap(ctx, s, eff, sc)
	}
	if err != nil {
		return nil, err
	}
	if s.resultSelector != nil {
		if result, err = s.resultSelector.eval("ResultSelector", result, ctxObj); err != nil {
			return nil, withState(s, err)
		}
	}
	out, err := applyResultPath(s, "ResultPath", s.resultPath, raw, result)
	if err != nil {
		return nil, err
	}
	return applyPath(s, "OutputPath", s.outputPath, out, ctxObj)
}

func (x *Execution) secondsFrom(s *State, field string, fixed int, p *Path, eff any) (int, *Error) {
	if p == nil {
		return fixed, nil
	}
	v, err := p.Get(eff)
	if err != nil {
		return 0, stateErr(s.Name, ErrRuntime, "%sPath: %v", field, err)
	}
	n, ok := toInt(v)
	if !ok || n <= 0 {
		return 0, stateErr(s.Name, ErrRuntime, "%sPath %s: want a positive integer, got %v", field, p, v)
	}
	return int(n), nil
}

func (x *Execution) runTask(ctx context.Context, s *State, eff any, sc stateCtx) (any, *Error) {
	h := x.rt.handler(s.resource)
	if h == nil {
		return nil, stateErr(s.Name, ErrRuntime, "no handler registered for resource %s (register one with Runtime.Handle or HandlePrefix)", s.resource)
	}
	timeout, err := x.secondsFrom(s, "TimeoutSeconds", s.timeoutSeconds, s.timeoutPath, eff)
	if err != nil {
		return nil, err
	}
	heartbeat, err := x.secondsFrom(s, "HeartbeatSeconds", s.heartbeatSeconds, s.heartbeatPath, eff)
	if err != nil {
		return nil, err
	}
	params := encodeJSON(eff)
	x.emit(Event{Type: EventTaskScheduled, State: s.Name, Resource: s.resource, Input: params})

	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var pending *pendingTask
	if sc.token != "" {
		pending = &pendingTask{exec: x, state: s.Name, result: make(chan tokenResult, 1), heartbeat: make(chan struct{}, 1)}
		x.rt.addToken(sc.token, pending)
		defer x.rt.dropToken(sc.token)
	}
	call := TaskCall{Resource: s.resource, Parameters: params, TaskToken: sc.token, StateName: s.Name, Execution: x.info()}
	handlerDone := make(chan tokenResult, 1)
	go func() {
		out, herr := h.Invoke(hctx, call)
		r := tokenResult{output: out}
		if herr != nil {
			r.err = asError(herr)
		}
		handlerDone <- r
	}()

	var timeoutC, heartbeatC <-chan time.Time
	if timeout > 0 {
		timeoutC = x.rt.clock().After(time.Duration(timeout) * time.Second)
	}
	if heartbeat > 0 && pending != nil {
		heartbeatC = x.rt.clock().After(time.Duration(heartbeat) * time.Second)
	}
	var hbC chan struct{}
	var tokenC chan tokenResult
	if pending != nil {
		hbC, tokenC = pending.heartbeat, pending.result
	}
	fail := func(e *Error, typ EventType) (any, *Error) {
		x.emit(Event{Type: typ, State: s.Name, Resource: s.resource, Error: e.Name, Cause: e.Cause})
		return nil, e
	}
	for {
		select {
		case r := <-handlerDone:
			handlerDone = nil
			if r.err != nil {
				return fail(r.err, EventTaskFailed)
			}
			if pending != nil {
				continue // the handler's result is ignored; wait for the token
			}
			return x.taskSucceeded(s, r.output)
		case r := <-tokenC:
			if r.err != nil {
				return fail(r.err, EventTaskFailed)
			}
			return x.taskSucceeded(s, r.output)
		case <-hbC:
			heartbeatC = x.rt.clock().After(time.Duration(heartbeat) * time.Second)
		case <-heartbeatC:
			return fail(&Error{Name: ErrHeartbeatTimeout, Cause: fmt.Sprintf("state %q: no heartbeat for %d seconds", s.Name, heartbeat)}, EventTaskTimedOut)
		case <-timeoutC:
			return fail(&Error{Name: ErrTimeout, Cause: fmt.Sprintf("state %q: task did not finish within %d seconds", s.Name, timeout)}, EventTaskTimedOut)
		case <-ctx.Done():
			return nil, abortErr(ctx)
		}
	}
}

func (x *Execution) taskSucceeded(s *State, out json.RawMessage) (any, *Error) {
	if len(out) == 0 {
		out = json.RawMessage("null")
	}
	v, err := decodeJSON(out)
	if err != nil {
		e := stateErr(s.Name, ErrTaskFailed, "task output is not JSON: %v", err)
		x.emit(Event{Type: EventTaskFailed, State: s.Name, Resource: s.resource, Error: e.Name, Cause: e.Cause})
		return nil, e
	}
	x.emit(Event{Type: EventTaskSucceeded, State: s.Name, Resource: s.resource, Output: encodeJSON(v)})
	return v, nil
}

// runParallel runs every branch on eff; the first failure cancels the rest
// and becomes the state's error (with the branch's error name).
func (x *Execution) runParallel(ctx context.Context, s *State, eff any) (any, *Error) {
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]any, len(s.branches))
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first *Error
	)
	for i, b := range s.branches {
		wg.Add(1)
		x.emit(Event{Type: EventParallelBranchStart, State: s.Name, Index: i})
		go func() {
			defer wg.Done()
			out, err := x.runGraph(bctx, b, eff)
			if err != nil {
				once.Do(func() { first = err; cancel() })
				return
			}
			results[i] = out
		}()
	}
	wg.Wait()
	if first != nil {
		if ctx.Err() != nil {
			return nil, abortErr(ctx)
		}
		return nil, first
	}
	return results, nil
}

// runMap runs the item processor once per item, at most MaxConcurrency at a
// time (0 = all at once), and collects the outputs in item order.
func (x *Execution) runMap(ctx context.Context, s *State, eff any, sc stateCtx) (any, *Error) {
	itemsV := eff
	if s.itemsPath != nil {
		v, err := s.itemsPath.Get(eff)
		if err != nil {
			return nil, stateErr(s.Name, ErrRuntime, "ItemsPath: %v", err)
		}
		itemsV = v
	}
	items, ok := itemsV.([]any)
	if !ok {
		return nil, stateErr(s.Name, ErrRuntime, "ItemsPath %s: want an array, got %s", pathString(s.itemsPath), typeName(itemsV))
	}
	limit, err := x.maxConcurrency(s, eff)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > len(items) {
		limit = len(items)
	}
	// Per-item inputs first, so a bad ItemSelector fails before any work.
	inputs := make([]any, len(items))
	for i, it := range items {
		inputs[i] = it
		if s.itemSelector != nil {
			isc := sc
			isc.inMap, isc.mapIndex, isc.mapValue = true, i, it
			v, err := s.itemSelector.eval("ItemSelector", eff, x.contextObject(isc))
			if err != nil {
				return nil, withState(s, err)
			}
			inputs[i] = v
		}
	}
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]any, len(items))
	sem := make(chan struct{}, max(limit, 1))
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first *Error
	)
loop:
	for i := range items {
		select {
		case sem <- struct{}{}:
		case <-mctx.Done():
			break loop
		}
		wg.Add(1)
		x.emit(Event{Type: EventMapIterationStarted, State: s.Name, Index: i, Input: encodeJSON(inputs[i])})
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out, err := x.runGraph(mctx, s.processor, inputs[i])
			if err != nil {
				x.emit(Event{Type: EventMapIterationFailed, State: s.Name, Index: i, Error: err.Name, Cause: err.Cause})
				once.Do(func() { first = err; cancel() })
				return
			}
			x.emit(Event{Type: EventMapIterationDone, State: s.Name, Index: i})
			results[i] = out
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, abortErr(ctx)
	}
	if first != nil {
		return nil, first
	}
	return results, nil
}

func pathString(p *Path) string {
	if p == nil {
		return "$"
	}
	return p.String()
}

func (x *Execution) maxConcurrency(s *State, eff any) (int, *Error) {
	if s.maxConcurrencyPath == nil {
		return s.maxConcurrency, nil
	}
	v, err := s.maxConcurrencyPath.Get(eff)
	if err != nil {
		return 0, stateErr(s.Name, ErrRuntime, "MaxConcurrencyPath: %v", err)
	}
	n, ok := toInt(v)
	if !ok || n < 0 {
		return 0, stateErr(s.Name, ErrRuntime, "MaxConcurrencyPath %s: want a non-negative integer, got %v", s.maxConcurrencyPath, v)
	}
	return int(n), nil
}
