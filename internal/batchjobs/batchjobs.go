// Package batchjobs starts Bedrock batch inference jobs for waiting Step
// Functions tasks and answers those tasks when the jobs finish, from
// EventBridge state-change events or from a periodic poll.
package batchjobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bbo-dev/bbo/internal/jobspec"
	"github.com/bbo-dev/bbo/internal/s3io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	btypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	smithy "github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/bbo-dev/bbo/internal/batchio"
	"github.com/bbo-dev/bbo/internal/taskerr"
	"github.com/bbo-dev/bbo/internal/tasktokens"
)

// Bedrock's limits on timeoutDurationInHours.
const (
	MinTimeoutHours = 24
	MaxTimeoutHours = 168
)

// defaultJobTimeout bounds a job when no timeout is configured: Bedrock's
// largest, so the task item outlives any job.
const defaultJobTimeout = MaxTimeoutHours * time.Hour

// Bedrock is the part of the Bedrock control-plane client the package uses.
type Bedrock interface {
	CreateModelInvocationJob(ctx context.Context, in *bedrock.CreateModelInvocationJobInput, opts ...func(*bedrock.Options)) (*bedrock.CreateModelInvocationJobOutput, error)
	GetModelInvocationJob(ctx context.Context, in *bedrock.GetModelInvocationJobInput, opts ...func(*bedrock.Options)) (*bedrock.GetModelInvocationJobOutput, error)
}

// S3 is the part of the S3 client the package uses (to read manifests).
type S3 interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// SFN is the part of the Step Functions client the package uses.
type SFN interface {
	SendTaskSuccess(ctx context.Context, in *sfn.SendTaskSuccessInput, opts ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error)
	SendTaskFailure(ctx context.Context, in *sfn.SendTaskFailureInput, opts ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error)
	SendTaskHeartbeat(ctx context.Context, in *sfn.SendTaskHeartbeatInput, opts ...func(*sfn.Options)) (*sfn.SendTaskHeartbeatOutput, error)
}

// Config holds the clients and settings of a Service.
type Config struct {
	Bedrock Bedrock
	S3      S3
	SFN     SFN
	Store   *tasktokens.Store
	// RoleARN is the Bedrock service role (BEDROCK_ROLE_ARN).
	RoleARN string
	// TimeoutHours is JOB_TIMEOUT_HOURS: 0 or negative leaves Bedrock's
	// default; otherwise it must be within 24..168.
	TimeoutHours int
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Service starts jobs and answers their tasks.
type Service struct {
	cfg Config
	log *slog.Logger
}

// New returns a Service.
func New(cfg Config) *Service {
	l := cfg.Logger
	if l == nil {
		l = slog.Default()
	}
	return &Service{cfg: cfg, log: l}
}

// JobConfig describes one Bedrock batch job (the preprocess output's jobs
// entries and the start task's taskInput).
type JobConfig = jobspec.JobConfig

// TaskItem is what a finished job's task returns (SendTaskSuccess output):
// the job's configuration, its ARN and final status, and its manifest
// (null when Bedrock wrote none).
type TaskItem = jobspec.TaskItem

// StartInput is the start-job Lambda's payload.
type StartInput struct {
	TaskToken string    `json:"taskToken"`
	TaskInput JobConfig `json:"taskInput"`
}

// StartOutput is the start-job Lambda's result.
type StartOutput struct {
	JobArn string `json:"job_arn"`
	Status string `json:"status"`
}

// ClientRequestToken derives the idempotency token of a job from its name
// and input, so a retried start gets the ARN of the job the first attempt
// created instead of a second job.
func ClientRequestToken(jobName, inputURI string) string {
	h := sha256.Sum256([]byte(jobName + "\n" + inputURI))
	return "bbo" + hex.EncodeToString(h[:24])
}

// CheckTimeoutHours validates JOB_TIMEOUT_HOURS.
func CheckTimeoutHours(h int) error {
	if h > 0 && (h < MinTimeoutHours || h > MaxTimeoutHours) {
		return taskerr.New(taskerr.InvalidConfig, "JOB_TIMEOUT_HOURS=%d: Bedrock accepts %d to %d hours; set it in that range, or to -1 for Bedrock's default", h, MinTimeoutHours, MaxTimeoutHours)
	}
	return nil
}

func checkJob(j JobConfig) error {
	var missing []string
	for _, f := range []struct{ name, v string }{{"job_name", j.JobName}, {"model_id", j.ModelID},
		{"s3_uri_input", j.S3URIInput}, {"s3_uri_output", j.S3URIOutput}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return taskerr.New(taskerr.InvalidConfig, "taskInput is missing %s (the start task gets one jobs entry of the preprocess output)", strings.Join(missing, ", "))
	}
	if err := batchio.CheckJobName(j.JobName); err != nil {
		return taskerr.Wrap(taskerr.InvalidConfig, err)
	}
	for _, u := range []string{j.S3URIInput, j.S3URIOutput} {
		if _, err := s3io.ParseURI(u); err != nil {
			return taskerr.Wrap(taskerr.InvalidConfig, fmt.Errorf("job %s: %w", j.JobName, err))
		}
	}
	return nil
}

// tagValue keeps the characters Bedrock accepts in a tag value.
func tagValue(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(" ._:/=+@-", c) >= 0) {
			b[i] = '-'
		}
	}
	if len(b) > 256 {
		b = b[:256]
	}
	return string(b)
}

