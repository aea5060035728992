// Package localrun runs bbo's deployed state machines on one machine with no
// AWS account: the ASL interpreter executes the very definitions the stack
// deploys, its Lambda tasks call the same handlers the Lambda binaries wrap,
// and those handlers talk, through the real AWS SDK, to local S3 (on disk),
// Bedrock batch (an emulator with pluggable model backends), DynamoDB, the
// Step Functions task API and SNS (an outbox directory), all on 127.0.0.1.
package localrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	ddbsdk "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/bbo-dev/bbo/internal/asl"
	"github.com/bbo-dev/bbo/internal/awsenv"
	"github.com/bbo-dev/bbo/internal/backends"
	"github.com/bbo-dev/bbo/internal/batchjobs"
	"github.com/bbo-dev/bbo/internal/config"
	"github.com/bbo-dev/bbo/internal/hfdataset"
	localddb "github.com/bbo-dev/bbo/internal/localaws/dynamodb"
	locals3 "github.com/bbo-dev/bbo/internal/localaws/s3"
	"github.com/bbo-dev/bbo/internal/localaws/sfnapi"
	localsns "github.com/bbo-dev/bbo/internal/localaws/sns"
	"github.com/bbo-dev/bbo/internal/localbedrock"
	"github.com/bbo-dev/bbo/internal/notify"
	"github.com/bbo-dev/bbo/internal/postprocess"
	"github.com/bbo-dev/bbo/internal/preprocess"
	"github.com/bbo-dev/bbo/internal/taskerr"
	"github.com/bbo-dev/bbo/internal/tasktokens"
	"github.com/bbo-dev/bbo/internal/transform"
	"github.com/bbo-dev/bbo/internal/validation"
	"github.com/bbo-dev/bbo/stack/statemachines"
)

// Names of the local environment. The account id is Bedrock's documentation
// example; nothing leaves the machine.
const (
	Region    = "us-east-1"
	AccountID = "123456789012"
	// Bucket is the local stand-in for batch-inference-bucket-<account>.
	Bucket     = "batch-inference-bucket-local"
	taskTable  = "bbo-task-tokens"
	topicName  = "bedrock-batch-pipeline-notifications-local"
	roleARN    = "arn:aws:iam::" + AccountID + ":role/bbo-bedrock-batch-local"
	fnPrefix   = "arn:aws:lambda:" + Region + ":" + AccountID + ":function:bbo-"
	singleName = "bbo-batch-orchestrator"
	pipeName   = "bbo-pipeline-orchestrator"
)

// Options configure an Env. The zero value runs offline with the stub
// model in ./.bbo.
type Options struct {
	// DataDir holds the local S3 objects, the task-token table and the
	// notification outbox (default ./.bbo).
	DataDir string
	// Backend answers model calls (default backends.NewStub()).
	Backend backends.Backend
	// Concurrency bounds model calls in flight per job (default 4).
	Concurrency int
	// MaxConcurrentJobs is the Map's MaxConcurrency (default 5, as the
	// stack's maxSubmittedAndInProgressJobs).
	MaxConcurrentJobs int
	// MinRecordsPerJob lowers Bedrock's 100-record minimum for local runs
	// of small samples (default 1). Real Bedrock rejects smaller jobs; the
	// run logs a warning.
	MinRecordsPerJob int
	// HFEndpoint is the Hugging Face Hub base URL (default the Hub itself,
	// or $HF_ENDPOINT).
	HFEndpoint string
	// PollInterval is how often the job-state poller runs, the safety net
	// for lost events (default 5s).
	PollInterval time.Duration
	// Log receives the services' logs (default: discard).
	Log *slog.Logger
	// Observer sees every state machine event as it happens.
	Observer func(asl.Event)
	// Events sees every Bedrock job state change event.
	Events func(json.RawMessage)
	// Clock drives the state machines' waits and retry delays (default
	// the wall clock); tests pass a faster one.
	Clock asl.Clock
}

// Env is a running local environment. Close it when done.
type Env struct {
	opts       Options
	log        *slog.Logger
	rt         *asl.Runtime
	single     *asl.Machine
	pipeline   *asl.Machine
	bedrock    *localbedrock.Server
	jobs       *batchjobs.Service
	s3c        *s3.Client
	servers    []*http.Server
	s3URL      string
	bedrockURL string
	outbox     string
	stop       context.CancelFunc
	wg         sync.WaitGroup
}

