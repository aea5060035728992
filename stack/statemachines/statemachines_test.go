package statemachines_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/bbo-dev/bbo/internal/taskerr"
	"github.com/bbo-dev/bbo/stack/statemachines"
)

var definitions = []struct {
	name string
	def  []byte
}{
	{"batch-orchestrator", statemachines.SingleStage},
	{"pipeline-orchestrator", statemachines.Pipeline},
}

var testResources = statemachines.Resources{
	Preprocess:  "arn:aws:lambda:us-east-1:123456789012:function:preprocess",
	StartJob:    "arn:aws:lambda:us-east-1:123456789012:function:start-job",
	Postprocess: "arn:aws:lambda:us-east-1:123456789012:function:postprocess",
	Transform:   "arn:aws:lambda:us-east-1:123456789012:function:transform",
	Validate:    "arn:aws:lambda:us-east-1:123456789012:function:validate",
	Notify:      "arn:aws:lambda:us-east-1:123456789012:function:notify",
	SingleStage: "arn:aws:states:us-east-1:123456789012:stateMachine:single",
}

// knownResources are the service integrations the definitions may use.
var knownResources = []string{
	"arn:aws:states:::lambda:invoke",
	"arn:aws:states:::lambda:invoke.waitForTaskToken",
	"arn:aws:states:::states:startExecution.sync:2",
}

// knownErrors are the error names Retry and Catch may match: the task
// error names of internal/taskerr plus the AWS-defined families.
var knownErrors = []string{
	taskerr.InvalidConfig, taskerr.InputNotFound, taskerr.InvalidInput, taskerr.TooFewRecords, taskerr.Throttled,
	taskerr.BatchJobFailed, taskerr.BatchJobStopped, taskerr.BatchJobExpired, taskerr.PreviousOutputNotFound,
	taskerr.OutputNotFound, taskerr.Transient, taskerr.Internal,
}

var awsErrorFamily = regexp.MustCompile(`^(States|Lambda|StepFunctions)\.[A-Za-z]+$`)

var knownIntrinsics = []string{
	"States.Format", "States.JsonMerge", "States.ArrayLength", "States.ArrayGetItem", "States.MathAdd",
	"States.JsonToString", "States.StringToJson", "States.Hash", "States.Array",
}

var intrinsicCall = regexp.MustCompile(`States\.[A-Za-z]+\(`)

