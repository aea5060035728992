package batchjobs_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bbo-dev/bbo/internal/batchjobs"
	"github.com/bbo-dev/bbo/internal/localaws/sfnapi"
	"github.com/bbo-dev/bbo/internal/taskerr"
	"github.com/bbo-dev/bbo/internal/tasktokens"
)

func TestStartJob(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 48)
	arn := e.start(t, 0, "token-1")
	if !strings.Contains(arn, ":model-invocation-job/") {
		t.Fatalf("job ARN %q", arn)
	}
	it, err := e.store.Get(ctx, arn)
	if err != nil {
		t.Fatal(err)
	}
	if it.TaskToken != "token-1" || it.Status != "Submitted" {
		t.Errorf("item = %+v", it)
	}
	if want := e.now.Add(48*time.Hour + 48*time.Hour); !it.ExpiresAt.Equal(want) {
		t.Errorf("expires_at = %v, want %v (job timeout + 2 days)", it.ExpiresAt, want)
	}
	var stored batchjobs.JobConfig
	if err := json.Unmarshal(it.Job, &stored); err != nil || stored != jobConfig(0) {
		t.Errorf("stored job = %+v, %v", stored, err)
	}
	req := e.bedrock.requests[0]
	if req["roleArn"] != roleARN || req["timeoutDurationInHours"] != float64(48) || req["jobName"] != jobConfig(0).JobName {
		t.Errorf("create request = %v", req)
	}
	in := req["inputDataConfig"].(map[string]any)["s3InputDataConfig"].(map[string]any)
	if in["s3Uri"] != jobConfig(0).S3URIInput || in["s3InputFormat"] != "JSONL" {
		t.Errorf("inputDataConfig = %v", in)
	}
	if tags, _ := json.Marshal(req["tags"]); !strings.Contains(string(tags), `"bbo:job-name-prefix"`) {
		t.Errorf("tags = %s", tags)
	}
}

func TestStartJobRetryConverges(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, -1)
	first := e.start(t, 1, "token-a")
	second := e.start(t, 1, "token-b")
	if first != second || e.bedrock.count() != 1 {
		t.Fatalf("retried start: ARNs %s, %s; %d jobs created, want one", first, second, e.bedrock.count())
	}
	it, _ := e.store.Get(ctx, first)
	if it.TaskToken != "token-b" {
		t.Errorf("token = %s, want the retry's", it.TaskToken)
	}
	if _, ok := e.bedrock.requests[0]["timeoutDurationInHours"]; ok {
		t.Error("timeoutDurationInHours sent although JOB_TIMEOUT_HOURS = -1")
	}
	if want := e.now.Add(168*time.Hour + 48*time.Hour); !it.ExpiresAt.Equal(want) {
		t.Errorf("expires_at = %v, want %v", it.ExpiresAt, want)
	}
}

func TestStartJobStoreFailureConverges(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 0)
	bad := tasktokens.New(e.ddb, "no-such-table")
	svc := batchjobs.New(batchjobs.Config{Bedrock: e.svcBedrock(), Store: bad, RoleARN: roleARN})
	_, err := svc.StartJob(ctx, batchjobs.StartInput{TaskToken: "tok", TaskInput: jobConfig(2)})
	if taskerr.Name(err) != taskerr.Transient {
		t.Fatalf("store failure: %v (%s), want %s", err, taskerr.Name(err), taskerr.Transient)
	}
	arn := e.start(t, 2, "tok")
	if e.bedrock.count() != 1 {
		t.Fatalf("%d jobs created, want 1", e.bedrock.count())
	}
	if it, err := e.store.Get(ctx, arn); err != nil || it.TaskToken != "tok" {
		t.Fatalf("item after retry = %+v, %v", it, err)
	}
}

func TestStartJobErrors(t *testing.T) {
	tests := []struct {
		name     string
		code     string
		status   int
		hours    int
		mutate   func(*batchjobs.StartInput)
		want     string
		contains string
	}{
		{name: "throttled", code: "ThrottlingException", status: 429, want: taskerr.Throttled},
		{name: "quota", code: "ServiceQuotaExceededException", status: 400, want: taskerr.Throttled},
		{name: "too many requests", code: "TooManyRequestsException", status: 429, want: taskerr.Throttled},
		{name: "validation", code: "ValidationException", status: 400, want: taskerr.InvalidConfig, contains: "injected ValidationException"},
		{name: "server error", code: "InternalServerException", status: 500, want: taskerr.Transient},
		{name: "timeout too short", hours: 12, want: taskerr.InvalidConfig, contains: "24 to 168"},
		{name: "timeout too long", hours: 169, want: taskerr.InvalidConfig, contains: "24 to 168"},
		{name: "no token", mutate: func(in *batchjobs.StartInput) { in.TaskToken = "" }, want: taskerr.InvalidConfig, contains: "taskToken"},
		{name: "no model", mutate: func(in *batchjobs.StartInput) { in.TaskInput.ModelID = "" }, want: taskerr.InvalidConfig, contains: "model_id"},
		{name: "bad job name", mutate: func(in *batchjobs.StartInput) { in.TaskInput.JobName = "bad name" }, want: taskerr.InvalidConfig, contains: "job name"},
		{name: "bad output uri", mutate: func(in *batchjobs.StartInput) { in.TaskInput.S3URIOutput = "/tmp/x" }, want: taskerr.InvalidConfig, contains: "s3://"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.hours)
			if tc.code != "" {
				e.bedrock.fail(tc.code, tc.status)
			}
			in := batchjobs.StartInput{TaskToken: "tok", TaskInput: jobConfig(0)}
			if tc.mutate != nil {
				tc.mutate(&in)
			}
			_, err := e.svc.StartJob(context.Background(), in)
			if taskerr.Name(err) != tc.want || !strings.Contains(err.Error(), tc.contains) {
				t.Fatalf("error %v named %s, want %s mentioning %q", err, taskerr.Name(err), tc.want, tc.contains)
			}
			if e.bedrock.count() != 0 {
				t.Errorf("%d jobs created", e.bedrock.count())
			}
		})
	}
}