// Start brings up the local services and loads the state machines.
func Start(ctx context.Context, opts Options) (*Env, error) {
	if opts.DataDir == "" {
		opts.DataDir = ".bbo"
	}
	if opts.Backend == nil {
		opts.Backend = backends.NewStub()
	}
	if opts.MaxConcurrentJobs <= 0 {
		opts.MaxConcurrentJobs = 5
	}
	if opts.MinRecordsPerJob <= 0 {
		opts.MinRecordsPerJob = 1
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 5 * time.Second
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	e := &Env{opts: opts, log: log, stop: stop, outbox: filepath.Join(opts.DataDir, "outbox")}
	ok := false
	defer func() {
		if !ok {
			e.Close()
		}
	}()

	// S3, on disk.
	s3h, err := locals3.New(filepath.Join(opts.DataDir, "s3"), log)
	if err != nil {
		return nil, err
	}
	if e.s3URL, err = e.serve(s3h); err != nil {
		return nil, err
	}
	e.s3c = awsenv.S3(awsenv.Static(e.s3URL))
	if _, err := e.s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(Bucket)}); err != nil && !strings.Contains(err.Error(), "BucketAlready") {
		return nil, fmt.Errorf("local S3: create bucket %s: %w", Bucket, err)
	}

	// DynamoDB task-token table, persisted as JSON.
	ddb, err := localddb.New(filepath.Join(opts.DataDir, "dynamodb.json"))
	if err != nil {
		return nil, err
	}
	ddbURL, err := e.serve(ddb)
	if err != nil {
		return nil, err
	}
	ddbc := ddbsdk.NewFromConfig(awsenv.Static(ddbURL))
	if err := createTable(ctx, ddbc); err != nil {
		return nil, err
	}

	// SNS → outbox.
	snsSrv, err := localsns.New(e.outbox, localsns.WithRegion(Region), localsns.WithAccount(AccountID))
	if err != nil {
		return nil, err
	}
	topicARN, err := snsSrv.CreateTopic(topicName)
	if err != nil {
		return nil, err
	}
	snsURL, err := e.serve(snsSrv)
	if err != nil {
		return nil, err
	}

	// The interpreter, and the Step Functions task API in front of it.
	e.rt = asl.NewRuntime()
	e.rt.Region, e.rt.Account = Region, AccountID
	e.rt.Observer = opts.Observer
	if opts.Clock != nil {
		e.rt.Clock = opts.Clock
	}
	e.rt.EnableNestedExecutions()
	sfnURL, err := e.serve(sfnapi.NewHandler(callbacks{e.rt}))
	if err != nil {
		return nil, err
	}

	// Bedrock batch: control plane + runner; its events go to the job-state
	// handler, as the EventBridge rule does in AWS.
	e.bedrock, err = localbedrock.New(localbedrock.Config{
		S3: e.s3c, Backend: opts.Backend, Region: Region, AccountID: AccountID,
		MinRecords: opts.MinRecordsPerJob, Concurrency: opts.Concurrency, Logger: log,
		Events: e.onBedrockEvent,
	})
	if err != nil {
		return nil, err
	}
	e.bedrockURL, err = e.serve(e.bedrock)
	if err != nil {
		return nil, err
	}

	e.jobs = batchjobs.New(batchjobs.Config{
		// No SDK retries against the emulator: throttling then reaches the
		// state machine, whose Retry shows in the execution history.
		Bedrock: bedrock.NewFromConfig(awsenv.Static(e.bedrockURL), func(o *bedrock.Options) { o.RetryMaxAttempts = 1 }),
		S3:      e.s3c,
		SFN:     sfn.NewFromConfig(awsenv.Static(sfnURL)),
		Store:   tasktokens.New(ddbc, taskTable),
		RoleARN: roleARN,
		Logger:  log,
	})
	if err := e.registerTasks(topicARN, snsURL); err != nil {
		return nil, err
	}
	if err := e.loadMachines(); err != nil {
		return nil, err
	}
	e.wg.Add(1)
	go e.poll(bg)
	ok = true
	return e, nil
}

// serve starts an HTTP server for h on a free loopback port.
func (e *Env) serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listen on 127.0.0.1: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	e.servers = append(e.servers, srv)
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

