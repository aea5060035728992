package asl

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// StartExecutionResource is the Step Functions integration that starts
// another state machine; its ".sync" and ".sync:2" forms wait for it.
const StartExecutionResource = "arn:aws:states:::states:startExecution"

// EnableNestedExecutions registers the built-in handler for
// StartExecutionResource (and its .sync, .sync:2 and .waitForTaskToken
// forms), which starts a machine registered with Register by its
// StateMachineArn. Parameters: StateMachineArn, Input (object or JSON
// string), Name (optional).
func (rt *Runtime) EnableNestedExecutions() {
	rt.HandlePrefix(StartExecutionResource, TaskHandlerFunc(rt.startExecution))
}

type startExecutionParams struct {
	StateMachineArn string          `json:"StateMachineArn"`
	Input           json.RawMessage `json:"Input"`
	Name            string          `json:"Name"`
}

func (rt *Runtime) startExecution(ctx context.Context, call TaskCall) (json.RawMessage, error) {
	var p startExecutionParams
	if err := json.Unmarshal(call.Parameters, &p); err != nil {
		return nil, &Error{Name: "States.Runtime", Cause: "startExecution: Parameters: " + err.Error()}
	}
	m, ok := rt.Machine(p.StateMachineArn)
	if !ok {
		return nil, &Error{Name: "StepFunctions.StateMachineDoesNotExistException", Cause: fmt.Sprintf("state machine %q is not registered with the local runtime", p.StateMachineArn)}
	}
	input := p.Input
	if len(input) == 0 || string(input) == "null" {
		input = json.RawMessage("{}")
	}
	var s string
	if json.Unmarshal(input, &s) == nil {
		input = json.RawMessage(s) // Input given as a JSON string
	}
	suffix := strings.TrimPrefix(call.Resource, StartExecutionResource)
	sync := suffix == ".sync" || suffix == ".sync:2"
	startCtx := context.WithoutCancel(ctx)
	child, err := rt.Start(startCtx, m, p.Name, input)
	if err != nil {
		return nil, &Error{Name: "StepFunctions.ExecutionAlreadyExistsException", Cause: err.Error()}
	}
	if !sync {
		return encodeJSON(map[string]any{
			"ExecutionArn": child.ARN,
			"StartDate":    intNum(child.StartTime.UnixMilli()),
		}), nil
	}
	res, err := child.Wait(ctx)
	if err != nil {
		child.Stop("", "parent task ended: "+err.Error())
		return nil, err
	}
	asJSON := suffix == ".sync:2"
	desc := map[string]any{
		"ExecutionArn":    child.ARN,
		"StateMachineArn": child.StateMachineARN,
		"Name":            child.Name,
		"Status":          string(res.Status),
		"StartDate":       intNum(child.StartTime.UnixMilli()),
		"StopDate":        intNum(res.Stop.UnixMilli()),
		"Input":           payload(child.Input, asJSON),
		"InputDetails":    map[string]any{"Included": true},
	}
	if res.Status != StatusSucceeded {
		desc["Error"], desc["Cause"] = res.Error, res.Cause
		return nil, &Error{Name: ErrTaskFailed, Cause: string(encodeJSON(desc))}
	}
	desc["Output"] = payload(res.Output, asJSON)
	desc["OutputDetails"] = map[string]any{"Included": true}
	return encodeJSON(desc), nil
}

// payload renders a child's input or output: parsed JSON for .sync:2, a
// JSON string for .sync.
func payload(raw json.RawMessage, asJSON bool) any {
	if !asJSON {
		return string(raw)
	}
	v, err := decodeJSON(raw)
	if err != nil {
		return string(raw)
	}
	return v
}
