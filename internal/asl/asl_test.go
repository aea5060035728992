package asl

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock never really sleeps; it records what it was asked to sleep and
// fires After timers 1000x faster than asked.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time { return time.After(d / 1000) }

func (c *fakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

func newTestRuntime() (*Runtime, *fakeClock) {
	c := newFakeClock()
	rt := NewRuntime()
	rt.Clock = c
	rt.Jitter = func() float64 { return 0.5 }
	return rt, c
}

func mustParse(t *testing.T, def string) *Machine {
	t.Helper()
	m, err := Parse([]byte(def))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

func run(t *testing.T, rt *Runtime, def, input string) (Result, *Execution) {
	t.Helper()
	m := mustParse(t, def)
	x, err := rt.Start(context.Background(), m, "", json.RawMessage(input))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := x.Wait(ctx)
	if err != nil {
		var b strings.Builder
		_ = FormatHistory(&b, x.History())
		t.Fatalf("Wait: %v\n%s", err, b.String())
	}
	return res, x
}

func jsonEq(t *testing.T, got json.RawMessage, want string) {
	t.Helper()
	g, err := decodeJSON(got)
	if err != nil {
		t.Fatalf("output %s is not JSON: %v", got, err)
	}
	w, err := decodeJSON([]byte(want))
	if err != nil {
		t.Fatalf("want %s is not JSON: %v", want, err)
	}
	if !jsonEqual(g, w) {
		t.Errorf("output = %s\nwant     %s", got, want)
	}
}

func echo(ctx context.Context, call TaskCall) (json.RawMessage, error) {
	return call.Parameters, nil
}

// passMachine wraps one state definition as the only state of a machine.
func single(state string) string {
	return `{"StartAt":"S","States":{"S":` + state + `}}`
}

func TestInputOutputProcessing(t *testing.T) {
	// Examples from the States Language spec, "Input and Output Processing".
	tests := []struct {
		name, state, input, want string
	}{
		{"ResultPath default replaces", `{"Type":"Pass","Result":"Hello, Step Functions!","End":true}`,
			`{"comment":"x"}`, `"Hello, Step Functions!"`},
		{"ResultPath null discards", `{"Type":"Pass","Result":"r","ResultPath":null,"End":true}`,
			`{"comment":"x"}`, `{"comment":"x"}`},
		{"ResultPath path merges", `{"Type":"Pass","Result":"r","ResultPath":"$.taskresult","End":true}`,
			`{"comment":"x"}`, `{"comment":"x","taskresult":"r"}`},
		{"ResultPath creates nested", `{"Type":"Pass","Result":{"x":1},"ResultPath":"$.a.b","End":true}`,
			`{"a":{"c":2}}`, `{"a":{"c":2,"b":{"x":1}}}`},
		{"spec example: InputPath ResultPath OutputPath",
			`{"Type":"Pass","InputPath":"$.lambda","Result":{"sum":42},"ResultPath":"$.data.lambdaresult","OutputPath":"$.data","End":true}`,
			`{"title":"Numbers to add","numbers":{"val1":3,"val2":4}, "lambda":{"x":1}}`,
			`{"lambdaresult":{"sum":42}}`},
		{"InputPath null gives empty object", `{"Type":"Pass","InputPath":null,"End":true}`, `{"a":1}`, `{}`},
		{"OutputPath null gives empty object", `{"Type":"Pass","OutputPath":null,"End":true}`, `{"a":1}`, `{}`},
		{"Parameters with paths and context", `{"Type":"Pass","Parameters":{"flagged":true,"parts":{"first.$":"$.vals[0]","last.$":"$.vals[-1]"},"weird.$":"$['odd key']","state.$":"$$.State.Name"},"End":true}`,
			`{"vals":[1,2,3],"odd key":"v"}`, `{"flagged":true,"parts":{"first":1,"last":3},"weird":"v","state":"S"}`},
		{"Parameters wildcard selects array", `{"Type":"Pass","Parameters":{"ids.$":"$.items[*].id"},"End":true}`,
			`{"items":[{"id":1},{"id":2}]}`, `{"ids":[1,2]}`},
		{"ResultPath array index", `{"Type":"Pass","Result":9,"ResultPath":"$.a[1]","End":true}`,
			`{"a":[1,2,3]}`, `{"a":[1,9,3]}`},
		{"big integers survive", `{"Type":"Pass","End":true}`, `{"n":12345678901234567890}`, `{"n":12345678901234567890}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt, _ := newTestRuntime()
			res, _ := run(t, rt, single(tc.state), tc.input)
			if res.Status != StatusSucceeded {
				t.Fatalf("status %s %s %s", res.Status, res.Error, res.Cause)
			}
			jsonEq(t, res.Output, tc.want)
		})
	}
}

func TestIOFailures(t *testing.T) {
	tests := []struct {
		name, state, input, wantErr, wantCause string
	}{
		{"Parameters path missing", `{"Type":"Task","Resource":"echo","Parameters":{"s3_uri.$":"$.input_s3_uri"},"End":true}`,
			`{}`, ErrParameterPathFailure, `state "S": Parameters field "s3_uri.$": path $.input_s3_uri not found in input`},
		{"InputPath missing", `{"Type":"Pass","InputPath":"$.nope","End":true}`, `{}`, ErrRuntime, `InputPath: path $.nope not found`},
		{"ResultPath into string", `{"Type":"Pass","Result":1,"ResultPath":"$.a.b","End":true}`, `{"a":"s"}`, ErrResultPathMatch, `cannot set field "b"`},
		{"bad intrinsic", `{"Type":"Pass","Parameters":{"x.$":"States.StringToJson($.s)"},"End":true}`, `{"s":"{"}`, ErrIntrinsicFailure, `not JSON`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt, _ := newTestRuntime()
			rt.Handle("echo", TaskHandlerFunc(echo))
			res, _ := run(t, rt, single(tc.state), tc.input)
			if res.Status != StatusFailed || res.Error != tc.wantErr || !strings.Contains(res.Cause, tc.wantCause) {
				t.Errorf("got %s %s %q, want FAILED %s containing %q", res.Status, res.Error, res.Cause, tc.wantErr, tc.wantCause)
			}
		})
	}
}

func TestIntrinsics(t *testing.T) {
	// Examples from the Step Functions intrinsic functions documentation.
	input := `{"Id":123456,"inputArray":[1,2,3,4,5,6,7,8,9],"lookingFor":5,"arr":[1,2,2,3,3,3],
	  "s":"Data to encode","b64":"RGF0YSB0byBlbmNvZGU=","json1":{"a":{"a1":1,"a2":2},"b":2},"json2":{"a":{"a3":1},"c":3},
	  "template":"Hello, this is {}.","name":"Arnav","csv":"1,2,3,4,5","odd":"This.is+a,test=string","v1":111,"v2":-1,
	  "escaped":"{\"a\":1}","obj":{"k":"v"}}`
	tests := []struct {
		name, expr, want string
	}{
		{"Format", `States.Format('Hello, my name is {}.', $.name)`, `"Hello, my name is Arnav."`},
		{"Format escapes", `States.Format('It\'s \{\} {}', 'x')`, `"It's {} x"`},
		{"Format number bool null", `States.Format('{} {} {}', $.v1, true, null)`, `"111 true null"`},
		{"StringToJson", `States.StringToJson($.escaped)`, `{"a":1}`},
		{"JsonToString", `States.JsonToString($.obj)`, `"{\"k\":\"v\"}"`},
		{"Array", `States.Array($.Id, 'x', 1.5, true, null)`, `[123456,"x",1.5,true,null]`},
		{"ArrayPartition", `States.ArrayPartition($.inputArray, 4)`, `[[1,2,3,4],[5,6,7,8],[9]]`},
		{"ArrayContains", `States.ArrayContains($.inputArray, $.lookingFor)`, `true`},
		{"ArrayRange", `States.ArrayRange(1, 9, 2)`, `[1,3,5,7,9]`},
		{"ArrayRange down", `States.ArrayRange(3, 1, -1)`, `[3,2,1]`},
		{"ArrayGetItem", `States.ArrayGetItem($.inputArray, 5)`, `6`},
		{"ArrayLength", `States.ArrayLength($.inputArray)`, `9`},
		{"ArrayUnique", `States.ArrayUnique($.arr)`, `[1,2,3]`},
		{"Base64Encode", `States.Base64Encode($.s)`, `"RGF0YSB0byBlbmNvZGU="`},
		{"Base64Decode", `States.Base64Decode($.b64)`, `"Data to encode"`},
		{"Hash SHA-1", `States.Hash($.s, 'SHA-1')`, `"72a42d0f8593b8ce67954a60e19afdaa929600e5"`},
		{"Hash MD5", `States.Hash('', 'MD5')`, `"d41d8cd98f00b204e9800998ecf8427e"`},
		{"JsonMerge shallow", `States.JsonMerge($.json1, $.json2, false)`, `{"a":{"a3":1},"b":2,"c":3}`},
		{"MathAdd", `States.MathAdd($.v1, $.v2)`, `110`},
		{"StringSplit", `States.StringSplit($.csv, ',')`, `["1","2","3","4","5"]`},
		{"StringSplit many delimiters", `States.StringSplit($.odd, '.+,=')`, `["This","is","a","test","string"]`},
		{"nested", `States.Format('{}.{}', States.ArrayGetItem(States.StringSplit($.csv, ','), 0), States.ArrayLength(States.Array(1,2)))`, `"1.2"`},
		{"context path", `States.Format('{}', $$.State.Name)`, `"S"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt, _ := newTestRuntime()
			params, _ := json.Marshal(map[string]string{"v.$": tc.expr})
			res, _ := run(t, rt, single(`{"Type":"Pass","Parameters":`+string(params)+`,"End":true}`), input)
			if res.Status != StatusSucceeded {
				t.Fatalf("%s %s", res.Error, res.Cause)
			}
			jsonEq(t, res.Output, `{"v":`+tc.want+`}`)
		})
	}
	t.Run("UUID and MathRandom", func(t *testing.T) {
		rt, _ := newTestRuntime()
		res, _ := run(t, rt, single(`{"Type":"Pass","Parameters":{"u.$":"States.UUID()","r.$":"States.MathRandom(1, 10)","s.$":"States.MathRandom(1, 999, 7)"},"End":true}`), `{}`)
		var out struct {
			U    string
			R, S int
		}
		if err := json.Unmarshal(res.Output, &out); err != nil {
			t.Fatal(err)
		}
		if len(out.U) != 36 || out.R < 1 || out.R >= 10 || out.S < 1 || out.S >= 999 {
			t.Errorf("got %+v", out)
		}
	})
	t.Run("Hash algorithms", func(t *testing.T) {
		for alg, n := range map[string]int{"MD5": 32, "SHA-1": 40, "SHA-256": 64, "SHA-384": 96, "SHA-512": 128} {
			v, err := mustExpr(t, `States.Hash('abc', '`+alg+`')`).Eval(nil, nil)
			if s, _ := v.(string); err != nil || len(s) != n {
				t.Errorf("%s: %v %v", alg, v, err)
			}
		}
	})
}

func mustExpr(t *testing.T, s string) *Expr {
	t.Helper()
	e, err := ParseIntrinsic(s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestIntrinsicParseErrors(t *testing.T) {
	for _, s := range []string{
		`States.Nope(1)`, `States.Format(`, `States.Format('x'`, `States.ArrayLength(1, 2)`, `States.Array(1 2)`,
		`States.Format('unterminated)`, `$.x`, `States.Array(1))`,
		strings.Repeat("States.Array(", 11) + strings.Repeat(")", 11),
	} {
		t.Run(s, func(t *testing.T) {
			if _, err := ParseIntrinsic(s); err == nil {
				t.Errorf("ParseIntrinsic(%q) succeeded, want error", s)
			}
		})
	}
}

func TestChoice(t *testing.T) {
	def := func(rule string) string {
		return `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[` + rule + `],"Default":"No"},
		"Yes":{"Type":"Pass","Result":"yes","End":true},"No":{"Type":"Pass","Result":"no","End":true}}}`
	}
	input := `{"s":"abc","n":10,"f":1.5,"b":true,"nul":null,"ts":"2024-01-02T03:04:05Z","other":"abc","m":"log-2024.txt","star":"a*b"}`
	tests := []struct {
		name, rule string
		want       bool
	}{
		{"StringEquals", `{"Variable":"$.s","StringEquals":"abc","Next":"Yes"}`, true},
		{"StringEquals type mismatch", `{"Variable":"$.n","StringEquals":"10","Next":"Yes"}`, false},
		{"StringEqualsPath", `{"Variable":"$.s","StringEqualsPath":"$.other","Next":"Yes"}`, true},
		{"StringLessThan", `{"Variable":"$.s","StringLessThan":"abd","Next":"Yes"}`, true},
		{"StringGreaterThanEquals", `{"Variable":"$.s","StringGreaterThanEquals":"abc","Next":"Yes"}`, true},
		{"StringMatches", `{"Variable":"$.m","StringMatches":"log-*.txt","Next":"Yes"}`, true},
		{"StringMatches no", `{"Variable":"$.m","StringMatches":"log-*.csv","Next":"Yes"}`, false},
		{"StringMatches escaped star", `{"Variable":"$.star","StringMatches":"a\\*b","Next":"Yes"}`, true},
		{"NumericEquals", `{"Variable":"$.n","NumericEquals":10,"Next":"Yes"}`, true},
		{"NumericLessThan float", `{"Variable":"$.f","NumericLessThan":2,"Next":"Yes"}`, true},
		{"NumericGreaterThanPath", `{"Variable":"$.n","NumericGreaterThanPath":"$.f","Next":"Yes"}`, true},
		{"NumericLessThanEquals", `{"Variable":"$.n","NumericLessThanEquals":9,"Next":"Yes"}`, false},
		{"BooleanEquals", `{"Variable":"$.b","BooleanEquals":true,"Next":"Yes"}`, true},
		{"TimestampEquals", `{"Variable":"$.ts","TimestampEquals":"2024-01-02T03:04:05Z","Next":"Yes"}`, true},
		{"TimestampLessThan", `{"Variable":"$.ts","TimestampLessThan":"2025-01-01T00:00:00Z","Next":"Yes"}`, true},
		{"TimestampGreaterThan", `{"Variable":"$.ts","TimestampGreaterThan":"2025-01-01T00:00:00Z","Next":"Yes"}`, false},
		{"IsPresent true", `{"Variable":"$.s","IsPresent":true,"Next":"Yes"}`, true},
		{"IsPresent missing", `{"Variable":"$.missing","IsPresent":true,"Next":"Yes"}`, false},
		{"IsPresent false on missing", `{"Variable":"$.missing","IsPresent":false,"Next":"Yes"}`, true},
		{"IsNull", `{"Variable":"$.nul","IsNull":true,"Next":"Yes"}`, true},
		{"IsString", `{"Variable":"$.s","IsString":true,"Next":"Yes"}`, true},
		{"IsNumeric", `{"Variable":"$.s","IsNumeric":true,"Next":"Yes"}`, false},
		{"IsBoolean", `{"Variable":"$.b","IsBoolean":true,"Next":"Yes"}`, true},
		{"IsTimestamp", `{"Variable":"$.ts","IsTimestamp":true,"Next":"Yes"}`, true},
		{"And", `{"And":[{"Variable":"$.n","NumericGreaterThanEquals":10},{"Variable":"$.s","StringEquals":"abc"}],"Next":"Yes"}`, true},
		{"Or", `{"Or":[{"Variable":"$.n","NumericEquals":1},{"Variable":"$.b","BooleanEquals":true}],"Next":"Yes"}`, true},
		{"Not", `{"Not":{"Variable":"$.s","StringEquals":"abc"},"Next":"Yes"}`, false},
		{"context variable", `{"Variable":"$$.State.Name","StringEquals":"C","Next":"Yes"}`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt, _ := newTestRuntime()
			res, _ := run(t, rt, def(tc.rule), input)
			want := `"no"`
			if tc.want {
				want = `"yes"`
			}
			jsonEq(t, res.Output, want)
		})
	}
	t.Run("NoChoiceMatched", func(t *testing.T) {
		rt, _ := newTestRuntime()
		res, _ := run(t, rt, `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.n","NumericEquals":1,"Next":"E"}]},"E":{"Type":"Succeed"}}}`, `{"n":2}`)
		if res.Error != ErrNoChoiceMatched {
			t.Errorf("error %s, want %s", res.Error, ErrNoChoiceMatched)
		}
	})
	t.Run("missing Variable is a runtime error", func(t *testing.T) {
		rt, _ := newTestRuntime()
		res, _ := run(t, rt, def(`{"Variable":"$.missing","StringEquals":"x","Next":"Yes"}`), `{}`)
		if res.Error != ErrRuntime || !strings.Contains(res.Cause, "$.missing") {
			t.Errorf("got %s %s", res.Error, res.Cause)
		}
	})
}

func TestWait(t *testing.T) {
	tests := []struct {
		name, state, input string
		want               time.Duration
	}{
		{"Seconds", `{"Type":"Wait","Seconds":30,"End":true}`, `{}`, 30 * time.Second},
		{"SecondsPath", `{"Type":"Wait","SecondsPath":"$.s","End":true}`, `{"s":7}`, 7 * time.Second},
		{"Timestamp", `{"Type":"Wait","Timestamp":"2024-01-02T03:05:05Z","End":true}`, `{}`, time.Minute},
		{"TimestampPath in the past", `{"Type":"Wait","TimestampPath":"$.t","End":true}`, `{"t":"2020-01-01T00:00:00Z"}`, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt, clk := newTestRuntime()
			res, _ := run(t, rt, single(tc.state), tc.input)
			if res.Status != StatusSucceeded {
				t.Fatalf("%s %s", res.Error, res.Cause)
			}
			if s := clk.Sleeps(); len(s) != 1 || s[0] != tc.want {
				t.Errorf("slept %v, want [%v]", s, tc.want)
			}
		})
	}
}

func TestFailState(t *testing.T) {
	tests := []struct {
		name, state, input, wantErr, wantCause string
	}{
		{"static", `{"Type":"Fail","Error":"MyError","Cause":"because"}`, `{}`, "MyError", "because"},
		{"ErrorPath and CausePath", `{"Type":"Fail","ErrorPath":"$.e","CausePath":"$.c"}`, `{"e":"E1","c":"C1"}`, "E1", "C1"},
		{"CausePath intrinsic", `{"Type":"Fail","Error":"E","CausePath":"States.Format('bad {}', $.n)"}`, `{"n":3}`, "E", "bad 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt, _ := newTestRuntime()
			res, _ := run(t, rt, single(tc.state), tc.input)
			if res.Status != StatusFailed || res.Error != tc.wantErr || res.Cause != tc.wantCause {
				t.Errorf("got %s %q %q", res.Status, res.Error, res.Cause)
			}
		})
	}
}

