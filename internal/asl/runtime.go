package asl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// TaskHandler runs the work behind a Task state's Resource.
type TaskHandler interface {
	Invoke(ctx context.Context, call TaskCall) (json.RawMessage, error)
}

// TaskHandlerFunc adapts a function to TaskHandler.
type TaskHandlerFunc func(ctx context.Context, call TaskCall) (json.RawMessage, error)

// Invoke calls f.
func (f TaskHandlerFunc) Invoke(ctx context.Context, call TaskCall) (json.RawMessage, error) {
	return f(ctx, call)
}

// TaskCall is what a Task state hands its handler.
type TaskCall struct {
	Resource string
	// Parameters is the effective input: the state input after InputPath
	// and Parameters.
	Parameters json.RawMessage
	// TaskToken is set for ".waitForTaskToken" resources; the handler passes
	// it on, and someone later calls Runtime.SendTaskSuccess/Failure with it.
	TaskToken string
	StateName string
	Execution ExecutionInfo
}

// ExecutionInfo identifies the execution a task runs in.
type ExecutionInfo struct {
	ARN             string
	Name            string
	StateMachineARN string
	StartTime       time.Time
}

// Clock is the interpreter's source of time. Tests use a fake one so Wait
// states, retry backoff and timeouts do not really wait.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx is done.
	Sleep(ctx context.Context, d time.Duration) error
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// RealClock is the wall clock.
var RealClock Clock = realClock{}

// Runtime runs executions of state machines and routes task tokens back to
// the execution waiting for them. Configure the exported fields before the
// first Start.
type Runtime struct {
	// Clock defaults to RealClock.
	Clock Clock
	// Jitter returns a number in [0,1) for JitterStrategy FULL; defaults to
	// math/rand.
	Jitter func() float64
	// Region and Account build ARNs (defaults us-east-1, 123456789012).
	Region, Account string
	// RoleArn, if set, appears as $$.Execution.RoleArn.
	RoleArn string
	// Observer, if set, sees every history event of every execution as it
	// happens. It runs synchronously and must not call back into the
	// Execution it observes.
	Observer func(Event)

	mu         sync.Mutex
	exact      map[string]TaskHandler
	prefixes   []prefixHandler
	machines   map[string]*Machine
	executions map[string]*Execution
	tokens     map[string]*pendingTask
}

type prefixHandler struct {
	prefix string
	h      TaskHandler
}

// NewRuntime returns a Runtime using the real clock.
func NewRuntime() *Runtime {
	return &Runtime{}
}

func (rt *Runtime) init() {
	if rt.exact == nil {
		rt.exact = map[string]TaskHandler{}
		rt.machines = map[string]*Machine{}
		rt.executions = map[string]*Execution{}
		rt.tokens = map[string]*pendingTask{}
	}
}

func (rt *Runtime) clock() Clock {
	if rt.Clock == nil {
		return RealClock
	}
	return rt.Clock
}

func (rt *Runtime) region() string {
	if rt.Region == "" {
		return "us-east-1"
	}
	return rt.Region
}

func (rt *Runtime) account() string {
	if rt.Account == "" {
		return "123456789012"
	}
	return rt.Account
}

// Handle registers h for Task states whose Resource is exactly resource.
func (rt *Runtime) Handle(resource string, h TaskHandler) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.init()
	rt.exact[resource] = h
}

// HandlePrefix registers h for every Resource starting with prefix, such as
// "arn:aws:states:::lambda:invoke" (which also covers its
// ".waitForTaskToken" form). The longest matching prefix wins; an exact
// registration beats any prefix.
func (rt *Runtime) HandlePrefix(prefix string, h TaskHandler) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.init()
	rt.prefixes = append(rt.prefixes, prefixHandler{prefix, h})
}

func (rt *Runtime) handler(resource string) TaskHandler {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.init()
	if h, ok := rt.exact[resource]; ok {
		return h
	}
	var best *prefixHandler
	for i := range rt.prefixes {
		p := &rt.prefixes[i]
		if strings.HasPrefix(resource, p.prefix) && (best == nil || len(p.prefix) > len(best.prefix)) {
			best = p
		}
	}
	if best == nil {
		return nil
	}
	return best.h
}

// Register names m and makes it startable by ARN from nested executions.
// It returns the machine's ARN.
func (rt *Runtime) Register(name string, m *Machine) string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.init()
	m.Name = name
	m.ARN = fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", rt.region(), rt.account(), name)
	rt.machines[m.ARN] = m
	return m.ARN
}