// StartJob creates the Bedrock batch job of in.TaskInput and stores the
// task token under the job's ARN. A retry after any failure converges on
// the same job: the idempotency token makes Bedrock return the first ARN.
func (s *Service) StartJob(ctx context.Context, in StartInput) (StartOutput, error) {
	job := in.TaskInput
	if in.TaskToken == "" {
		return StartOutput{}, taskerr.New(taskerr.InvalidConfig, "start job %s: taskToken is empty (invoke the start task with waitForTaskToken)", job.JobName)
	}
	if err := checkJob(job); err != nil {
		return StartOutput{}, err
	}
	if err := CheckTimeoutHours(s.cfg.TimeoutHours); err != nil {
		return StartOutput{}, err
	}
	if s.cfg.RoleARN == "" {
		return StartOutput{}, taskerr.New(taskerr.InvalidConfig, "start job %s: BEDROCK_ROLE_ARN is not set", job.JobName)
	}
	create := &bedrock.CreateModelInvocationJobInput{
		JobName: aws.String(job.JobName),
		RoleArn: aws.String(s.cfg.RoleARN),
		ModelId: aws.String(job.ModelID),
		InputDataConfig: &btypes.ModelInvocationJobInputDataConfigMemberS3InputDataConfig{Value: btypes.ModelInvocationJobS3InputDataConfig{
			S3Uri: aws.String(job.S3URIInput), S3InputFormat: btypes.S3InputFormatJsonl}},
		OutputDataConfig: &btypes.ModelInvocationJobOutputDataConfigMemberS3OutputDataConfig{Value: btypes.ModelInvocationJobS3OutputDataConfig{
			S3Uri: aws.String(job.S3URIOutput)}},
		ClientRequestToken: aws.String(ClientRequestToken(job.JobName, job.S3URIInput)),
		Tags: []btypes.Tag{
			{Key: aws.String("bbo:job-name-prefix"), Value: aws.String(tagValue(job.JobNamePrefix))},
			{Key: aws.String("bbo:job-index"), Value: aws.String(strconv.Itoa(job.JobIndex))},
		},
	}
	timeout := defaultJobTimeout
	if s.cfg.TimeoutHours > 0 {
		create.TimeoutDurationInHours = aws.Int32(int32(s.cfg.TimeoutHours))
		timeout = time.Duration(s.cfg.TimeoutHours) * time.Hour
	}
	out, err := s.cfg.Bedrock.CreateModelInvocationJob(ctx, create)
	if err != nil {
		return StartOutput{}, classify(fmt.Errorf("start job %s: CreateModelInvocationJob: %w", job.JobName, err))
	}
	arn := aws.ToString(out.JobArn)
	if arn == "" {
		return StartOutput{}, taskerr.New(taskerr.Transient, "start job %s: CreateModelInvocationJob returned no job ARN", job.JobName)
	}
	cfgJSON, err := marshalJob(job)
	if err != nil {
		return StartOutput{}, taskerr.Wrap(taskerr.Internal, err)
	}
	const status = "Submitted"
	if err := s.cfg.Store.Put(ctx, tasktokens.Item{JobArn: arn, TaskToken: in.TaskToken, Job: cfgJSON, Status: status}, timeout); err != nil {
		// The job exists; a retry gets the same ARN and stores again.
		return StartOutput{}, taskerr.Wrap(taskerr.Transient, fmt.Errorf("start job %s (%s): %w", job.JobName, arn, err))
	}
	s.log.InfoContext(ctx, "batch job started", slog.String("job_arn", arn), slog.String("job_name", job.JobName),
		slog.String("status", status), slog.String("model_id", job.ModelID))
	return StartOutput{JobArn: arn, Status: status}, nil
}

// classify names an AWS error for the state machine: throttling and quotas
// are retried with backoff, client errors are configuration problems, the
// rest is transient.
func classify(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "ThrottlingException", "ServiceQuotaExceededException", "TooManyRequestsException",
			"Throttling", "ThrottledException", "RequestLimitExceeded", "ProvisionedThroughputExceededException":
			return taskerr.Wrap(taskerr.Throttled, err)
		case "ValidationException", "AccessDeniedException", "ResourceNotFoundException", "ConflictException":
			return taskerr.Wrap(taskerr.InvalidConfig, err)
		}
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		switch code := re.HTTPStatusCode(); {
		case code == http.StatusTooManyRequests:
			return taskerr.Wrap(taskerr.Throttled, err)
		case code >= 400 && code < 500:
			return taskerr.Wrap(taskerr.InvalidConfig, err)
		}
	}
	return taskerr.Wrap(taskerr.Transient, err)
}

// jobID is the last segment of a job ARN, the folder Bedrock writes the
// job's output under.
func jobID(arn string) string {
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}