func TestTerminalStates(t *testing.T) {
	const manifest = `{"totalRecordCount":100,"processedRecordCount":100,"successRecordCount":97,"errorRecordCount":3,"inputTokenCount":5000,"outputTokenCount":900}`
	tests := []struct {
		name, status, message string
		manifest              bool
		op, errName, cause    string
	}{
		{name: "completed", status: "Completed", manifest: true, op: "success"},
		{name: "partially completed", status: "PartiallyCompleted", manifest: true, op: "success"},
		{name: "completed without manifest", status: "Completed", op: "success"},
		{name: "failed", status: "Failed", message: "access denied to s3://bbo-test", op: "failure", errName: taskerr.BatchJobFailed, cause: "access denied to s3://bbo-test"},
		{name: "stopped", status: "Stopped", op: "failure", errName: taskerr.BatchJobStopped, cause: "ended with status Stopped"},
		{name: "expired", status: "Expired", message: "timed out", op: "failure", errName: taskerr.BatchJobExpired, cause: "timed out"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, 0)
			arn := e.start(t, 3, "tok")
			if tc.manifest {
				e.putObject(t, "batch_outputs_json/p/0003/"+arn[strings.LastIndexByte(arn, '/')+1:]+"/manifest.json.out", manifest)
			}
			e.bedrock.set(arn, tc.status, tc.message)
			if err := e.svc.HandleEvent(ctx, event(arn, tc.status)); err != nil {
				t.Fatal(err)
			}
			calls := e.rec.take()
			if len(calls) != 1 || calls[0].op != tc.op || calls[0].token != "tok" {
				t.Fatalf("calls = %+v, want one %s", calls, tc.op)
			}
			c := calls[0]
			if tc.op == "failure" {
				if c.errName != tc.errName || !strings.Contains(c.cause, tc.cause) {
					t.Errorf("failure %s %q, want %s %q", c.errName, c.cause, tc.errName, tc.cause)
				}
			} else {
				var got batchjobs.TaskItem
				if err := json.Unmarshal([]byte(c.output), &got); err != nil {
					t.Fatal(err)
				}
				if got.JobConfig != jobConfig(3) || got.JobARN != arn || got.Status != tc.status {
					t.Errorf("task item = %+v", got)
				}
				switch {
				case tc.manifest && (got.Manifest == nil || got.Manifest.SuccessRecordCount != 97 || got.Manifest.ErrorRecordCount != 3):
					t.Errorf("manifest = %+v", got.Manifest)
				case !tc.manifest && (got.Manifest != nil || !strings.Contains(c.output, `"manifest":null`)):
					t.Errorf("manifest = %+v, want null", got.Manifest)
				}
				if !tc.manifest && !strings.Contains(e.logs.String(), "without a manifest") {
					t.Error("missing manifest not logged")
				}
			}
			it, _ := e.store.Get(ctx, arn)
			if it.Status != tc.status || it.Callback != tasktokens.CallbackSent {
				t.Errorf("item = %+v", it)
			}
		})
	}
}

func TestHeartbeatDuplicatesAndOrder(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 0)
	arn := e.start(t, 4, "tok")
	steps := []struct {
		name, bedrock, event string
		ops                  string
		status               string
	}{
		{"running job gets a heartbeat", "InProgress", "InProgress", "heartbeat", "InProgress"},
		{"completion answers once", "Completed", "Completed", "success", "Completed"},
		{"duplicate event is a no-op", "Completed", "Completed", "", "Completed"},
		{"late InProgress does not regress", "Completed", "InProgress", "", "Completed"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			e.bedrock.set(arn, s.bedrock, "")
			if err := e.svc.HandleEvent(ctx, event(arn, s.event)); err != nil {
				t.Fatal(err)
			}
			var ops []string
			for _, c := range e.rec.take() {
				ops = append(ops, c.op)
			}
			if strings.Join(ops, ",") != s.ops {
				t.Errorf("calls = %v, want %q", ops, s.ops)
			}
			if it, _ := e.store.Get(ctx, arn); it.Status != s.status {
				t.Errorf("status = %s, want %s", it.Status, s.status)
			}
		})
	}
}