func createTable(ctx context.Context, c *ddbsdk.Client) error {
	_, err := c.CreateTable(ctx, &ddbsdk.CreateTableInput{
		TableName:            aws.String(taskTable),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String(tasktokens.AttrJobArn), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String(tasktokens.AttrJobArn), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	})
	var inUse *ddbtypes.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("local DynamoDB: create table: %w", err)
	}
	return nil
}

// onBedrockEvent delivers a job state change to the job-state handler,
// in order, as EventBridge → Lambda would.
func (e *Env) onBedrockEvent(ctx context.Context, ev json.RawMessage) {
	if e.opts.Events != nil {
		e.opts.Events(ev)
	}
	if err := e.jobs.HandleEvent(ctx, ev); err != nil {
		e.log.Warn("job-state handler failed; the poller will retry", slog.String("error", err.Error()))
	}
}

// poll runs the job-state poller, the safety net for lost events.
func (e *Env) poll(ctx context.Context) {
	defer e.wg.Done()
	t := time.NewTicker(e.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := e.jobs.Poll(ctx); err != nil && ctx.Err() == nil {
				e.log.Warn("job-state poll failed", slog.String("error", err.Error()))
			}
		}
	}
}

// registerTasks wires lambda:invoke (and .waitForTaskToken) to the
// handlers, by function ARN.
func (e *Env) registerTasks(topicARN, snsURL string) error {
	hf := hfdataset.New(firstNonEmpty(e.opts.HFEndpoint, os.Getenv("HF_ENDPOINT"), hfdataset.DefaultEndpoint), os.Getenv("HF_TOKEN"), nil)
	pre := &preprocess.Handler{S3: e.s3c, Bucket: Bucket, HF: hf, MinRecordsPerJob: e.opts.MinRecordsPerJob, Log: e.log}
	post := &postprocess.Handler{S3: e.s3c, Bucket: Bucket, Log: e.log}
	tr := &transform.Handler{S3: e.s3c, Bucket: Bucket, Log: e.log}
	static := awsenv.Static(e.s3URL)
	nt := &notify.Notifier{
		Presigner:   s3.NewPresignClient(e.s3c),
		Publisher:   sns.NewFromConfig(awsenv.Static(snsURL)),
		Credentials: static.Credentials,
		TopicARN:    topicARN,
		Bucket:      Bucket,
	}
	fns := map[string]lambdaFunc{
		"preprocess":  handler(pre.Handle),
		"start-job":   handler(e.jobs.StartJob),
		"job-state":   handler(e.jobs.Handle),
		"postprocess": handler(post.Handle),
		"transform":   handler(tr.Handle),
		"validate":    handler(validation.Handle),
		"notify":      handler(nt.Handle),
	}
	invoke := asl.TaskHandlerFunc(func(ctx context.Context, call asl.TaskCall) (json.RawMessage, error) {
		var p struct {
			FunctionName string          `json:"FunctionName"`
			Payload      json.RawMessage `json:"Payload"`
		}
		if err := json.Unmarshal(call.Parameters, &p); err != nil {
			return nil, &asl.Error{Name: "States.Runtime", Cause: "lambda:invoke parameters: " + err.Error()}
		}
		name := strings.TrimPrefix(p.FunctionName, fnPrefix)
		fn, ok := fns[name]
		if !ok {
			return nil, &asl.Error{Name: "Lambda.ResourceNotFoundException", Cause: "no local function " + p.FunctionName}
		}
		out, err := fn(ctx, p.Payload)
		if err != nil {
			cause, _ := json.Marshal(map[string]string{"errorMessage": err.Error(), "errorType": taskerr.Name(err)})
			return nil, &asl.Error{Name: taskerr.Name(err), Cause: string(cause)}
		}
		return json.Marshal(map[string]any{"ExecutedVersion": "$LATEST", "Payload": out, "StatusCode": 200})
	})
	e.rt.Handle("arn:aws:states:::lambda:invoke", invoke)
	e.rt.Handle("arn:aws:states:::lambda:invoke.waitForTaskToken", invoke)
	return nil
}

