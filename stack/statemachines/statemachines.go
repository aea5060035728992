// Package statemachines holds the Amazon States Language definitions bbo
// deploys, embedded, and the placeholder substitution that turns them into
// runnable definitions. It imports nothing from the CDK, so the local runtime
// can run exactly the deployed definitions with its own ARNs without linking
// the CDK.
package statemachines

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
)

// SingleStage is the single-stage batch orchestrator (batch-orchestrator.asl.json),
// with ${...} placeholders.
//
//go:embed batch-orchestrator.asl.json
var SingleStage []byte

// Pipeline is the multi-stage pipeline orchestrator (pipeline-orchestrator.asl.json),
// with ${...} placeholders.
//
//go:embed pipeline-orchestrator.asl.json
var Pipeline []byte

// Placeholder names used by the definitions.
const (
	PreprocessFunctionArn      = "PreprocessFunctionArn"
	StartJobFunctionArn        = "StartJobFunctionArn"
	PostprocessFunctionArn     = "PostprocessFunctionArn"
	TransformFunctionArn       = "TransformFunctionArn"
	ValidateFunctionArn        = "ValidateFunctionArn"
	NotifyFunctionArn          = "NotifyFunctionArn"
	SingleStageStateMachineArn = "SingleStageStateMachineArn"
	MaxConcurrentJobs          = "MaxConcurrentJobs"
	JobTimeoutSeconds          = "JobTimeoutSeconds"
	JobHeartbeatSeconds        = "JobHeartbeatSeconds"
)

// Resources are the ARNs the definitions call. In the stack they are
// CloudFormation tokens; in the local runtime, whatever names its task
// registry uses.
type Resources struct {
	Preprocess, StartJob, Postprocess, Transform, Validate, Notify string
	// SingleStage is the ARN of the single-stage state machine, started by
	// the pipeline machine for each stage.
	SingleStage string
}

// Limits are the numeric settings of the definitions.
type Limits struct {
	// MaxConcurrentJobs bounds the Bedrock jobs one execution has submitted
	// or in progress (the Map's MaxConcurrency).
	MaxConcurrentJobs int
	// JobTimeoutSeconds bounds the wait for one Bedrock job's task token.
	JobTimeoutSeconds int
	// JobHeartbeatSeconds fails a job's wait when no heartbeat arrived for
	// that long (the job-state poller heartbeats every running job).
	JobHeartbeatSeconds int
}

// DefaultHeartbeatSeconds is the heartbeat window: generous, because the
// job-state poller heartbeats every few minutes and a missed heartbeat fails
// the job.
const DefaultHeartbeatSeconds = 6 * 3600

// LimitsFor derives the limits from the stack settings: the task timeout is
// the Bedrock job timeout (24 h, Bedrock's default and minimum, when hours <= 0)
// plus marginHours for queueing before the job's own clock starts.
func LimitsFor(maxConcurrentJobs, jobTimeoutHours, marginHours int) Limits {
	if jobTimeoutHours <= 0 {
		jobTimeoutHours = 24
	}
	timeout := (jobTimeoutHours + max(marginHours, 0)) * 3600
	return Limits{
		MaxConcurrentJobs:   max(maxConcurrentJobs, 1),
		JobTimeoutSeconds:   timeout,
		JobHeartbeatSeconds: min(DefaultHeartbeatSeconds, timeout-60),
	}
}

// Validate reports whether l is acceptable to Step Functions.
func (l Limits) Validate() error {
	switch {
	case l.MaxConcurrentJobs < 1:
		return fmt.Errorf("MaxConcurrentJobs %d: must be at least 1", l.MaxConcurrentJobs)
	case l.JobTimeoutSeconds < 1:
		return fmt.Errorf("JobTimeoutSeconds %d: must be at least 1", l.JobTimeoutSeconds)
	case l.JobHeartbeatSeconds < 1 || l.JobHeartbeatSeconds >= l.JobTimeoutSeconds:
		return fmt.Errorf("JobHeartbeatSeconds %d: must be between 1 and JobTimeoutSeconds (%d)", l.JobHeartbeatSeconds, l.JobTimeoutSeconds)
	}
	return nil
}

