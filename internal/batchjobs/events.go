package batchjobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/bbo-dev/bbo/internal/batchio"
	"github.com/bbo-dev/bbo/internal/s3io"
	"github.com/bbo-dev/bbo/internal/taskerr"
	"github.com/bbo-dev/bbo/internal/tasktokens"
)

// EventDetailType is the EventBridge detail-type of Bedrock batch job
// state changes.
const EventDetailType = "Batch Inference Job State Change"

// Event is the part of an EventBridge Bedrock batch job state change the
// handler reads. The status is informational: the handler always asks
// Bedrock, since events can arrive late and out of order.
type Event struct {
	Source     string `json:"source"`
	DetailType string `json:"detail-type"`
	Detail     struct {
		BatchJobArn  string `json:"batchJobArn"`
		BatchJobName string `json:"batchJobName"`
		Status       string `json:"status"`
	} `json:"detail"`
}

// StateInput is the job-state Lambda's payload: an EventBridge event, or
// {"poll":true} from the schedule.
type StateInput struct {
	Poll bool `json:"poll"`
	Event
}

// StateOutput reports what a job-state invocation did.
type StateOutput struct {
	// Checked is how many jobs were looked at.
	Checked int `json:"checked"`
	// Answered is how many waiting tasks got their final answer.
	Answered int `json:"answered"`
}

// Handle is the job-state Lambda handler: a poll request or one event.
func (s *Service) Handle(ctx context.Context, raw json.RawMessage) (StateOutput, error) {
	var in StateInput
	if err := json.Unmarshal(raw, &in); err != nil {
		return StateOutput{}, taskerr.New(taskerr.InvalidInput, "job-state input is not an EventBridge event or {\"poll\":true}: %v", err)
	}
	if in.Poll {
		return s.Poll(ctx)
	}
	answered, err := s.handleEvent(ctx, in.Event)
	out := StateOutput{Checked: 1}
	if answered {
		out.Answered = 1
	}
	return out, err
}

// HandleEvent handles one EventBridge "Batch Inference Job State Change"
// event. Unknown jobs, duplicates and stale events are logged and ignored.
func (s *Service) HandleEvent(ctx context.Context, ev json.RawMessage) error {
	var e Event
	if err := json.Unmarshal(ev, &e); err != nil {
		return taskerr.New(taskerr.InvalidInput, "job-state event is not JSON: %v", err)
	}
	_, err := s.handleEvent(ctx, e)
	return err
}

func (s *Service) handleEvent(ctx context.Context, e Event) (bool, error) {
	if e.DetailType != "" && e.DetailType != EventDetailType {
		s.log.WarnContext(ctx, "ignoring event of another type", slog.String("detail_type", e.DetailType), slog.String("source", e.Source))
		return false, nil
	}
	if e.Detail.BatchJobArn == "" {
		return false, taskerr.New(taskerr.InvalidInput, "job-state event has no detail.batchJobArn (expected an EventBridge %q event from aws.bedrock)", EventDetailType)
	}
	s.log.InfoContext(ctx, "job state event", slog.String("job_arn", e.Detail.BatchJobArn),
		slog.String("job_name", e.Detail.BatchJobName), slog.String("event_status", e.Detail.Status))
	it, err := s.cfg.Store.Get(ctx, e.Detail.BatchJobArn)
	if errors.Is(err, tasktokens.ErrNotFound) {
		s.log.InfoContext(ctx, "ignoring event of a job bbo is not waiting for", slog.String("job_arn", e.Detail.BatchJobArn),
			slog.String("job_name", e.Detail.BatchJobName), slog.String("status", e.Detail.Status))
		return false, nil
	}
	if err != nil {
		return false, taskerr.Wrap(taskerr.Transient, err)
	}
	return s.check(ctx, it)
}