func TestRetryBackoff(t *testing.T) {
	tests := []struct {
		name, retry string
		failures    int
		wantStatus  Status
		wantSleeps  []time.Duration
	}{
		{"defaults: 1s x2, 3 attempts", `{"ErrorEquals":["Boom"]}`, 3, StatusSucceeded,
			[]time.Duration{time.Second, 2 * time.Second, 4 * time.Second}},
		{"exhausted", `{"ErrorEquals":["Boom"]}`, 4, StatusFailed,
			[]time.Duration{time.Second, 2 * time.Second, 4 * time.Second}},
		{"MaxDelaySeconds caps", `{"ErrorEquals":["States.ALL"],"IntervalSeconds":3,"BackoffRate":3,"MaxAttempts":4,"MaxDelaySeconds":20}`, 4, StatusSucceeded,
			[]time.Duration{3 * time.Second, 9 * time.Second, 20 * time.Second, 20 * time.Second}},
		{"JitterStrategy FULL", `{"ErrorEquals":["States.TaskFailed"],"IntervalSeconds":2,"JitterStrategy":"FULL"}`, 2, StatusSucceeded,
			[]time.Duration{time.Second, 2 * time.Second}},
		{"MaxAttempts 0 never retries", `{"ErrorEquals":["Boom"],"MaxAttempts":0}`, 1, StatusFailed, nil},
		{"other error not retried", `{"ErrorEquals":["Other"]}`, 1, StatusFailed, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt, clk := newTestRuntime()
			var calls atomic.Int32
			rt.Handle("flaky", TaskHandlerFunc(func(ctx context.Context, call TaskCall) (json.RawMessage, error) {
				if int(calls.Add(1)) <= tc.failures {
					return nil, &Error{Name: "Boom", Cause: "try again"}
				}
				return json.RawMessage(`"ok"`), nil
			}))
			res, x := run(t, rt, single(`{"Type":"Task","Resource":"flaky","Retry":[`+tc.retry+`],"End":true}`), `{}`)
			if res.Status != tc.wantStatus {
				t.Fatalf("status %s (%s %s), want %s", res.Status, res.Error, res.Cause, tc.wantStatus)
			}
			if got := clk.Sleeps(); !equalDurations(got, tc.wantSleeps) {
				t.Errorf("sleeps %v, want %v", got, tc.wantSleeps)
			}
			if res.Status == StatusFailed && res.Error != "Boom" {
				t.Errorf("error %s, want Boom", res.Error)
			}
			n := 0
			for _, e := range x.History() {
				if e.Type == EventTaskRetry {
					n++
				}
			}
			if n != len(tc.wantSleeps) {
				t.Errorf("%d retry events, want %d", n, len(tc.wantSleeps))
			}
		})
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCatch(t *testing.T) {
	def := func(catch string) string {
		return `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"fail","Catch":[` + catch + `],"End":true},
		"H":{"Type":"Pass","End":true}}}`
	}
	tests := []struct {
		name, catch, want string
		caught            bool
	}{
		{"default ResultPath replaces input", `{"ErrorEquals":["Boom"],"Next":"H"}`, `{"Error":"Boom","Cause":"bad"}`, true},
		{"ResultPath merges", `{"ErrorEquals":["States.ALL"],"Next":"H","ResultPath":"$.error"}`, `{"in":1,"error":{"Error":"Boom","Cause":"bad"}}`, true},
		{"ResultPath null keeps input", `{"ErrorEquals":["States.TaskFailed"],"Next":"H","ResultPath":null}`, `{"in":1}`, true},
		{"no match", `{"ErrorEquals":["Other"],"Next":"H"}`, ``, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt, _ := newTestRuntime()
			rt.Handle("fail", TaskHandlerFunc(func(context.Context, TaskCall) (json.RawMessage, error) {
				return nil, &Error{Name: "Boom", Cause: "bad"}
			}))
			res, _ := run(t, rt, def(tc.catch), `{"in":1}`)
			if !tc.caught {
				if res.Status != StatusFailed || res.Error != "Boom" {
					t.Errorf("got %s %s", res.Status, res.Error)
				}
				return
			}
			jsonEq(t, res.Output, tc.want)
		})
	}
	t.Run("plain Go error is States.TaskFailed", func(t *testing.T) {
		rt, _ := newTestRuntime()
		rt.Handle("fail", TaskHandlerFunc(func(context.Context, TaskCall) (json.RawMessage, error) {
			return nil, errors.New("disk full")
		}))
		res, _ := run(t, rt, def(`{"ErrorEquals":["States.TaskFailed"],"Next":"H"}`), `{}`)
		jsonEq(t, res.Output, `{"Error":"States.TaskFailed","Cause":"disk full"}`)
	})
	t.Run("States.Runtime is not caught by States.ALL", func(t *testing.T) {
		rt, _ := newTestRuntime()
		res, _ := run(t, rt, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"x","InputPath":"$.nope","Catch":[{"ErrorEquals":["States.ALL"],"Next":"H"}],"End":true},"H":{"Type":"Pass","End":true}}}`, `{}`)
		if res.Error != ErrRuntime {
			t.Errorf("got %s %s", res.Error, res.Cause)
		}
	})
}

func TestParallel(t *testing.T) {
	rt, _ := newTestRuntime()
	rt.Handle("echo", TaskHandlerFunc(echo))
	res, _ := run(t, rt, single(`{"Type":"Parallel","End":true,"ResultSelector":{"a.$":"$[0]","b.$":"$[1].v"},"Branches":[
	  {"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":"$.n"},"End":true}}},
	  {"StartAt":"B","States":{"B":{"Type":"Task","Resource":"echo","Parameters":{"v.$":"States.MathAdd($.n, 1)"},"End":true}}}]}`), `{"n":1}`)
	jsonEq(t, res.Output, `{"a":{"x":1},"b":2}`)

	t.Run("branch failure is caught by its name", func(t *testing.T) {
		rt, _ := newTestRuntime()
		res, _ := run(t, rt, `{"StartAt":"P","States":{"P":{"Type":"Parallel","Next":"Done","Catch":[{"ErrorEquals":["BranchBoom"],"Next":"H","ResultPath":"$.err"}],"Branches":[
		  {"StartAt":"A","States":{"A":{"Type":"Fail","Error":"BranchBoom","Cause":"c"}}},
		  {"StartAt":"B","States":{"B":{"Type":"Wait","Seconds":1,"End":true}}}]},
		  "Done":{"Type":"Succeed"},"H":{"Type":"Pass","End":true}}}`, `{}`)
		jsonEq(t, res.Output, `{"err":{"Error":"BranchBoom","Cause":"c"}}`)
	})
}

func TestMapConcurrency(t *testing.T) {
	for _, tc := range []struct {
		name      string
		max, want int32
	}{{"MaxConcurrency 2", 2, 2}, {"MaxConcurrency 0 is unbounded", 0, 6}} {
		t.Run(tc.name, func(t *testing.T) {
			rt, _ := newTestRuntime()
			var running, peak atomic.Int32
			release := make(chan struct{})
			var once sync.Once
			rt.Handle("work", TaskHandlerFunc(func(ctx context.Context, call TaskCall) (json.RawMessage, error) {
				n := running.Add(1)
				defer running.Add(-1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				if n == tc.want {
					once.Do(func() { close(release) }) // the limit is reached: let everyone go
				}
				select {
				case <-release:
				case <-time.After(2 * time.Second):
					return nil, errors.New("never reached the expected concurrency")
				}
				time.Sleep(time.Millisecond) // overlap with the next iteration if the limit were broken
				return call.Parameters, nil
			}))
			def := single(`{"Type":"Map","ItemsPath":"$.items","MaxConcurrency":` + itoa(tc.max) + `,"End":true,
			  "ItemSelector":{"i.$":"$$.Map.Item.Index","v.$":"$$.Map.Item.Value","k.$":"$.k"},
			  "ItemProcessor":{"StartAt":"W","States":{"W":{"Type":"Task","Resource":"work","End":true}}}}`)
			res, _ := run(t, rt, def, `{"k":"x","items":["a","b","c","d","e","f"]}`)
			if res.Status != StatusSucceeded {
				t.Fatalf("%s %s", res.Error, res.Cause)
			}
			jsonEq(t, res.Output, `[{"i":0,"v":"a","k":"x"},{"i":1,"v":"b","k":"x"},{"i":2,"v":"c","k":"x"},{"i":3,"v":"d","k":"x"},{"i":4,"v":"e","k":"x"},{"i":5,"v":"f","k":"x"}]`)
			if p := peak.Load(); p != tc.want {
				t.Errorf("peak concurrency %d, want %d", p, tc.want)
			}
		})
	}
	t.Run("legacy Iterator and Parameters", func(t *testing.T) {
		rt, _ := newTestRuntime()
		res, _ := run(t, rt, single(`{"Type":"Map","End":true,"ResultPath":"$.out","Parameters":{"x.$":"$$.Map.Item.Value"},
		  "Iterator":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}}`), `[1,2]`)
		if res.Status != StatusFailed {
			// ResultPath $.out on an array input cannot set a field.
			t.Errorf("got %s, want ResultPathMatchFailure", res.Status)
		}
		res, _ = run(t, rt, single(`{"Type":"Map","End":true,"ItemsPath":"$.a","ResultPath":"$.out","Parameters":{"x.$":"$$.Map.Item.Value"},
		  "Iterator":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}}`), `{"a":[1,2]}`)
		jsonEq(t, res.Output, `{"a":[1,2],"out":[{"x":1},{"x":2}]}`)
	})
}

func itoa(n int32) string { b, _ := json.Marshal(n); return string(b) }

func TestWaitForTaskToken(t *testing.T) {
	def := single(`{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","HeartbeatSeconds":60,"TimeoutSeconds":3600,
	  "Parameters":{"FunctionName":"start-job","Payload":{"taskToken.$":"$$.Task.Token","taskInput.$":"$"}},"End":true}`)
	tests := []struct {
		name       string
		send       func(rt *Runtime, token string) error
		wantStatus Status
		wantErr    string
	}{
		{"success", func(rt *Runtime, tok string) error {
			if err := rt.SendTaskHeartbeat(tok); err != nil {
				return err
			}
			return rt.SendTaskSuccess(tok, json.RawMessage(`{"job_arn":"j"}`))
		}, StatusSucceeded, ""},
		{"failure", func(rt *Runtime, tok string) error {
			return rt.SendTaskFailure(tok, "BatchJobFailed", "bedrock said no")
		}, StatusFailed, "BatchJobFailed"},
		{"heartbeat timeout", func(*Runtime, string) error { return nil }, StatusFailed, ErrHeartbeatTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt, _ := newTestRuntime()
			tokens := make(chan string, 1)
			rt.HandlePrefix("arn:aws:states:::lambda:invoke", TaskHandlerFunc(func(ctx context.Context, call TaskCall) (json.RawMessage, error) {
				var p struct{ Payload struct{ TaskToken string } }
				if err := json.Unmarshal(call.Parameters, &p); err != nil {
					return nil, err
				}
				if p.Payload.TaskToken != call.TaskToken || call.TaskToken == "" {
					return nil, errors.New("token not passed through Parameters")
				}
				tokens <- call.TaskToken
				return json.RawMessage(`{"ignored":true}`), nil
			}))
			m := mustParse(t, def)
			x, err := rt.Start(context.Background(), m, "exec1", json.RawMessage(`{"job":1}`))
			if err != nil {
				t.Fatal(err)
			}
			tok := <-tokens
			if err := tc.send(rt, tok); err != nil {
				t.Fatal(err)
			}
			res, err := x.Wait(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.wantStatus || res.Error != tc.wantErr {
				t.Fatalf("got %s %s %s", res.Status, res.Error, res.Cause)
			}
			if tc.wantStatus == StatusSucceeded {
				jsonEq(t, res.Output, `{"job_arn":"j"}`)
			}
			if err := rt.SendTaskSuccess(tok, json.RawMessage(`{}`)); !errors.Is(err, ErrTaskNotFound) {
				t.Errorf("second SendTaskSuccess: %v, want ErrTaskNotFound", err)
			}
		})
	}
}

func TestTaskTimeout(t *testing.T) {
	rt, _ := newTestRuntime()
	rt.Handle("slow", TaskHandlerFunc(func(ctx context.Context, call TaskCall) (json.RawMessage, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}))
	res, _ := run(t, rt, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"slow","TimeoutSecondsPath":"$.t","Catch":[{"ErrorEquals":["States.TaskFailed"],"Next":"Wrong"},{"ErrorEquals":["States.Timeout"],"Next":"Right"}],"End":true},
	  "Wrong":{"Type":"Fail","Error":"wrong"},"Right":{"Type":"Pass","End":true}}}`, `{"t":5}`)
	jsonEq(t, res.Output, `{"Error":"States.Timeout","Cause":"state \"T\": task did not finish within 5 seconds"}`)
}