func (e *Env) loadMachines() error {
	res := statemachines.Resources{
		Preprocess: fnPrefix + "preprocess", StartJob: fnPrefix + "start-job", Postprocess: fnPrefix + "postprocess",
		Transform: fnPrefix + "transform", Validate: fnPrefix + "validate", Notify: fnPrefix + "notify",
		SingleStage: "arn:aws:states:" + Region + ":" + AccountID + ":stateMachine:" + singleName,
	}
	lim := statemachines.LimitsFor(e.opts.MaxConcurrentJobs, 0, 1)
	vars := statemachines.Substitutions(res, lim)
	load := func(name string, def []byte) (*asl.Machine, error) {
		sub, err := statemachines.Substitute(def, vars)
		if err != nil {
			return nil, fmt.Errorf("state machine %s: %w", name, err)
		}
		m, err := asl.Parse(sub)
		if err != nil {
			return nil, fmt.Errorf("state machine %s: %w", name, err)
		}
		arn := e.rt.Register(name, m)
		if name == singleName && arn != res.SingleStage {
			return nil, fmt.Errorf("state machine %s registered as %s, want %s", name, arn, res.SingleStage)
		}
		return m, nil
	}
	var err error
	if e.single, err = load(singleName, statemachines.SingleStage); err != nil {
		return err
	}
	e.pipeline, err = load(pipeName, statemachines.Pipeline)
	return err
}

// lambdaFunc is a handler behind the Lambda JSON boundary.
type lambdaFunc func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error)

// handler adapts a typed handler to the JSON boundary, decoding and
// encoding exactly as the Lambda runtime does, so the contracts are
// exercised locally too.
func handler[In, Out any](f func(context.Context, In) (Out, error)) lambdaFunc {
	return func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
		var in In
		if err := json.Unmarshal(payload, &in); err != nil {
			return nil, taskerr.Wrap(taskerr.InvalidInput, fmt.Errorf("decode event: %w", err))
		}
		out, err := f(ctx, in)
		if err != nil {
			return nil, err
		}
		return json.Marshal(out)
	}
}

// callbacks lets the Step Functions task API reach the interpreter.
type callbacks struct{ rt *asl.Runtime }

func (c callbacks) SendTaskSuccess(_ context.Context, token string, output json.RawMessage) error {
	return mapTaskErr(c.rt.SendTaskSuccess(token, output))
}

func (c callbacks) SendTaskFailure(_ context.Context, token, errName, cause string) error {
	return mapTaskErr(c.rt.SendTaskFailure(token, errName, cause))
}

func (c callbacks) SendTaskHeartbeat(_ context.Context, token string) error {
	return mapTaskErr(c.rt.SendTaskHeartbeat(token))
}

func mapTaskErr(err error) error {
	if errors.Is(err, asl.ErrTaskNotFound) {
		return sfnapi.ErrTaskDoesNotExist
	}
	return err
}

// Run starts an execution for a job request (single-stage machine) or a
// pipeline config (pipeline machine).
func (e *Env) Run(ctx context.Context, name string, cfg []byte) (*asl.Execution, config.Kind, error) {
	kind, err := config.DetectKind(cfg)
	if err != nil {
		return nil, kind, taskerr.Wrap(taskerr.InvalidConfig, err)
	}
	m := e.single
	if kind == config.KindPipeline {
		m = e.pipeline
	}
	x, err := e.rt.Start(ctx, m, name, cfg)
	return x, kind, err
}

// S3 is a client of the local S3, for uploading inputs and reading results.
func (e *Env) S3() *s3.Client { return e.s3c }

// S3Endpoint is the local S3's URL.
func (e *Env) S3Endpoint() string { return e.s3URL }

// Outbox is the directory notifications are written to.
func (e *Env) Outbox() string { return e.outbox }

// ObjectPath is where a local S3 object lives on disk.
func (e *Env) ObjectPath(bucket, key string) string {
	return filepath.Join(e.opts.DataDir, "s3", "buckets", bucket, filepath.FromSlash(key))
}

// Bedrock is the local Bedrock emulator (for fault injection in tests).
func (e *Env) Bedrock() *localbedrock.Server { return e.bedrock }

// Close stops every service.
func (e *Env) Close() error {
	e.stop()
	e.wg.Wait()
	if e.bedrock != nil {
		e.bedrock.Close()
	}
	for _, s := range e.servers {
		_ = s.Close()
	}
	return nil
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}