// Values returns the numeric placeholders' values.
func (l Limits) Values() map[string]any {
	return map[string]any{
		MaxConcurrentJobs:   l.MaxConcurrentJobs,
		JobTimeoutSeconds:   l.JobTimeoutSeconds,
		JobHeartbeatSeconds: l.JobHeartbeatSeconds,
	}
}

// Values returns the ARN placeholders' values.
func (r Resources) Values() map[string]any {
	return map[string]any{
		PreprocessFunctionArn:      r.Preprocess,
		StartJobFunctionArn:        r.StartJob,
		PostprocessFunctionArn:     r.Postprocess,
		TransformFunctionArn:       r.Transform,
		ValidateFunctionArn:        r.Validate,
		NotifyFunctionArn:          r.Notify,
		SingleStageStateMachineArn: r.SingleStage,
	}
}

// Substitutions returns every placeholder's value, for Substitute.
func Substitutions(r Resources, l Limits) map[string]any {
	vars := r.Values()
	for k, v := range l.Values() {
		vars[k] = v
	}
	return vars
}

var placeholder = regexp.MustCompile(`"?\$\{([A-Za-z0-9_]+)\}"?`)

// Placeholders returns the names of the ${...} placeholders in def, sorted,
// each once.
func Placeholders(def []byte) []string {
	var names []string
	for _, m := range placeholder.FindAllSubmatch(def, -1) {
		names = append(names, string(m[1]))
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// Substitute returns def with every placeholder replaced by its value in vars.
// A placeholder that is a whole JSON string ("${Name}") takes the JSON
// encoding of an int value, so numeric fields such as MaxConcurrency stay
// numbers while the file remains valid JSON; string values are inserted
// JSON-escaped. Substitute fails when a placeholder has no value or the
// result is not valid JSON.
func Substitute(def []byte, vars map[string]any) ([]byte, error) {
	out, err := substitute(def, vars, true)
	if err != nil {
		return nil, err
	}
	if !json.Valid(out) {
		return nil, fmt.Errorf("substituted definition is not valid JSON: check the values of %v", Placeholders(def))
	}
	return out, nil
}

// SubstitutePartial replaces the placeholders that have a value in vars and
// keeps the others as they are, for CloudFormation to fill (the stack
// substitutes the numeric limits itself and leaves the ARNs to
// DefinitionSubstitutions).
func SubstitutePartial(def []byte, vars map[string]any) ([]byte, error) {
	return substitute(def, vars, false)
}

func substitute(def []byte, vars map[string]any, strict bool) ([]byte, error) {
	var firstErr error
	out := placeholder.ReplaceAllFunc(def, func(m []byte) []byte {
		name := string(placeholder.FindSubmatch(m)[1])
		v, ok := vars[name]
		if !ok {
			if strict && firstErr == nil {
				firstErr = fmt.Errorf("placeholder ${%s} has no value: add it to the substitutions", name)
			}
			return m
		}
		quoted := len(m) >= 2 && m[0] == '"' && m[len(m)-1] == '"'
		switch v := v.(type) {
		case int:
			if quoted {
				return strconv.AppendInt(nil, int64(v), 10)
			}
			return bytes.Replace(m, []byte("${"+name+"}"), strconv.AppendInt(nil, int64(v), 10), 1)
		case string:
			enc, _ := json.Marshal(v) // a string always encodes
			inner := enc[1 : len(enc)-1]
			return bytes.Replace(m, []byte("${"+name+"}"), inner, 1)
		default:
			if firstErr == nil {
				firstErr = fmt.Errorf("placeholder ${%s}: value %v (%T) is neither a string nor an int", name, v, v)
			}
			return m
		}
	})
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}
