package asl

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Machine is a parsed and validated state machine definition.
type Machine struct {
	// Name and ARN identify the machine in the context object and in nested
	// executions; Runtime.Register sets them.
	Name string
	ARN  string
	// Comment is the definition's top-level Comment.
	Comment string
	// TimeoutSeconds is the execution timeout (0 = none).
	TimeoutSeconds int
	// Definition is the JSON the machine was parsed from.
	Definition json.RawMessage

	graph *graph
}

// graph is a StartAt + States scope: the top level, a Parallel branch or a
// Map item processor.
type graph struct {
	startAt string
	states  map[string]*State
	order   []string // states in definition order
}

// States returns the names of the top-level states in definition order.
func (m *Machine) States() []string { return slices.Clone(m.graph.order) }

// optPath is an InputPath/OutputPath/ResultPath: absent means "$", null
// means discard.
type optPath struct {
	null bool
	path *Path
}

// State is one parsed state. Only the fields of its Type are set.
type State struct {
	Name string
	Type string

	next string
	end  bool

	inputPath, outputPath, resultPath optPath
	parameters, resultSelector        *template

	// Pass
	result    any
	hasResult bool

	// Task
	resource                         string
	timeoutSeconds, heartbeatSeconds int
	timeoutPath, heartbeatPath       *Path
	retry                            []retrier
	catch                            []catcher

	// Choice
	choices     []*choiceRule
	defaultNext string

	// Wait
	seconds       *int
	secondsPath   *Path
	timestamp     string
	timestampPath *Path

	// Fail
	errorName, cause    string
	errorExpr, causeExp *valueExpr

	// Parallel
	branches []*graph

	// Map
	itemsPath          *Path
	itemSelector       *template
	processor          *graph
	maxConcurrency     int
	maxConcurrencyPath *Path
}

// valueExpr is a path or intrinsic call that yields one value (ErrorPath,
// CausePath).
type valueExpr struct {
	path *Path
	expr *Expr
}

func (v *valueExpr) eval(input, ctxObj any) (any, error) {
	if v.expr != nil {
		return v.expr.Eval(input, ctxObj)
	}
	if v.path.Context() {
		return v.path.Get(ctxObj)
	}
	return v.path.Get(input)
}

type retrier struct {
	errorEquals     []string
	intervalSeconds float64
	maxAttempts     int
	backoffRate     float64
	maxDelaySeconds float64
	jitterFull      bool
}

type catcher struct {
	errorEquals []string
	next        string
	resultPath  optPath
}

// Problem is one thing wrong with a definition.
type Problem struct {
	State   string // qualified state name, "" for the top level
	Field   string
	Message string
}

func (p Problem) String() string {
	switch {
	case p.State == "" && p.Field == "":
		return p.Message
	case p.State == "":
		return fmt.Sprintf("%s: %s", p.Field, p.Message)
	case p.Field == "":
		return fmt.Sprintf("state %q: %s", p.State, p.Message)
	}
	return fmt.Sprintf("state %q: %s: %s", p.State, p.Field, p.Message)
}

// ValidationError lists everything wrong with a definition.
type ValidationError struct {
	Problems []Problem
}

// Error implements error: one problem per line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return "invalid state machine definition:\n  " + strings.Join(lines, "\n  ")
}

// Validate parses def and reports every problem found, or nil.
func Validate(def []byte) error {
	_, err := Parse(def)
	return err
}

// Parse parses and validates a JSONPath state machine definition. A
// definition with problems returns a *ValidationError listing all of them.
func Parse(def []byte) (*Machine, error) {
	raw, err := decodeJSON(def)
	if err != nil {
		return nil, &ValidationError{Problems: []Problem{{Message: "not JSON: " + err.Error()}}}
	}
	top, ok := raw.(map[string]any)
	if !ok {
		return nil, &ValidationError{Problems: []Problem{{Message: "definition must be a JSON object, got " + typeName(raw)}}}
	}
	p := &parser{}
	m := &Machine{Definition: json.RawMessage(def)}
	p.checkFields("", top, topFields)
	if s, ok := top["Comment"].(string); ok {
		m.Comment = s
	}
	if v, ok := top["TimeoutSeconds"]; ok {
		m.TimeoutSeconds = p.intField("", "TimeoutSeconds", v, 1)
	}
	if ql, ok := top["QueryLanguage"]; ok && ql != "JSONPath" {
		p.add("", "QueryLanguage", "only JSONPath is supported, got %v", ql)
	}
	m.graph = p.graph("", top)
	if len(p.problems) > 0 {
		return nil, &ValidationError{Problems: p.problems}
	}
	return m, nil
}