// Poll checks every job whose task still waits, as if an event had
// arrived: the safety net for lost events. It goes on after a failing job
// and returns all failures together.
func (s *Service) Poll(ctx context.Context) (StateOutput, error) {
	items, err := s.cfg.Store.ListPending(ctx, 100)
	if err != nil {
		return StateOutput{}, taskerr.Wrap(taskerr.Transient, err)
	}
	var out StateOutput
	var errs []error
	for _, it := range items {
		out.Checked++
		answered, err := s.check(ctx, it)
		if err != nil {
			errs = append(errs, err)
		}
		if answered {
			out.Answered++
		}
	}
	s.log.InfoContext(ctx, "poll done", slog.Int("checked", out.Checked), slog.Int("answered", out.Answered), slog.Int("errors", len(errs)))
	if len(errs) > 0 {
		return out, taskerr.Wrap(taskerr.Transient, errors.Join(errs...))
	}
	return out, nil
}

// check reads the job's real status and answers or heartbeats its task.
func (s *Service) check(ctx context.Context, it tasktokens.Item) (answered bool, err error) {
	log := s.log.With(slog.String("job_arn", it.JobArn))
	if it.Callback == tasktokens.CallbackSent || it.Callback == tasktokens.CallbackGone {
		log.InfoContext(ctx, "task already answered; ignoring duplicate event", slog.String("status", it.Status), slog.String("callback", it.Callback))
		return false, nil
	}
	var job JobConfig
	if err := json.Unmarshal(it.Job, &job); err != nil {
		return false, taskerr.New(taskerr.Internal, "task item of %s: stored job is not a job config: %v", it.JobArn, err)
	}
	log = log.With(slog.String("job_name", job.JobName))
	got, err := s.cfg.Bedrock.GetModelInvocationJob(ctx, &bedrock.GetModelInvocationJobInput{JobIdentifier: aws.String(it.JobArn)})
	if err != nil {
		return false, classify(fmt.Errorf("job %s: GetModelInvocationJob: %w", it.JobArn, err))
	}
	status, message := string(got.Status), aws.ToString(got.Message)
	log = log.With(slog.String("status", status))
	switch status {
	case "Completed", "PartiallyCompleted":
		manifest, err := s.readManifest(ctx, job, it.JobArn, log)
		if err != nil {
			return false, err
		}
		out, err := json.Marshal(TaskItem{JobConfig: job, JobARN: it.JobArn, Status: status, Message: message, Manifest: manifest})
		if err != nil {
			return false, taskerr.Wrap(taskerr.Internal, err)
		}
		return s.answer(ctx, log, it, status, message, func(token string) error {
			_, err := s.cfg.SFN.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(string(out))})
			return err
		})
	case "Failed", "Stopped", "Expired":
		name := map[string]string{"Failed": taskerr.BatchJobFailed, "Stopped": taskerr.BatchJobStopped, "Expired": taskerr.BatchJobExpired}[status]
		cause := message
		if cause == "" {
			cause = fmt.Sprintf("Bedrock batch job %s (%s) ended with status %s", job.JobName, it.JobArn, status)
		}
		if len(cause) > 32768 {
			cause = cause[:32768]
		}
		return s.answer(ctx, log, it, status, message, func(token string) error {
			_, err := s.cfg.SFN.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: aws.String(token), Error: aws.String(name), Cause: aws.String(cause)})
			return err
		})
	}
	if _, err := s.cfg.Store.UpdateStatus(ctx, it.JobArn, status, message); err != nil {
		return false, taskerr.Wrap(taskerr.Transient, err)
	}
	_, err = s.cfg.SFN.SendTaskHeartbeat(ctx, &sfn.SendTaskHeartbeatInput{TaskToken: aws.String(it.TaskToken)})
	if executionGone(err) {
		log.WarnContext(ctx, "execution no longer waits for this job; stop tracking it", slog.String("error", err.Error()))
		return false, s.markGone(ctx, it.JobArn, err)
	}
	if err != nil {
		return false, taskerr.Wrap(taskerr.Transient, fmt.Errorf("job %s: SendTaskHeartbeat: %w", it.JobArn, err))
	}
	log.InfoContext(ctx, "job running; heartbeat sent")
	return false, nil
}