func TestNestedStartExecution(t *testing.T) {
	for _, tc := range []struct {
		resource, wantOutput string
	}{
		{StartExecutionResource + ".sync:2", `{"doubled":42}`},
		{StartExecutionResource + ".sync", `"{\"doubled\":42}"`},
	} {
		t.Run(tc.resource, func(t *testing.T) {
			rt, _ := newTestRuntime()
			rt.EnableNestedExecutions()
			child := mustParse(t, single(`{"Type":"Pass","Parameters":{"doubled.$":"States.MathAdd($.n, $.n)"},"End":true}`))
			arn := rt.Register("child", child)
			parent := single(`{"Type":"Task","Resource":"` + tc.resource + `","Parameters":{"StateMachineArn":"` + arn + `","Input":{"n.$":"$.n"},"Name.$":"States.Format('kid-{}', $.n)"},
			  "ResultSelector":{"out.$":"$.Output","status.$":"$.Status","arn.$":"$.ExecutionArn"},"End":true}`)
			res, _ := run(t, rt, parent, `{"n":21}`)
			if res.Status != StatusSucceeded {
				t.Fatalf("%s %s", res.Error, res.Cause)
			}
			jsonEq(t, res.Output, `{"out":`+tc.wantOutput+`,"status":"SUCCEEDED","arn":"arn:aws:states:us-east-1:123456789012:execution:child:kid-21"}`)
		})
	}
	t.Run("child failure fails the task", func(t *testing.T) {
		rt, _ := newTestRuntime()
		rt.EnableNestedExecutions()
		arn := rt.Register("bad", mustParse(t, single(`{"Type":"Fail","Error":"Nope","Cause":"no"}`)))
		res, _ := run(t, rt, single(`{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync:2","Parameters":{"StateMachineArn":"`+arn+`"},"End":true}`), `{}`)
		if res.Error != ErrTaskFailed || !strings.Contains(res.Cause, `"Error":"Nope"`) {
			t.Errorf("got %s %s", res.Error, res.Cause)
		}
	})
}