// scope checks one States map (the top level or a Map's ItemProcessor).
func checkScope(t *testing.T, where string, scope map[string]any) {
	t.Helper()
	states, ok := scope["States"].(map[string]any)
	if !ok || len(states) == 0 {
		t.Fatalf("%s: no States", where)
	}
	start, _ := scope["StartAt"].(string)
	if _, ok := states[start]; !ok {
		t.Errorf("%s: StartAt %q is not a state", where, start)
	}
	edges := map[string][]string{}
	for name, v := range states {
		st, _ := v.(map[string]any)
		at := where + "." + name
		typ, _ := st["Type"].(string)
		var next []string
		if n, ok := st["Next"].(string); ok {
			next = append(next, n)
		}
		if d, ok := st["Default"].(string); ok {
			next = append(next, d)
		}
		choices, _ := st["Choices"].([]any)
		for _, c := range choices {
			if n, ok := c.(map[string]any)["Next"].(string); ok {
				next = append(next, n)
			} else {
				t.Errorf("%s: a choice rule has no Next", at)
			}
		}
		for _, key := range []string{"Catch", "Retry"} {
			list, _ := st[key].([]any)
			for _, e := range list {
				m := e.(map[string]any)
				if key == "Catch" {
					n, _ := m["Next"].(string)
					next = append(next, n)
				}
				names, _ := m["ErrorEquals"].([]any)
				if len(names) == 0 {
					t.Errorf("%s: %s entry without ErrorEquals", at, key)
				}
				for _, n := range names {
					s := n.(string)
					if !slices.Contains(knownErrors, s) && !awsErrorFamily.MatchString(s) {
						t.Errorf("%s: %s on unknown error name %q (not in internal/taskerr nor States./Lambda./StepFunctions.)", at, key, s)
					}
				}
				for k := range m {
					if !slices.Contains([]string{"ErrorEquals", "Next", "ResultPath", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy"}, k) {
						t.Errorf("%s: %s entry has unsupported field %q", at, key, k)
					}
				}
			}
		}
		for _, n := range next {
			if _, ok := states[n]; !ok {
				t.Errorf("%s: transition to %q, which is not a state of this scope", at, n)
			}
		}
		edges[name] = next
		end, _ := st["End"].(bool)
		switch typ {
		case "Task", "Pass", "Map", "Wait", "Parallel":
			if end == (st["Next"] != nil) {
				t.Errorf("%s: a %s state needs exactly one of Next and End", at, typ)
			}
		case "Choice":
			if len(choices) == 0 {
				t.Errorf("%s: Choice without Choices", at)
			}
		case "Fail":
			if st["Error"] == nil && st["ErrorPath"] == nil {
				t.Errorf("%s: Fail without Error or ErrorPath", at)
			}
		case "Succeed":
		default:
			t.Errorf("%s: unknown Type %q", at, typ)
		}
		if typ == "Task" {
			res, _ := st["Resource"].(string)
			if !slices.Contains(knownResources, res) {
				t.Errorf("%s: Resource %q is not a known integration %v", at, res, knownResources)
			}
			params, _ := st["Parameters"].(map[string]any)
			target, _ := params["FunctionName"].(string)
			if target == "" {
				target, _ = params["StateMachineArn"].(string)
			}
			if !strings.HasPrefix(target, "${") {
				t.Errorf("%s: the task target %q is not a ${...} placeholder", at, target)
			}
		}
		if typ == "Map" {
			proc, ok := st["ItemProcessor"].(map[string]any)
			if !ok {
				t.Errorf("%s: Map without ItemProcessor", at)
			} else {
				checkScope(t, at, proc)
			}
		}
	}
	// Every state is reachable from StartAt.
	seen := map[string]bool{}
	var walk func(string)
	walk = func(n string) {
		if seen[n] {
			return
		}
		seen[n] = true
		for _, m := range edges[n] {
			walk(m)
		}
	}
	walk(start)
	for name := range states {
		if !seen[name] {
			t.Errorf("%s.%s: unreachable from StartAt", where, name)
		}
	}
}

// checkPaths checks every "key.$" value: a path, a context path or a known
// intrinsic function.
func checkPaths(t *testing.T, where string, v any) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			at := where + "." + k
			if strings.HasSuffix(k, ".$") || slices.Contains([]string{"InputPath", "OutputPath", "ResultPath", "ItemsPath", "ErrorPath", "CausePath", "Variable"}, k) || strings.HasSuffix(k, "Path") && k != "ResultPath" {
				if s, ok := e.(string); ok {
					switch {
					case strings.HasPrefix(s, "$"):
					case strings.HasPrefix(s, "States."):
						for _, call := range intrinsicCall.FindAllString(s, -1) {
							if !slices.Contains(knownIntrinsics, strings.TrimSuffix(call, "(")) {
								t.Errorf("%s: unknown intrinsic %s", at, call)
							}
						}
						if strings.Count(s, "(") != strings.Count(s, ")") {
							t.Errorf("%s: unbalanced parentheses in %s", at, s)
						}
					default:
						t.Errorf("%s: %q is neither a path nor an intrinsic function", at, s)
					}
				}
			}
			checkPaths(t, at, e)
		}
	case []any:
		for i, e := range v {
			checkPaths(t, fmt.Sprintf("%s[%d]", where, i), e)
		}
	}
}

func TestDefinitionsStructure(t *testing.T) {
	vars := statemachines.Substitutions(testResources, statemachines.LimitsFor(5, 24, 6))
	used := map[string]bool{}
	for _, d := range definitions {
		t.Run(d.name, func(t *testing.T) {
			if !json.Valid(d.def) {
				t.Fatal("not valid JSON")
			}
			for _, p := range statemachines.Placeholders(d.def) {
				used[p] = true
				if _, ok := vars[p]; !ok {
					t.Errorf("placeholder ${%s} has no substitution", p)
				}
			}
			out, err := statemachines.Substitute(d.def, vars)
			if err != nil {
				t.Fatal(err)
			}
			if left := statemachines.Placeholders(out); len(left) > 0 {
				t.Errorf("placeholders left after Substitute: %v", left)
			}
			if !json.Valid(out) {
				t.Fatal("substituted definition is not valid JSON")
			}
			// The structure is checked on the file itself, where task
			// targets must still be placeholders.
			var doc map[string]any
			if err := json.Unmarshal(d.def, &doc); err != nil {
				t.Fatal(err)
			}
			checkScope(t, d.name, doc)
			checkPaths(t, d.name, doc)
		})
	}
	for k := range vars {
		if !used[k] {
			t.Errorf("substitution %s is used by no definition", k)
		}
	}
}

func TestSingleStageContract(t *testing.T) {
	out, err := statemachines.Substitute(statemachines.SingleStage, statemachines.Substitutions(testResources, statemachines.LimitsFor(7, 48, 6)))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		States map[string]json.RawMessage
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	var run struct {
		MaxConcurrency int
		ItemsPath      string
		ItemProcessor  struct {
			States map[string]struct {
				Resource         string
				TimeoutSeconds   int
				HeartbeatSeconds int
				Parameters       map[string]any
				Catch            []struct{ ErrorEquals []string }
			}
		}
	}
	if err := json.Unmarshal(doc.States["RunJobs"], &run); err != nil {
		t.Fatal(err)
	}
	start := run.ItemProcessor.States["StartJob"]
	tests := []struct {
		name      string
		got, want any
	}{
		{"MaxConcurrency", run.MaxConcurrency, 7},
		{"ItemsPath", run.ItemsPath, "$.pre.jobs"},
		{"StartJob resource", start.Resource, "arn:aws:states:::lambda:invoke.waitForTaskToken"},
		{"StartJob TimeoutSeconds", start.TimeoutSeconds, (48 + 6) * 3600},
		{"StartJob HeartbeatSeconds", start.HeartbeatSeconds, 6 * 3600},
		{"StartJob payload", fmt.Sprint(start.Parameters["Payload"]), "map[taskInput.$:$ taskToken.$:$$.Task.Token]"},
		{"StartJob function", start.Parameters["FunctionName"], testResources.StartJob},
		{"StartJob catches all", fmt.Sprint(start.Catch), "[{[States.ALL]}]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if fmt.Sprint(tc.got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v, want %v", tc.got, tc.want)
			}
		})
	}
}

