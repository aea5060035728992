package batchjobs_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/bbo-dev/bbo/internal/awsenv"
	"github.com/bbo-dev/bbo/internal/batchjobs"
	localddb "github.com/bbo-dev/bbo/internal/localaws/dynamodb"
	"github.com/bbo-dev/bbo/internal/localaws/sfnapi"
	"github.com/bbo-dev/bbo/internal/tasktokens"
)

// fakeBedrock is a minimal Bedrock control plane speaking the REST-JSON
// wire format of CreateModelInvocationJob and GetModelInvocationJob.
type fakeBedrock struct {
	mu       sync.Mutex
	jobs     map[string]*fakeJob // by ARN
	byToken  map[string]string   // clientRequestToken → ARN
	creates  int                 // jobs actually created
	requests []map[string]any    // create request bodies
	// failNext makes the next create answer with this error code and
	// HTTP status.
	failNext     string
	failNextCode int
}

type fakeJob struct {
	name, status, message string
}

func newFakeBedrock(t *testing.T) (*fakeBedrock, string) {
	t.Helper()
	f := &fakeBedrock{jobs: map[string]*fakeJob{}, byToken: map[string]string{}}
	hs := httptest.NewServer(f)
	t.Cleanup(hs.Close)
	return f, hs.URL
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func bedrockError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("X-Amzn-ErrorType", code)
	writeJSON(w, status, map[string]string{"message": msg})
}

func (f *fakeBedrock) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/model-invocation-job":
		var in map[string]any
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			bedrockError(w, 400, "ValidationException", "bad body")
			return
		}
		if f.failNext != "" {
			code, status := f.failNext, f.failNextCode
			f.failNext = ""
			bedrockError(w, status, code, "injected "+code)
			return
		}
		f.requests = append(f.requests, in)
		token, _ := in["clientRequestToken"].(string)
		if arn, ok := f.byToken[token]; ok && token != "" {
			writeJSON(w, 200, map[string]string{"jobArn": arn})
			return
		}
		name, _ := in["jobName"].(string)
		h := sha256.Sum256([]byte(name + token))
		arn := "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/" + hex.EncodeToString(h[:6])
		f.jobs[arn] = &fakeJob{name: name, status: "Submitted"}
		f.byToken[token] = arn
		f.creates++
		writeJSON(w, 200, map[string]string{"jobArn": arn})
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/model-invocation-job/"):
		arn := strings.TrimPrefix(r.URL.Path, "/model-invocation-job/")
		j, ok := f.jobs[arn]
		if !ok {
			bedrockError(w, 404, "ResourceNotFoundException", "no job "+arn)
			return
		}
		out := map[string]any{"jobArn": arn, "jobName": j.name, "status": j.status,
			"submitTime": time.Unix(1_700_000_000, 0).UTC().Format(time.RFC3339)}
		if j.message != "" {
			out["message"] = j.message
		}
		writeJSON(w, 200, out)
	default:
		bedrockError(w, 404, "UnknownOperationException", r.Method+" "+r.URL.Path)
	}
}

func (f *fakeBedrock) set(arn, status, message string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.jobs[arn].status, f.jobs[arn].message = status, message
}

func (f *fakeBedrock) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.creates
}

func (f *fakeBedrock) fail(code string, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext, f.failNextCode = code, status
}

// recorder is a TaskCallbacks that records calls; errs answers per token.
type recorder struct {
	mu    sync.Mutex
	calls []call
	errs  map[string]error
}

type call struct {
	op, token, output, errName, cause string
}

func (r *recorder) add(c call) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
	return r.errs[c.token]
}

func (r *recorder) SendTaskSuccess(_ context.Context, token string, output json.RawMessage) error {
	return r.add(call{op: "success", token: token, output: string(output)})
}

func (r *recorder) SendTaskFailure(_ context.Context, token, errName, cause string) error {
	return r.add(call{op: "failure", token: token, errName: errName, cause: cause})
}

func (r *recorder) SendTaskHeartbeat(_ context.Context, token string) error {
	return r.add(call{op: "heartbeat", token: token})
}

func (r *recorder) setErr(token string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs[token] = err
}