func TestHistoryAndObserver(t *testing.T) {
	rt, _ := newTestRuntime()
	var mu sync.Mutex
	var seen []EventType
	rt.Observer = func(e Event) { mu.Lock(); seen = append(seen, e.Type); mu.Unlock() }
	rt.Handle("echo", TaskHandlerFunc(echo))
	_, x := run(t, rt, `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"echo","Next":"B"},"B":{"Type":"Succeed"}}}`, `{"a":1}`)
	want := []EventType{EventExecutionStarted, EventStateEntered, EventTaskScheduled, EventTaskSucceeded, EventStateExited,
		EventStateEntered, EventStateExited, EventExecutionSucceeded}
	h := x.History()
	if len(h) != len(want) {
		t.Fatalf("history has %d events, want %d", len(h), len(want))
	}
	for i, e := range h {
		if e.Type != want[i] || e.ID != i+1 {
			t.Errorf("event %d = %s (id %d), want %s", i, e.Type, e.ID, want[i])
		}
	}
	mu.Lock()
	if len(seen) != len(want) {
		t.Errorf("observer saw %d events, want %d", len(seen), len(want))
	}
	mu.Unlock()
	var b strings.Builder
	if err := FormatHistory(&b, h); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `TaskScheduled`) || !strings.Contains(b.String(), `resource=echo`) {
		t.Errorf("FormatHistory output:\n%s", b.String())
	}
}