// Machine returns the registered machine with the given ARN.
func (rt *Runtime) Machine(arn string) (*Machine, bool) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	m, ok := rt.machines[arn]
	return m, ok
}

// Execution returns a started execution by ARN.
func (rt *Runtime) Execution(arn string) (*Execution, bool) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	x, ok := rt.executions[arn]
	return x, ok
}

// ErrExecutionExists is returned by Start when the name is taken.
var ErrExecutionExists = errors.New("execution already exists")

// ErrTaskNotFound is returned by SendTask* for a token no task waits on
// (unknown, already completed, or timed out).
var ErrTaskNotFound = errors.New("task token not found or task no longer waiting")

// Start begins an execution of m with the given input and returns at once.
// An empty name gets a UUID. Cancelling ctx aborts the execution.
func (rt *Runtime) Start(ctx context.Context, m *Machine, name string, input json.RawMessage) (*Execution, error) {
	if m == nil || m.graph == nil {
		return nil, errors.New("start: machine is nil or was not built by Parse")
	}
	in, err := decodeJSON(input)
	if err != nil {
		return nil, fmt.Errorf("start %s: input is not JSON: %w", name, err)
	}
	if name == "" {
		name = uuid.NewString()
	}
	smName, smARN := m.Name, m.ARN
	if smName == "" {
		smName = "local"
	}
	if smARN == "" {
		smARN = fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", rt.region(), rt.account(), smName)
	}
	x := &Execution{
		ARN:             fmt.Sprintf("arn:aws:states:%s:%s:execution:%s:%s", rt.region(), rt.account(), smName, name),
		Name:            name,
		StateMachineARN: smARN,
		StateMachine:    m,
		Input:           encodeJSON(in),
		rt:              rt,
		done:            make(chan struct{}),
	}
	rt.mu.Lock()
	rt.init()
	if _, dup := rt.executions[x.ARN]; dup {
		rt.mu.Unlock()
		return nil, fmt.Errorf("start %s: %w", x.ARN, ErrExecutionExists)
	}
	rt.executions[x.ARN] = x
	rt.mu.Unlock()

	x.StartTime = rt.clock().Now()
	xctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	x.cancel = cancel
	stop := context.AfterFunc(ctx, func() { cancel(&Error{Name: errExecutionAborted, Cause: "caller's context ended"}) })
	if m.TimeoutSeconds > 0 {
		timer := rt.clock().After(time.Duration(m.TimeoutSeconds) * time.Second)
		go func() {
			select {
			case <-timer:
				cancel(&Error{Name: errExecutionTimedOutName, Cause: fmt.Sprintf("execution exceeded TimeoutSeconds %d", m.TimeoutSeconds)})
			case <-x.done:
			}
		}()
	}
	x.emit(Event{Type: EventExecutionStarted, Input: x.Input})
	go func() {
		defer stop()
		defer cancel(nil)
		x.run(xctx, in)
	}()
	return x, nil
}

// pendingTask is a task waiting for SendTask*.
type pendingTask struct {
	exec      *Execution
	state     string
	result    chan tokenResult // buffered 1
	heartbeat chan struct{}    // buffered 1
}

type tokenResult struct {
	output json.RawMessage
	err    *Error
}

func (rt *Runtime) addToken(token string, p *pendingTask) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.init()
	rt.tokens[token] = p
}

func (rt *Runtime) dropToken(token string) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	delete(rt.tokens, token)
}

func (rt *Runtime) token(token string, remove bool) (*pendingTask, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	p, ok := rt.tokens[token]
	if !ok {
		return nil, fmt.Errorf("task token %.40q: %w", token, ErrTaskNotFound)
	}
	if remove {
		delete(rt.tokens, token)
	}
	return p, nil
}

// SendTaskSuccess completes the waiting task that was given token, with
// output (JSON) as its result.
func (rt *Runtime) SendTaskSuccess(token string, output json.RawMessage) error {
	if _, err := decodeJSON(output); err != nil || len(output) == 0 {
		return fmt.Errorf("send task success: output is not JSON: %v", err)
	}
	p, err := rt.token(token, true)
	if err != nil {
		return err
	}
	p.result <- tokenResult{output: append(json.RawMessage(nil), output...)}
	return nil
}