func (r *recorder) take() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

// env is one test's set of local services and the service under test.
type env struct {
	svc           *batchjobs.Service
	store         *tasktokens.Store
	ddb           *dynamodb.Client
	bedrock       *fakeBedrock
	bedrockClient *bedrock.Client
	s3            *s3.Client
	rec           *recorder
	logs          *syncBuffer
	now           time.Time
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const (
	bucket  = "bbo-test"
	table   = "tasks"
	roleARN = "arn:aws:iam::123456789012:role/bedrock-batch"
)

func clientConfig(url string) aws.Config {
	cfg := awsenv.Static(url)
	cfg.RetryMaxAttempts = 1
	return cfg
}

func newEnv(t *testing.T, timeoutHours int) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{rec: &recorder{errs: map[string]error{}}, logs: &syncBuffer{}, now: time.Unix(1_700_000_000, 0)}

	ddbSrv, err := localddb.New("")
	if err != nil {
		t.Fatal(err)
	}
	ddbHTTP := httptest.NewServer(ddbSrv)
	t.Cleanup(ddbHTTP.Close)
	e.ddb = dynamodb.NewFromConfig(clientConfig(ddbHTTP.URL))
	createTable(t, e.ddb)

	s3HTTP := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(s3HTTP.Close)
	e.s3 = awsenv.S3(clientConfig(s3HTTP.URL))
	if _, err := e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}

	sfnHTTP := httptest.NewServer(sfnapi.NewHandler(e.rec))
	t.Cleanup(sfnHTTP.Close)

	var brURL string
	e.bedrock, brURL = newFakeBedrock(t)

	e.store = tasktokens.New(e.ddb, table)
	e.store.Now = func() time.Time { return e.now }
	e.bedrockClient = bedrock.NewFromConfig(clientConfig(brURL))
	e.svc = batchjobs.New(batchjobs.Config{
		Bedrock:      e.bedrockClient,
		S3:           e.s3,
		SFN:          sfn.NewFromConfig(clientConfig(sfnHTTP.URL)),
		Store:        e.store,
		RoleARN:      roleARN,
		TimeoutHours: timeoutHours,
		Logger:       slog.New(slog.NewJSONHandler(e.logs, nil)),
	})
	return e
}

func createTable(t *testing.T, c *dynamodb.Client) {
	t.Helper()
	_, err := c.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("job_arn"), KeyType: ddbtypes.KeyTypeHash}},
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("job_arn"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func jobConfig(i int) batchjobs.JobConfig {
	n := []string{"0000", "0001", "0002", "0003", "0004", "0005", "0006", "0007"}[i]
	return batchjobs.JobConfig{
		JobIndex: i, JobName: "p-part-" + n + "-abc123", ModelID: "anthropic.claude-3-haiku-20240307-v1:0", JobNamePrefix: "p",
		S3URIInput: "s3://bbo-test/batch_inputs_json/p/" + n + ".jsonl", S3URIOutput: "s3://bbo-test/batch_outputs_json/p/" + n + "/",
		InputParquetPath: "s3://bbo-test/batch_inputs_parquet/p/" + n + ".snappy.parquet", Records: 100,
	}
}

// start starts job i with task token tok and returns its ARN.
func (e *env) start(t *testing.T, i int, tok string) string {
	t.Helper()
	out, err := e.svc.StartJob(context.Background(), batchjobs.StartInput{TaskToken: tok, TaskInput: jobConfig(i)})
	if err != nil {
		t.Fatal(err)
	}
	return out.JobArn
}

func event(arn, status string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"version": "0", "source": "aws.bedrock", "detail-type": "Batch Inference Job State Change",
		"detail": map[string]any{"batchJobArn": arn, "batchJobName": "x", "status": status}})
	return b
}

func (e *env) putObject(t *testing.T, key, body string) {
	t.Helper()
	_, err := e.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
}

// errTransient makes the local Step Functions API answer 500.
var errTransient = errors.New("service unavailable")

// svcBedrock returns a Bedrock client for the env's fake.
func (e *env) svcBedrock() *bedrock.Client {
	return e.bedrockClient
}
