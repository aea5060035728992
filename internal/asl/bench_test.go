package asl

import (
	"context"
	"encoding/json"
	"testing"
)

func BenchmarkParameters(b *testing.B) {
	tp, err := compileTemplate(map[string]any{
		"FunctionName": "start-job",
		"Payload": map[string]any{
			"taskToken.$": "$$.Task.Token",
			"taskInput.$": "$",
			"name.$":      "States.Format('{}-part-{}', $.job_name_prefix, $.job_index)",
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	in, _ := decodeJSON([]byte(`{"job_index":3,"job_name_prefix":"p","s3_uri_input":"s3://b/k","records":1000}`))
	ctxObj := map[string]any{"Task": map[string]any{"Token": "tok"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, e := tp.eval("Parameters", in, ctxObj); e != nil {
			b.Fatal(e)
		}
	}
}

func BenchmarkExecution(b *testing.B) {
	def := []byte(`{"StartAt":"Prep","States":{
	  "Prep":{"Type":"Pass","Parameters":{"items.$":"States.ArrayRange(1, 20, 1)"},"Next":"Each"},
	  "Each":{"Type":"Map","ItemsPath":"$.items","MaxConcurrency":4,"ResultPath":"$.out","Next":"Check",
	    "ItemProcessor":{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"echo","Retry":[{"ErrorEquals":["States.ALL"]}],"End":true}}}},
	  "Check":{"Type":"Choice","Choices":[{"Variable":"$.out[0]","NumericEquals":1,"Next":"Done"}],"Default":"Bad"},
	  "Bad":{"Type":"Fail","Error":"Bad"},"Done":{"Type":"Succeed"}}}`)
	m, err := Parse(def)
	if err != nil {
		b.Fatal(err)
	}
	rt, _ := newTestRuntime()
	rt.Handle("echo", TaskHandlerFunc(echo))
	b.SetBytes(int64(len(def)))
	b.ReportAllocs()
	for b.Loop() {
		x, err := rt.Start(context.Background(), m, "", json.RawMessage(`{}`))
		if err != nil {
			b.Fatal(err)
		}
		if res, _ := x.Wait(context.Background()); res.Status != StatusSucceeded {
			b.Fatal(res.Error, res.Cause)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	def := []byte(`{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f","Payload.$":"$"},
	  "Retry":[{"ErrorEquals":["ThrottledError"],"IntervalSeconds":5,"MaxAttempts":5,"BackoffRate":2,"MaxDelaySeconds":60,"JitterStrategy":"FULL"}],
	  "Catch":[{"ErrorEquals":["States.ALL"],"Next":"F","ResultPath":"$.error"}],"Next":"C"},
	  "C":{"Type":"Choice","Choices":[{"And":[{"Variable":"$.a","IsPresent":true},{"Variable":"$.a","StringMatches":"x*"}],"Next":"S"}],"Default":"F"},
	  "F":{"Type":"Fail","ErrorPath":"$.error.Error","CausePath":"$.error.Cause"},"S":{"Type":"Succeed"}}}`)
	b.SetBytes(int64(len(def)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(def); err != nil {
			b.Fatal(err)
		}
	}
}