func TestLimitsFor(t *testing.T) {
	tests := []struct {
		name                string
		jobs, hours, margin int
		want                statemachines.Limits
		wantErr             bool
		invalid             statemachines.Limits
	}{
		{name: "defaults", jobs: 5, hours: 24, margin: 6, want: statemachines.Limits{MaxConcurrentJobs: 5, JobTimeoutSeconds: 30 * 3600, JobHeartbeatSeconds: 6 * 3600}},
		{name: "unset timeout is Bedrock's 24h", jobs: 1, hours: -1, margin: 6, want: statemachines.Limits{MaxConcurrentJobs: 1, JobTimeoutSeconds: 30 * 3600, JobHeartbeatSeconds: 6 * 3600}},
		{name: "zero jobs clamps to 1", jobs: 0, hours: 72, margin: 0, want: statemachines.Limits{MaxConcurrentJobs: 1, JobTimeoutSeconds: 72 * 3600, JobHeartbeatSeconds: 6 * 3600}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := statemachines.LimitsFor(tc.jobs, tc.hours, tc.margin)
			if got != tc.want {
				t.Errorf("LimitsFor(%d, %d, %d) = %+v, want %+v", tc.jobs, tc.hours, tc.margin, got, tc.want)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
	bad := []statemachines.Limits{
		{MaxConcurrentJobs: 0, JobTimeoutSeconds: 10, JobHeartbeatSeconds: 5},
		{MaxConcurrentJobs: 1, JobTimeoutSeconds: 0, JobHeartbeatSeconds: 5},
		{MaxConcurrentJobs: 1, JobTimeoutSeconds: 10, JobHeartbeatSeconds: 10},
	}
	for i, l := range bad {
		if l.Validate() == nil {
			t.Errorf("bad limits %d (%+v) validated", i, l)
		}
	}
}

func TestSubstitute(t *testing.T) {
	tests := []struct {
		name    string
		def     string
		vars    map[string]any
		want    string
		wantErr string
	}{
		{"number stays a number", `{"a":"${N}"}`, map[string]any{"N": 5}, `{"a":5}`, ""},
		{"string is inserted", `{"a":"${S}"}`, map[string]any{"S": "arn:x"}, `{"a":"arn:x"}`, ""},
		{"string is escaped", `{"a":"${S}"}`, map[string]any{"S": `q"\`}, `{"a":"q\"\\"}`, ""},
		{"inside a longer string", `{"a":"x-${S}-${N}"}`, map[string]any{"S": "s", "N": 3}, `{"a":"x-s-3"}`, ""},
		{"missing value", `{"a":"${S}"}`, map[string]any{}, "", "placeholder ${S} has no value"},
		{"unsupported type", `{"a":"${S}"}`, map[string]any{"S": 1.5}, "", "neither a string nor an int"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := statemachines.Substitute([]byte(tc.def), tc.vars)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
	partial, err := statemachines.SubstitutePartial([]byte(`{"a":"${N}","b":"${S}"}`), map[string]any{"N": 2})
	if err != nil || string(partial) != `{"a":2,"b":"${S}"}` {
		t.Errorf("SubstitutePartial = %s, %v", partial, err)
	}
}

// FuzzSubstitute: Substitute never panics, and whatever it returns without
// error is valid JSON with no placeholder left.
func FuzzSubstitute(f *testing.F) {
	f.Add([]byte(`{"a":"${N}"}`), "v", 3)
	f.Add(statemachines.SingleStage, "arn:aws:lambda:x", 9)
	f.Add([]byte(`"${N}${S}"`), `"}`, -1)
	f.Add([]byte(`{"a":"${S"}`), "", 0)
	f.Fuzz(func(t *testing.T, def []byte, s string, n int) {
		vars := map[string]any{}
		for _, name := range statemachines.Placeholders(def) {
			if len(name)%2 == 0 {
				vars[name] = s
			} else {
				vars[name] = n
			}
		}
		out, err := statemachines.Substitute(def, vars)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("Substitute returned invalid JSON without error: %q", out)
		}
		if len(statemachines.Placeholders(out)) > 0 && len(statemachines.Placeholders(def)) == 0 {
			t.Fatalf("placeholders appeared from nowhere: %q", out)
		}
	})
}