// answer sends a final answer once: only the handler that wins the claim
// sends; a failed send releases the claim so a retry or the poller can
// answer later.
func (s *Service) answer(ctx context.Context, log *slog.Logger, it tasktokens.Item, status, message string, send func(token string) error) (bool, error) {
	won, err := s.cfg.Store.MarkSent(ctx, it.JobArn, status, message)
	if err != nil {
		return false, taskerr.Wrap(taskerr.Transient, err)
	}
	if !won {
		log.InfoContext(ctx, "another handler answers this job; ignoring duplicate")
		return false, nil
	}
	err = send(it.TaskToken)
	if executionGone(err) {
		log.WarnContext(ctx, "execution no longer waits for this job", slog.String("error", err.Error()))
		return false, s.markGone(ctx, it.JobArn, err)
	}
	if err != nil {
		if uerr := s.cfg.Store.Unmark(ctx, it.JobArn); uerr != nil {
			log.ErrorContext(ctx, "could not release claim; the poller takes it over later", slog.String("error", uerr.Error()))
		}
		return false, taskerr.Wrap(taskerr.Transient, fmt.Errorf("job %s: answer task: %w", it.JobArn, err))
	}
	if err := s.cfg.Store.ConfirmSent(ctx, it.JobArn); err != nil {
		// The answer went out; a stale claim only makes a later poll send a
		// duplicate, which Step Functions rejects harmlessly.
		log.ErrorContext(ctx, "answered but could not record it", slog.String("error", err.Error()))
	}
	log.InfoContext(ctx, "task answered")
	return true, nil
}

func (s *Service) markGone(ctx context.Context, arn string, cause error) error {
	if err := s.cfg.Store.MarkGone(ctx, arn, "execution gone: "+cause.Error()); err != nil {
		return taskerr.Wrap(taskerr.Transient, err)
	}
	return nil
}

// executionGone reports whether Step Functions says nobody waits on the
// token any more.
func executionGone(err error) bool {
	if err == nil {
		return false
	}
	var (
		tto *sfntypes.TaskTimedOut
		tdn *sfntypes.TaskDoesNotExist
		it  *sfntypes.InvalidToken
	)
	return errors.As(err, &tto) || errors.As(err, &tdn) || errors.As(err, &it)
}

// readManifest reads <s3_uri_output><job-id>/manifest.json.out; a missing
// manifest is nil (logged), not an error.
func (s *Service) readManifest(ctx context.Context, job JobConfig, arn string, log *slog.Logger) (*batchio.Manifest, error) {
	prefix := job.S3URIOutput
	if prefix != "" && prefix[len(prefix)-1] != '/' {
		prefix += "/"
	}
	u, err := s3io.ParseURI(prefix + jobID(arn) + "/" + batchio.ManifestName)
	if err != nil {
		return nil, taskerr.Wrap(taskerr.InvalidConfig, fmt.Errorf("job %s: s3_uri_output: %w", job.JobName, err))
	}
	bucket, key, uri := u.Bucket, u.Key, u.String()
	obj, err := s.cfg.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		var nsk *s3types.NoSuchKey
		if errors.As(err, &nsk) {
			log.WarnContext(ctx, "job finished without a manifest; sending manifest null", slog.String("manifest_uri", uri))
			return nil, nil
		}
		return nil, classify(fmt.Errorf("job %s: read %s: %w", job.JobName, uri, err))
	}
	defer obj.Body.Close()
	m, err := batchio.ParseManifest(obj.Body)
	if err != nil {
		log.WarnContext(ctx, "manifest unreadable; sending manifest null", slog.String("manifest_uri", uri), slog.String("error", err.Error()))
		return nil, nil
	}
	return &m, nil
}

// marshalJob encodes a job config for the task item.
func marshalJob(j JobConfig) (json.RawMessage, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(j); err != nil {
		return nil, fmt.Errorf("encode job %s: %w", j.JobName, err)
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}