func TestExecutionControl(t *testing.T) {
	t.Run("Stop aborts", func(t *testing.T) {
		rt, _ := newTestRuntime()
		started := make(chan struct{})
		rt.Handle("block", TaskHandlerFunc(func(ctx context.Context, _ TaskCall) (json.RawMessage, error) {
			close(started)
			<-ctx.Done()
			return nil, ctx.Err()
		}))
		x, err := rt.Start(context.Background(), mustParse(t, single(`{"Type":"Task","Resource":"block","End":true}`)), "n", nil)
		if err != nil {
			t.Fatal(err)
		}
		<-started
		x.Stop("", "test")
		res, _ := x.Wait(context.Background())
		if res.Status != StatusAborted {
			t.Errorf("status %s", res.Status)
		}
		if _, err := rt.Start(context.Background(), x.StateMachine, "n", nil); !errors.Is(err, ErrExecutionExists) {
			t.Errorf("duplicate name: %v", err)
		}
	})
	t.Run("execution TimeoutSeconds", func(t *testing.T) {
		rt, _ := newTestRuntime()
		rt.Handle("block", TaskHandlerFunc(func(ctx context.Context, _ TaskCall) (json.RawMessage, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}))
		res, _ := run(t, rt, `{"TimeoutSeconds":2,"StartAt":"S","States":{"S":{"Type":"Task","Resource":"block","End":true}}}`, `{}`)
		if res.Status != StatusTimedOut {
			t.Errorf("status %s %s", res.Status, res.Cause)
		}
	})
	t.Run("missing handler", func(t *testing.T) {
		rt, _ := newTestRuntime()
		res, _ := run(t, rt, single(`{"Type":"Task","Resource":"arn:nothing","End":true}`), `{}`)
		if res.Error != ErrRuntime || !strings.Contains(res.Cause, "arn:nothing") {
			t.Errorf("got %s %s", res.Error, res.Cause)
		}
	})
}

// State data over 256 KiB fails with States.DataLimitExceeded, as in AWS,
// and no Catch can take it.
func TestDataLimitExceeded(t *testing.T) {
	rt, _ := newTestRuntime()
	big := strings.Repeat("x", MaxPayloadBytes)
	rt.Handle("arn:test:big", TaskHandlerFunc(func(context.Context, TaskCall) (json.RawMessage, error) {
		return json.Marshal(map[string]string{"blob": big})
	}))
	res, _ := run(t, rt, `{"StartAt":"T","States":{
		"T":{"Type":"Task","Resource":"arn:test:big","Catch":[{"ErrorEquals":["States.ALL"],"Next":"C"}],"End":true},
		"C":{"Type":"Pass","End":true}}}`, `{}`)
	if res.Status != StatusFailed || res.Error != ErrDataLimitExceeded || !strings.Contains(res.Cause, `state "T"`) {
		t.Fatalf("result %+v, want FAILED with %s naming the state", res, ErrDataLimitExceeded)
	}
	res, _ = run(t, rt, single(`{"Type":"Pass","Result":{"small":true},"End":true}`), `{}`)
	if res.Status != StatusSucceeded {
		t.Fatalf("small output: %+v", res)
	}
}