type parser struct {
	problems []Problem
}

func (p *parser) add(state, field, format string, args ...any) {
	p.problems = append(p.problems, Problem{State: state, Field: field, Message: fmt.Sprintf(format, args...)})
}

var topFields = set("StartAt", "States", "Comment", "Version", "TimeoutSeconds", "QueryLanguage")
var graphFields = set("StartAt", "States", "Comment", "ProcessorConfig")

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

var (
	fCommon  = []string{"Type", "Comment", "QueryLanguage"}
	fIO      = []string{"InputPath", "OutputPath"}
	fFlow    = []string{"Next", "End"}
	fErrs    = []string{"Retry", "Catch"}
	fResult  = []string{"ResultPath", "ResultSelector"}
	stateFor = map[string]map[string]bool{
		"Pass":     set(slices.Concat(fCommon, fIO, fFlow, []string{"Parameters", "Result", "ResultPath"})...),
		"Task":     set(slices.Concat(fCommon, fIO, fFlow, fErrs, fResult, []string{"Resource", "Parameters", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath", "Credentials"})...),
		"Choice":   set(slices.Concat(fCommon, fIO, []string{"Choices", "Default"})...),
		"Wait":     set(slices.Concat(fCommon, fIO, fFlow, []string{"Seconds", "SecondsPath", "Timestamp", "TimestampPath"})...),
		"Succeed":  set(slices.Concat(fCommon, fIO)...),
		"Fail":     set(slices.Concat(fCommon, []string{"Error", "Cause", "ErrorPath", "CausePath"})...),
		"Parallel": set(slices.Concat(fCommon, fIO, fFlow, fErrs, fResult, []string{"Branches", "Parameters"})...),
		"Map":      set(slices.Concat(fCommon, fIO, fFlow, fErrs, fResult, []string{"Iterator", "ItemProcessor", "ItemsPath", "ItemSelector", "Parameters", "MaxConcurrency", "MaxConcurrencyPath", "Label"})...),
	}
	unsupported = set("ItemReader", "ItemBatcher", "ResultWriter", "ToleratedFailurePercentage", "ToleratedFailureCount",
		"ToleratedFailurePercentagePath", "ToleratedFailureCountPath", "Assign", "Arguments", "Output", "Items")
)

func (p *parser) checkFields(state string, obj map[string]any, allowed map[string]bool) {
	for _, k := range sortedKeys(obj) {
		switch {
		case allowed[k]:
		case unsupported[k]:
			p.add(state, k, "not supported by the local interpreter")
		default:
			p.add(state, k, "unknown field")
		}
	}
}

// graph parses a StartAt/States scope. prefix qualifies state names in
// problems ("Outer/Branches[0]/").
func (p *parser) graph(prefix string, obj map[string]any) *graph {
	g := &graph{states: map[string]*State{}}
	where := strings.TrimSuffix(prefix, "/")
	start, ok := obj["StartAt"].(string)
	if !ok {
		p.add(where, "StartAt", "missing or not a string")
	}
	g.startAt = start
	states, ok := obj["States"].(map[string]any)
	if !ok || len(states) == 0 {
		p.add(where, "States", "missing, empty or not an object")
		return g
	}
	// Definition order: encoding/json maps lose it, so recover it from keys sorted;
	// the order only matters for display.
	for _, name := range sortedKeys(states) {
		g.order = append(g.order, name)
		so, ok := states[name].(map[string]any)
		if !ok {
			p.add(prefix+name, "", "state must be an object")
			continue
		}
		if len(name) > 80 {
			p.add(prefix+name, "", "state name longer than 80 characters")
		}
		g.states[name] = p.state(prefix+name, name, so)
	}
	if start != "" && g.states[start] == nil {
		p.add(where, "StartAt", "names state %q, which does not exist", start)
	}
	p.checkTransitions(prefix, g)
	return g
}

func (p *parser) checkTransitions(prefix string, g *graph) {
	target := func(from, field, to string) {
		if to == "" {
			return
		}
		if g.states[to] == nil {
			p.add(prefix+from, field, "names state %q, which does not exist in this scope", to)
		}
	}
	for _, name := range g.order {
		s := g.states[name]
		if s == nil {
			continue
		}
		target(name, "Next", s.next)
		target(name, "Default", s.defaultNext)
		for i, c := range s.catch {
			target(name, fmt.Sprintf("Catch[%d].Next", i), c.next)
		}
		for i, c := range s.choices {
			target(name, fmt.Sprintf("Choices[%d].Next", i), c.next)
		}
	}
	// Reachability from StartAt.
	seen := map[string]bool{}
	var walk func(string)
	walk = func(n string) {
		s := g.states[n]
		if s == nil || seen[n] {
			return
		}
		seen[n] = true
		walk(s.next)
		walk(s.defaultNext)
		for _, c := range s.catch {
			walk(c.next)
		}
		for _, c := range s.choices {
			walk(c.next)
		}
	}
	walk(g.startAt)
	if g.states[g.startAt] == nil {
		return
	}
	for _, name := range g.order {
		if g.states[name] != nil && !seen[name] {
			p.add(prefix+name, "", "unreachable from StartAt %q", g.startAt)
		}
	}
}

func (p *parser) state(qname, name string, o map[string]any) *State {
	s := &State{Name: name}
	typ, _ := o["Type"].(string)
	s.Type = typ
	allowed, known := stateFor[typ]
	if !known {
		p.add(qname, "Type", "unknown state type %q (want Pass, Task, Choice, Wait, Succeed, Fail, Parallel or Map)", o["Type"])
		return s
	}
	p.checkFields(qname, o, allowed)
	if ql, ok := o["QueryLanguage"]; ok && ql != "JSONPath" {
		p.add(qname, "QueryLanguage", "only JSONPath is supported, got %v", ql)
	}
	// Transitions.
	next, hasNext := o["Next"]
	end, hasEnd := o["End"]
	if allowed["Next"] {
		if hasNext {
			s.next, _ = next.(string)
			if s.next == "" {
				p.add(qname, "Next", "must be a non-empty string")
			}
		}
		if hasEnd {
			b, ok := end.(bool)
			if !ok {
				p.add(qname, "End", "must be a boolean")
			}
			s.end = b
		}
		switch {
		case hasNext && s.end:
			p.add(qname, "End", "a state cannot have both Next and End: true")
		case !hasNext && !s.end:
			p.add(qname, "Next", "a %s state needs Next or End: true", typ)
		}
	}
	s.inputPath = p.optPath(qname, "InputPath", o, false)
	s.outputPath = p.optPath(qname, "OutputPath", o, false)
	s.resultPath = p.optPath(qname, "ResultPath", o, true)
	if v, ok := o["Parameters"]; ok {
		s.parameters = p.template(qname, "Parameters", v)
	}
	if v, ok := o["ResultSelector"]; ok {
		s.resultSelector = p.template(qname, "ResultSelector", v)
	}
	if allowed["Retry"] {
		s.retry = p.retriers(qname, o["Retry"])
		s.catch = p.catchers(qname, o["Catch"])
	}
	switch typ {
	case "Pass":
		s.result, s.hasResult = o["Result"]
	case "Task":
		s.resource, _ = o["Resource"].(string)
		if s.resource == "" {
			p.add(qname, "Resource", "missing or not a string")
		}
		s.timeoutSeconds, s.timeoutPath = p.intOrPath(qname, "TimeoutSeconds", o, 1)
		s.heartbeatSeconds, s.heartbeatPath = p.intOrPath(qname, "HeartbeatSeconds", o, 1)
		if s.timeoutSeconds > 0 && s.heartbeatSeconds >= s.timeoutSeconds {
			p.add(qname, "HeartbeatSeconds", "must be smaller than TimeoutSeconds")
		}
	case "Choice":
		s.defaultNext, _ = o["Default"].(string)
		list, ok := o["Choices"].([]any)
		if !ok || len(list) == 0 {
			p.add(qname, "Choices", "missing, empty or not an array")
		}
		for i, c := range list {
			r := p.choiceRule(qname, fmt.Sprintf("Choices[%d]", i), c, true)
			if r != nil {
				s.choices = append(s.choices, r)
			}
		}
	case "Wait":
		n := 0
		if v, ok := o["Seconds"]; ok {
			sec := p.intField(qname, "Seconds", v, 0)
			s.seconds = &sec
			n++
		}
		if v, ok := o["SecondsPath"]; ok {
			s.secondsPath = p.refPath(qname, "SecondsPath", v)
			n++
		}
		if v, ok := o["Timestamp"]; ok {
			s.timestamp, _ = v.(string)
			if _, err := parseTimestamp(s.timestamp); err != nil {
				p.add(qname, "Timestamp", "%v", err)
			}
			n++
		}
		if v, ok := o["TimestampPath"]; ok {
			s.timestampPath = p.refPath(qname, "TimestampPath", v)
			n++
		}
		if n != 1 {
			p.add(qname, "", "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath")
		}
	case "Fail":
		s.errorName, _ = o["Error"].(string)
		s.cause, _ = o["Cause"].(string)
		s.errorExpr = p.valueExpr(qname, "ErrorPath", o)
		s.causeExp = p.valueExpr(qname, "CausePath", o)
		if _, ok := o["Error"]; ok && s.errorExpr != nil {
			p.add(qname, "ErrorPath", "cannot be used together with Error")
		}
		if _, ok := o["Cause"]; ok && s.causeExp != nil {
			p.add(qname, "CausePath", "cannot be used together with Cause")
		}
	case "Parallel":
		list, ok := o["Branches"].([]any)
		if !ok || len(list) == 0 {
			p.add(qname, "Branches", "missing, empty or not an array")
		}
		for i, b := range list {
			bo, ok := b.(map[string]any)
			if !ok {
				p.add(qname, fmt.Sprintf("Branches[%d]", i), "must be an object")
				continue
			}
			bp := fmt.Sprintf("%s/Branches[%d]/", qname, i)
			p.checkFields(strings.TrimSuffix(bp, "/"), bo, graphFields)
			s.branches = append(s.branches, p.graph(bp, bo))
		}
	case "Map":
		if v, ok := o["ItemsPath"]; ok {
			s.itemsPath = p.refPath(qname, "ItemsPath", v)
		}
		if v, ok := o["ItemSelector"]; ok {
			if s.parameters != nil {
				p.add(qname, "ItemSelector", "cannot be used together with Parameters")
			}
			s.itemSelector = p.template(qname, "ItemSelector", v)
		} else {
			// Legacy: Parameters in a Map state is the per-item selector.
			s.itemSelector, s.parameters = s.parameters, nil
		}
		s.maxConcurrency, s.maxConcurrencyPath = p.intOrPath(qname, "MaxConcurrency", o, 0)
		proc, field := o["ItemProcessor"], "ItemProcessor"
		if proc == nil {
			proc, field = o["Iterator"], "Iterator"
		} else if o["Iterator"] != nil {
			p.add(qname, "Iterator", "cannot be used together with ItemProcessor")
		}
		po, ok := proc.(map[string]any)
		if !ok {
			p.add(qname, "ItemProcessor", "missing or not an object")
			break
		}
		if pc, ok := po["ProcessorConfig"].(map[string]any); ok {
			if mode, _ := pc["Mode"].(string); mode != "" && mode != "INLINE" {
				p.add(qname, field+".ProcessorConfig.Mode", "only INLINE is supported, got %q", mode)
			}
		}
		p.checkFields(qname+"/"+field, po, graphFields)
		s.processor = p.graph(qname+"/"+field+"/", po)
	}
	return s
}

func (p *parser) optPath(state, field string, o map[string]any, reference bool) optPath {
	v, ok := o[field]
	if !ok {
		return optPath{}
	}
	if v == nil {
		return optPath{null: true}
	}
	s, ok := v.(string)
	if !ok {
		p.add(state, field, "must be a path string or null, got %s", typeName(v))
		return optPath{}
	}
	path, err := ParsePath(s)
	if err != nil {
		p.add(state, field, "%v", err)
		return optPath{}
	}
	if reference && (!path.IsReference() || path.Context()) {
		p.add(state, field, "%q must be a reference path into the input (no wildcards, not $$)", s)
		return optPath{}
	}
	return optPath{path: path}
}

func (p *parser) refPath(state, field string, v any) *Path {
	s, ok := v.(string)
	if !ok {
		p.add(state, field, "must be a path string, got %s", typeName(v))
		return nil
	}
	path, err := ParsePath(s)
	if err != nil {
		p.add(state, field, "%v", err)
		return nil
	}
	if !path.IsReference() {
		p.add(state, field, "%q must be a reference path (no wildcards)", s)
		return nil
	}
	return path
}

func (p *parser) valueExpr(state, field string, o map[string]any) *valueExpr {
	v, ok := o[field]
	if !ok {
		return nil
	}
	s, _ := v.(string)
	if strings.HasPrefix(s, "States.") {
		e, err := ParseIntrinsic(s)
		if err != nil {
			p.add(state, field, "%v", err)
			return nil
		}
		return &valueExpr{expr: e}
	}
	path := p.refPath(state, field, v)
	if path == nil {
		return nil
	}
	return &valueExpr{path: path}
}

func (p *parser) template(state, field string, v any) *template {
	t, err := compileTemplate(v)
	if err != nil {
		p.add(state, field, "%v", err)
		return nil
	}
	return t
}

func (p *parser) intField(state, field string, v any, minimum int) int {
	i, ok := toInt(v)
	if !ok || i < int64(minimum) || i > 99999999 {
		p.add(state, field, "must be an integer >= %d, got %v", minimum, v)
		return 0
	}
	return int(i)
}

func (p *parser) intOrPath(state, field string, o map[string]any, minimum int) (int, *Path) {
	v, hasV := o[field]
	pv, hasP := o[field+"Path"]
	if hasV && hasP {
		p.add(state, field+"Path", "cannot be used together with %s", field)
	}
	if hasP {
		return 0, p.refPath(state, field+"Path", pv)
	}
	if hasV {
		return p.intField(state, field, v, minimum), nil
	}
	return 0, nil
}

func (p *parser) errorEquals(state, field string, o map[string]any) []string {
	list, ok := o["ErrorEquals"].([]any)
	if !ok || len(list) == 0 {
		p.add(state, field+".ErrorEquals", "missing, empty or not an array")
		return nil
	}
	var out []string
	for _, x := range list {
		s, ok := x.(string)
		if !ok {
			p.add(state, field+".ErrorEquals", "must hold strings, got %s", typeName(x))
			continue
		}
		out = append(out, s)
	}
	if slices.Contains(out, ErrAll) && len(out) != 1 {
		p.add(state, field+".ErrorEquals", "States.ALL must appear alone")
	}
	return out
}

func (p *parser) retriers(state string, v any) []retrier {
	if v == nil {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		p.add(state, "Retry", "must be an array")
		return nil
	}
	var out []retrier
	for i, x := range list {
		field := fmt.Sprintf("Retry[%d]", i)
		o, ok := x.(map[string]any)
		if !ok {
			p.add(state, field, "must be an object")
			continue
		}
		p.checkFields(state, o, set("ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy", "Comment"))
		r := retrier{errorEquals: p.errorEquals(state, field, o), intervalSeconds: 1, maxAttempts: 3, backoffRate: 2}
		if v, ok := o["IntervalSeconds"]; ok {
			r.intervalSeconds = float64(p.intField(state, field+".IntervalSeconds", v, 1))
		}
		if v, ok := o["MaxAttempts"]; ok {
			r.maxAttempts = p.intField(state, field+".MaxAttempts", v, 0)
		}
		if v, ok := o["BackoffRate"]; ok {
			f, ok := toFloat(v)
			if !ok || f < 1 {
				p.add(state, field+".BackoffRate", "must be a number >= 1.0, got %v", v)
			}
			r.backoffRate = f
		}
		if v, ok := o["MaxDelaySeconds"]; ok {
			r.maxDelaySeconds = float64(p.intField(state, field+".MaxDelaySeconds", v, 1))
		}
		if v, ok := o["JitterStrategy"]; ok {
			switch v {
			case "FULL":
				r.jitterFull = true
			case "NONE":
			default:
				p.add(state, field+".JitterStrategy", "must be FULL or NONE, got %v", v)
			}
		}
		if slices.Contains(r.errorEquals, ErrAll) && i != len(list)-1 {
			p.add(state, field+".ErrorEquals", "a retrier with States.ALL must be the last one")
		}
		out = append(out, r)
	}
	return out
}

func (p *parser) catchers(state string, v any) []catcher {
	if v == nil {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		p.add(state, "Catch", "must be an array")
		return nil
	}
	var out []catcher
	for i, x := range list {
		field := fmt.Sprintf("Catch[%d]", i)
		o, ok := x.(map[string]any)
		if !ok {
			p.add(state, field, "must be an object")
			continue
		}
		p.checkFields(state, o, set("ErrorEquals", "Next", "ResultPath", "Comment"))
		c := catcher{errorEquals: p.errorEquals(state, field, o)}
		c.next, _ = o["Next"].(string)
		if c.next == "" {
			p.add(state, field+".Next", "missing or not a string")
		}
		c.resultPath = p.optPath(state, field+".ResultPath", map[string]any{field + ".ResultPath": o["ResultPath"]}, true)
		if _, ok := o["ResultPath"]; !ok {
			c.resultPath = optPath{}
		}
		if slices.Contains(c.errorEquals, ErrAll) && i != len(list)-1 {
			p.add(state, field+".ErrorEquals", "a catcher with States.ALL must be the last one")
		}
		out = append(out, c)
	}
	return out
}
