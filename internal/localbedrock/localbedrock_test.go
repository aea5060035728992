package localbedrock_test

import (
	"github.com/bbo-dev/bbo/internal/s3test"

	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/bbo-dev/bbo/internal/awsenv"
	"github.com/bbo-dev/bbo/internal/backends"
	"github.com/bbo-dev/bbo/internal/batchio"
	"github.com/bbo-dev/bbo/internal/localbedrock"
	"github.com/bbo-dev/bbo/internal/models"
)

const (
	bucket = "bbo-test"
	model  = "anthropic.claude-3-haiku-20240307-v1:0"
	role   = "arn:aws:iam::123456789012:role/BedrockBatch"
)

type env struct {
	srv    *localbedrock.Server
	client *bedrock.Client
	s3     *s3.Client
	clock  *localbedrock.ManualClock

	mu     sync.Mutex
	events []localbedrock.Event
}

func (e *env) statuses(arn string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.events {
		if ev.Detail.BatchJobArn == arn {
			out = append(out, ev.Detail.Status)
		}
	}
	return out
}

func newEnv(t *testing.T, mod func(*localbedrock.Config)) *env {
	t.Helper()
	s3c := s3test.New(t, bucket)
	e := &env{s3: s3c, clock: localbedrock.NewManualClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))}
	cfg := localbedrock.Config{
		S3: s3c, Backend: backends.NewStub(), Now: e.clock.Now, ExpiryCheck: -1, RetryBackoff: time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Events: func(_ context.Context, raw json.RawMessage) {
			var ev localbedrock.Event
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Errorf("event is not JSON: %v", err)
			}
			e.mu.Lock()
			e.events = append(e.events, ev)
			e.mu.Unlock()
		},
	}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := localbedrock.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	e.client = bedrock.NewFromConfig(awsenv.Static(hs.URL), func(o *bedrock.Options) { o.RetryMaxAttempts = 1 })
	return e
}

// putInput writes n Claude records to key.
func (e *env) putInput(t *testing.T, key string, n int) string {
	t.Helper()
	p, err := models.Lookup(model)
	if err != nil {
		t.Fatal(err)
	}
	var buf []byte
	for i := range n {
		in, err := p.AppendModelInput(nil, models.Request{Prompt: fmt.Sprintf("Classify item %d.\nAnswer with JSON only:\n{\n  \"category\": \"shorts|shoes|pants\",\n  \"confidence\": 0.0-1.0\n}", i)})
		if err != nil {
			t.Fatal(err)
		}
		buf = batchio.AppendInputLine(buf, fmt.Sprintf("rec-%04d", i), in)
	}
	if _, err := e.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(buf)}); err != nil {
		t.Fatal(err)
	}
	return "s3://" + bucket + "/" + key
}

func createInput(name, in string) *bedrock.CreateModelInvocationJobInput {
	return &bedrock.CreateModelInvocationJobInput{
		JobName: aws.String(name), ModelId: aws.String(model), RoleArn: aws.String(role),
		InputDataConfig: &types.ModelInvocationJobInputDataConfigMemberS3InputDataConfig{Value: types.ModelInvocationJobS3InputDataConfig{
			S3Uri: aws.String(in), S3InputFormat: types.S3InputFormatJsonl}},
		OutputDataConfig: &types.ModelInvocationJobOutputDataConfigMemberS3OutputDataConfig{Value: types.ModelInvocationJobS3OutputDataConfig{
			S3Uri: aws.String("s3://" + bucket + "/out/" + name + "/")}},
		TimeoutDurationInHours: aws.Int32(24),
	}
}