func TestConcurrentDuplicates(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 0)
	arn := e.start(t, 5, "tok")
	e.bedrock.set(arn, "Failed", "boom")
	errs := make(chan error, 8)
	for range 8 {
		go func() { errs <- e.svc.HandleEvent(ctx, event(arn, "Failed")) }()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if calls := e.rec.take(); len(calls) != 1 {
		t.Fatalf("%d answers to 8 concurrent duplicate events, want 1", len(calls))
	}
}

func TestUnknownJobIgnored(t *testing.T) {
	e := newEnv(t, 0)
	arn := "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/someoneelse"
	if err := e.svc.HandleEvent(context.Background(), event(arn, "Completed")); err != nil {
		t.Fatal(err)
	}
	if calls := e.rec.take(); len(calls) != 0 {
		t.Errorf("calls = %v", calls)
	}
	if !strings.Contains(e.logs.String(), `"job_arn":"`+arn+`"`) {
		t.Errorf("unknown job not logged with job_arn: %s", e.logs.String())
	}
}

func TestBadEvents(t *testing.T) {
	e := newEnv(t, 0)
	tests := []struct {
		name, body, want string
	}{
		{"not json", `{`, taskerr.InvalidInput},
		{"no arn", `{"detail-type":"Batch Inference Job State Change","detail":{}}`, taskerr.InvalidInput},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := e.svc.HandleEvent(context.Background(), json.RawMessage(tc.body)); taskerr.Name(err) != tc.want {
				t.Fatalf("error %v, want %s", err, tc.want)
			}
		})
	}
	if err := e.svc.HandleEvent(context.Background(), json.RawMessage(`{"detail-type":"Other","detail":{}}`)); err != nil {
		t.Errorf("other detail-type: %v, want ignored", err)
	}
}

func TestPollRecoversLostEvents(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 0)
	done := e.start(t, 0, "tok-done")
	running := e.start(t, 1, "tok-running")
	e.bedrock.set(done, "Completed", "")
	e.bedrock.set(running, "InProgress", "")
	out, err := e.svc.Handle(ctx, json.RawMessage(`{"poll":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if out.Checked != 2 || out.Answered != 1 {
		t.Errorf("poll = %+v, want 2 checked, 1 answered", out)
	}
	got := map[string]string{}
	for _, c := range e.rec.take() {
		got[c.token] = c.op
	}
	if got["tok-done"] != "success" || got["tok-running"] != "heartbeat" {
		t.Errorf("calls = %v", got)
	}
	out, err = e.svc.Poll(ctx)
	if err != nil || out.Checked != 1 || out.Answered != 0 {
		t.Errorf("second poll = %+v, %v; want only the running job checked", out, err)
	}
}

func TestExecutionGone(t *testing.T) {
	tests := []struct {
		name, status string
		err          error
	}{
		{"heartbeat timed out", "InProgress", sfnapi.ErrTaskTimedOut},
		{"heartbeat task gone", "Scheduled", sfnapi.ErrTaskDoesNotExist},
		{"success timed out", "Completed", sfnapi.ErrTaskTimedOut},
		{"failure invalid token", "Failed", sfnapi.ErrInvalidToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, 0)
			arn := e.start(t, 6, "tok")
			e.rec.setErr("tok", tc.err)
			e.bedrock.set(arn, tc.status, "")
			if err := e.svc.HandleEvent(ctx, event(arn, tc.status)); err != nil {
				t.Fatal(err)
			}
			it, _ := e.store.Get(ctx, arn)
			if it.Callback != tasktokens.CallbackGone || !strings.Contains(it.Message, "execution gone") {
				t.Errorf("item = %+v, want marked gone", it)
			}
			e.rec.take()
			if out, err := e.svc.Poll(ctx); err != nil || out.Checked != 0 {
				t.Errorf("poll after gone = %+v, %v", out, err)
			}
			if calls := e.rec.take(); len(calls) != 0 {
				t.Errorf("calls after gone = %v", calls)
			}
		})
	}
}

func TestFailedSendIsRetried(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 0)
	arn := e.start(t, 7, "tok")
	e.bedrock.set(arn, "Completed", "")
	e.rec.setErr("tok", errTransient)
	if err := e.svc.HandleEvent(ctx, event(arn, "Completed")); taskerr.Name(err) != taskerr.Transient {
		t.Fatalf("error %v, want %s", err, taskerr.Transient)
	}
	e.rec.setErr("tok", nil)
	if out, err := e.svc.Poll(ctx); err != nil || out.Answered != 1 {
		t.Fatalf("poll after failed send = %+v, %v", out, err)
	}
	var ops []string
	for _, c := range e.rec.take() {
		ops = append(ops, c.op)
	}
	if strings.Join(ops, ",") != "success,success" {
		t.Errorf("calls = %v", ops)
	}
}