// SendTaskFailure fails the waiting task that was given token with the
// error name and cause, which Retry and Catch then see.
func (rt *Runtime) SendTaskFailure(token, errName, cause string) error {
	p, err := rt.token(token, true)
	if err != nil {
		return err
	}
	if errName == "" {
		errName = ErrTaskFailed
	}
	p.result <- tokenResult{err: &Error{Name: errName, Cause: cause}}
	return nil
}

// SendTaskHeartbeat tells the waiting task that was given token that work
// is progressing, restarting its HeartbeatSeconds timer.
func (rt *Runtime) SendTaskHeartbeat(token string) error {
	p, err := rt.token(token, false)
	if err != nil {
		return err
	}
	select {
	case p.heartbeat <- struct{}{}:
	default: // a heartbeat is already pending; one is enough
	}
	p.exec.emit(Event{Type: EventTaskHeartbeat, State: p.state})
	return nil
}

// Status is the state of an execution.
type Status string

// Execution statuses, as the Step Functions API spells them.
const (
	StatusRunning   Status = "RUNNING"
	StatusSucceeded Status = "SUCCEEDED"
	StatusFailed    Status = "FAILED"
	StatusTimedOut  Status = "TIMED_OUT"
	StatusAborted   Status = "ABORTED"
)

// Result is how an execution ended.
type Result struct {
	Status Status
	Output json.RawMessage // set when SUCCEEDED
	Error  string
	Cause  string
	Stop   time.Time
}

// Execution is one run of a state machine.
type Execution struct {
	ARN             string
	Name            string
	StateMachineARN string
	StateMachine    *Machine
	Input           json.RawMessage
	StartTime       time.Time

	rt     *Runtime
	cancel context.CancelCauseFunc
	done   chan struct{}

	mu     sync.Mutex
	events []Event
	result Result
}

// Wait blocks until the execution ends or ctx is done.
func (x *Execution) Wait(ctx context.Context) (Result, error) {
	select {
	case <-x.done:
		return x.result, nil
	case <-ctx.Done():
		return Result{Status: StatusRunning}, ctx.Err()
	}
}

// Done is closed when the execution has ended.
func (x *Execution) Done() <-chan struct{} { return x.done }

// Status returns RUNNING or the final status.
func (x *Execution) Status() Status {
	select {
	case <-x.done:
		return x.result.Status
	default:
		return StatusRunning
	}
}

// Stop aborts a running execution (StopExecution).
func (x *Execution) Stop(errName, cause string) {
	x.cancel(&Error{Name: errExecutionAborted, Cause: strings.TrimSpace(errName + " " + cause)})
}

// History returns a copy of the events so far.
func (x *Execution) History() []Event {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]Event(nil), x.events...)
}

func (x *Execution) info() ExecutionInfo {
	return ExecutionInfo{ARN: x.ARN, Name: x.Name, StateMachineARN: x.StateMachineARN, StartTime: x.StartTime}
}

func (x *Execution) emit(e Event) {
	x.mu.Lock()
	defer x.mu.Unlock()
	e.ID = len(x.events) + 1
	e.Execution = x.Name
	if e.Time.IsZero() {
		e.Time = x.rt.clock().Now()
	}
	x.events = append(x.events, e)
	if x.rt.Observer != nil {
		x.rt.Observer(e)
	}
}

func (x *Execution) jitter() float64 {
	if x.rt.Jitter != nil {
		return x.rt.Jitter()
	}
	return rand.Float64()
}

func (x *Execution) run(ctx context.Context, input any) {
	out, err := x.runGraph(ctx, x.StateMachine.graph, input)
	res := Result{Stop: x.rt.clock().Now()}
	switch {
	case err == nil:
		res.Status, res.Output = StatusSucceeded, encodeJSON(out)
		x.emit(Event{Type: EventExecutionSucceeded, Output: res.Output})
	default:
		var cause *Error
		if c := context.Cause(ctx); c != nil && errors.As(c, &cause) {
			err = cause
		}
		res.Error, res.Cause = err.Name, err.Cause
		switch err.Name {
		case errExecutionAborted:
			res.Status, res.Error = StatusAborted, ""
			x.emit(Event{Type: EventExecutionAborted, Cause: err.Cause})
		case errExecutionTimedOutName:
			res.Status, res.Error = StatusTimedOut, ErrTimeout
			x.emit(Event{Type: EventExecutionTimedOut, Error: res.Error, Cause: res.Cause})
		default:
			res.Status = StatusFailed
			x.emit(Event{Type: EventExecutionFailed, Error: res.Error, Cause: res.Cause})
		}
	}
	x.result = res
	close(x.done)
}