func (e *env) wait(t *testing.T, arn string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := e.srv.Wait(ctx, arn)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (e *env) get(t *testing.T, key string) []byte {
	t.Helper()
	out, err := e.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jobID(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

func TestJobLifecycle(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	in := e.putInput(t, "in/0000.jsonl", 120)
	out, err := e.client.CreateModelInvocationJob(ctx, createInput("life-0000", in))
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.JobArn)
	if !strings.HasPrefix(arn, "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/") || len(jobID(arn)) != 12 {
		t.Fatalf("job ARN %q", arn)
	}
	if st := e.wait(t, arn); st != localbedrock.StatusCompleted {
		t.Fatalf("status %s", st)
	}
	want := []string{"Submitted", "Validating", "Scheduled", "InProgress", "Completed"}
	if got := e.statuses(arn); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("events %v, want %v", got, want)
	}
	e.mu.Lock()
	ev := e.events[len(e.events)-1]
	e.mu.Unlock()
	if ev.Source != "aws.bedrock" || ev.DetailType != "Batch Inference Job State Change" || ev.Detail.BatchJobName != "life-0000" ||
		ev.Detail.BatchModelID != "arn:aws:bedrock:us-east-1::foundation-model/"+model || len(ev.Resources) != 1 || ev.Resources[0] != arn {
		t.Errorf("event %+v", ev)
	}

	g, err := e.client.GetModelInvocationJob(ctx, &bedrock.GetModelInvocationJobInput{JobIdentifier: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if g.Status != types.ModelInvocationJobStatusCompleted || aws.ToInt64(g.TotalRecordCount) != 120 || aws.ToInt64(g.SuccessRecordCount) != 120 ||
		g.SubmitTime == nil || g.EndTime == nil || g.JobExpirationTime == nil || !g.JobExpirationTime.Equal(g.SubmitTime.Add(24*time.Hour)) {
		t.Errorf("get: status %s total %d success %d times %v %v %v", g.Status, aws.ToInt64(g.TotalRecordCount), aws.ToInt64(g.SuccessRecordCount), g.SubmitTime, g.EndTime, g.JobExpirationTime)
	}
	// By name too.
	if _, err := e.client.GetModelInvocationJob(ctx, &bedrock.GetModelInvocationJobInput{JobIdentifier: aws.String("life-0000")}); err != nil {
		t.Errorf("get by name: %v", err)
	}

	prefix := "out/life-0000/" + jobID(arn) + "/"
	data := e.get(t, prefix+"0000.jsonl.out")
	p, _ := models.Lookup(model)
	n := 0
	for line, err := range batchio.ReadOutput(bytes.NewReader(data), "out") {
		if err != nil {
			t.Fatal(err)
		}
		if line.Error != nil || !strings.HasPrefix(line.RecordID, "rec-") {
			t.Fatalf("line %+v", line)
		}
		if _, err := p.ParseModelOutput(line.ModelOutput); err != nil {
			t.Fatalf("modelOutput: %v", err)
		}
		n++
	}
	if n != 120 {
		t.Errorf("%d output lines, want 120", n)
	}
	first, _, _ := bufio.NewReader(bytes.NewReader(data)).ReadLine()
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(first, &keys); err != nil || len(keys) != 3 || keys["modelInput"] == nil || keys["modelOutput"] == nil || keys["recordId"] == nil {
		t.Errorf("output line keys: %s", first[:min(len(first), 200)])
	}
	m, err := batchio.ParseManifest(bytes.NewReader(e.get(t, prefix+"manifest.json.out")))
	if err != nil {
		t.Fatal(err)
	}
	if m.TotalRecordCount != 120 || m.ProcessedRecordCount != 120 || m.SuccessRecordCount != 120 || m.ErrorRecordCount != 0 || m.InputTokenCount == 0 || m.OutputTokenCount == 0 {
		t.Errorf("manifest %+v", m)
	}
}

func TestIdempotentCreate(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	in := e.putInput(t, "in/idem.jsonl", 100)
	req := createInput("idem-1", in)
	req.ClientRequestToken = aws.String("tok-1")
	a, err := e.client.CreateModelInvocationJob(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.client.CreateModelInvocationJob(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(a.JobArn) != aws.ToString(b.JobArn) {
		t.Errorf("same token gave %s and %s", aws.ToString(a.JobArn), aws.ToString(b.JobArn))
	}
	l, err := e.client.ListModelInvocationJobs(ctx, &bedrock.ListModelInvocationJobsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.InvocationJobSummaries) != 1 {
		t.Errorf("%d jobs, want 1", len(l.InvocationJobSummaries))
	}
	other := createInput("idem-2", in)
	other.ClientRequestToken = aws.String("tok-1")
	_, err = e.client.CreateModelInvocationJob(ctx, other)
	var ce *types.ConflictException
	if !errors.As(err, &ce) {
		t.Errorf("same token, other request: %v, want ConflictException", err)
	}
	e.wait(t, aws.ToString(a.JobArn))
}

func TestCreateErrors(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	in := e.putInput(t, "in/ok.jsonl", 100)
	few := e.putInput(t, "in/few.jsonl", 99)
	if _, err := e.client.CreateModelInvocationJob(ctx, createInput("taken", in)); err != nil {
		t.Fatal(err)
	}
	var (
		ve  *types.ValidationException
		ce  *types.ConflictException
		nfe *types.ResourceNotFoundException
	)
	tests := []struct {
		name   string
		mod    func(*bedrock.CreateModelInvocationJobInput)
		target any
		msg    string
	}{
		{"bad name", func(r *bedrock.CreateModelInvocationJobInput) { r.JobName = aws.String("bad_name!") }, &ve, "jobName"},
		{"long name", func(r *bedrock.CreateModelInvocationJobInput) { r.JobName = aws.String(strings.Repeat("a", 64)) }, &ve, "jobName"},
		{"missing input", func(r *bedrock.CreateModelInvocationJobInput) {
			r.InputDataConfig = &types.ModelInvocationJobInputDataConfigMemberS3InputDataConfig{Value: types.ModelInvocationJobS3InputDataConfig{S3Uri: aws.String("s3://" + bucket + "/nope.jsonl")}}
		}, &ve, "does not exist"},
		{"too few records", func(r *bedrock.CreateModelInvocationJobInput) {
			r.InputDataConfig = &types.ModelInvocationJobInputDataConfigMemberS3InputDataConfig{Value: types.ModelInvocationJobS3InputDataConfig{S3Uri: aws.String(few)}}
		}, &ve, "minimum of 100"},
		{"unknown model", func(r *bedrock.CreateModelInvocationJobInput) { r.ModelId = aws.String("acme.nothing-v1") }, &ve, "model identifier"},
		{"bad role", func(r *bedrock.CreateModelInvocationJobInput) { r.RoleArn = aws.String("not-an-arn") }, &ve, "roleArn"},
		{"timeout too short", func(r *bedrock.CreateModelInvocationJobInput) { r.TimeoutDurationInHours = aws.Int32(2) }, &ve, "timeoutDurationInHours"},
		{"duplicate name", func(r *bedrock.CreateModelInvocationJobInput) { r.JobName = aws.String("taken") }, &ce, "already exists"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := createInput("ok-name", in)
			tc.mod(req)
			_, err := e.client.CreateModelInvocationJob(ctx, req)
			if err == nil || !errors.As(err, tc.target) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v, want %T containing %q", err, tc.target, tc.msg)
			}
		})
	}
	t.Run("get unknown", func(t *testing.T) {
		_, err := e.client.GetModelInvocationJob(ctx, &bedrock.GetModelInvocationJobInput{JobIdentifier: aws.String("arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/aaaaaaaaaaaa")})
		if !errors.As(err, &nfe) {
			t.Errorf("err = %v, want ResourceNotFoundException", err)
		}
	})
	t.Run("throttled", func(t *testing.T) {
		e.srv.ThrottleCreates(1)
		_, err := e.client.CreateModelInvocationJob(ctx, createInput("throttled", in))
		var te *types.ThrottlingException
		if !errors.As(err, &te) {
			t.Errorf("err = %v, want ThrottlingException", err)
		}
	})
}

func TestStopAndExpire(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	in := e.putInput(t, "in/hold.jsonl", 100)
	tests := []struct {
		name string
		end  func(arn string)
		want []string
	}{
		{"stop", func(arn string) {
			if _, err := e.client.StopModelInvocationJob(ctx, &bedrock.StopModelInvocationJobInput{JobIdentifier: aws.String(arn)}); err != nil {
				t.Fatal(err)
			}
		}, []string{"Submitted", "Validating", "Scheduled", "Stopping", "Stopped"}},
		{"expire", func(string) {
			e.clock.Advance(25 * time.Hour)
			e.srv.ExpireDue()
		}, []string{"Submitted", "Validating", "Scheduled", "Expired"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := "held-" + tc.name
			e.srv.Hold(name)
			out, err := e.client.CreateModelInvocationJob(ctx, createInput(name, in))
			if err != nil {
				t.Fatal(err)
			}
			arn := aws.ToString(out.JobArn)
			deadline := time.Now().Add(5 * time.Second)
			for {
				g, err := e.client.GetModelInvocationJob(ctx, &bedrock.GetModelInvocationJobInput{JobIdentifier: aws.String(arn)})
				if err != nil {
					t.Fatal(err)
				}
				if g.Status == types.ModelInvocationJobStatusScheduled {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("job stuck in %s", g.Status)
				}
				time.Sleep(5 * time.Millisecond)
			}
			tc.end(arn)
			e.wait(t, arn)
			if got := e.statuses(arn); strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("events %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("stop finished job", func(t *testing.T) {
		_, err := e.client.StopModelInvocationJob(ctx, &bedrock.StopModelInvocationJobInput{JobIdentifier: aws.String("held-stop")})
		var ve *types.ValidationException
		if !errors.As(err, &ve) {
			t.Errorf("err = %v, want ValidationException", err)
		}
	})
}

func TestFailures(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	in := e.putInput(t, "in/f.jsonl", 100)
	e.srv.FailRecords("partial", 400, func(id string) bool { return strings.HasSuffix(id, "7") })
	e.srv.FailRecords("allfail", 500, func(string) bool { return true })
	e.srv.FailJob("jobfail", "Access denied to the output location")
	tests := []struct {
		name   string
		status string
		errs   int64
	}{
		{"partial", localbedrock.StatusPartiallyCompleted, 10},
		{"allfail", localbedrock.StatusFailed, 100},
		{"jobfail", localbedrock.StatusFailed, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := e.client.CreateModelInvocationJob(ctx, createInput(tc.name, in))
			if err != nil {
				t.Fatal(err)
			}
			arn := aws.ToString(out.JobArn)
			if st := e.wait(t, arn); st != tc.status {
				t.Fatalf("status %s, want %s", st, tc.status)
			}
			g, err := e.client.GetModelInvocationJob(ctx, &bedrock.GetModelInvocationJobInput{JobIdentifier: aws.String(arn)})
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToInt64(g.ErrorRecordCount) != tc.errs || aws.ToString(g.Message) == "" {
				t.Errorf("errors %d (want %d), message %q", aws.ToInt64(g.ErrorRecordCount), tc.errs, aws.ToString(g.Message))
			}
			if tc.errs == 0 {
				return
			}
			data := e.get(t, "out/"+tc.name+"/"+jobID(arn)+"/f.jsonl.out")
			var nerr int64
			for line, err := range batchio.ReadOutput(bytes.NewReader(data), "out") {
				if err != nil {
					t.Fatal(err)
				}
				if line.Error != nil {
					nerr++
					if line.Error.Code != 400 && line.Error.Code != 500 {
						t.Errorf("error code %d", line.Error.Code)
					}
				}
			}
			if nerr != tc.errs {
				t.Errorf("%d error lines, want %d", nerr, tc.errs)
			}
		})
	}
}

func TestList(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	in := e.putInput(t, "in/l.jsonl", 100)
	for _, name := range []string{"alpha-1", "alpha-2", "beta-1"} {
		out, err := e.client.CreateModelInvocationJob(ctx, createInput(name, in))
		if err != nil {
			t.Fatal(err)
		}
		e.wait(t, aws.ToString(out.JobArn))
		e.clock.Advance(time.Minute)
	}
	tests := []struct {
		name string
		in   bedrock.ListModelInvocationJobsInput
		want []string
	}{
		{"all newest first", bedrock.ListModelInvocationJobsInput{}, []string{"beta-1", "alpha-2", "alpha-1"}},
		{"name", bedrock.ListModelInvocationJobsInput{NameContains: aws.String("alpha")}, []string{"alpha-2", "alpha-1"}},
		{"status", bedrock.ListModelInvocationJobsInput{StatusEquals: types.ModelInvocationJobStatusCompleted, SortOrder: types.SortOrderAscending}, []string{"alpha-1", "alpha-2", "beta-1"}},
		{"no match", bedrock.ListModelInvocationJobsInput{StatusEquals: types.ModelInvocationJobStatusFailed}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := e.client.ListModelInvocationJobs(ctx, &tc.in)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range out.InvocationJobSummaries {
				got = append(got, aws.ToString(s.JobName))
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("pages", func(t *testing.T) {
		p := bedrock.NewListModelInvocationJobsPaginator(e.client, &bedrock.ListModelInvocationJobsInput{MaxResults: aws.Int32(2)})
		var got []string
		pages := 0
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, s := range out.InvocationJobSummaries {
				got = append(got, aws.ToString(s.JobName))
			}
		}
		if pages != 2 || len(got) != 3 {
			t.Errorf("%d pages %v", pages, got)
		}
	})
}

func TestDropEvents(t *testing.T) {
	e := newEnv(t, nil)
	in := e.putInput(t, "in/d.jsonl", 100)
	e.srv.DropEvents(true)
	out, err := e.client.CreateModelInvocationJob(context.Background(), createInput("dropped", in))
	if err != nil {
		t.Fatal(err)
	}
	if st := e.wait(t, aws.ToString(out.JobArn)); st != localbedrock.StatusCompleted {
		t.Errorf("status %s", st)
	}
	if got := e.statuses(aws.ToString(out.JobArn)); len(got) != 0 {
		t.Errorf("events %v, want none", got)
	}
}
