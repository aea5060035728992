// Package notify is the notify task: at the end of a pipeline it makes
// download links for every output file and publishes one message saying how
// each stage went (or which stage failed, why, and what to do) to an SNS
// topic.
//
// Link lifetimes are stated honestly: a presigned URL stops working when the
// credentials that signed it expire, whatever its X-Amz-Expires says, and a
// Lambda role's credentials are temporary. Each link says how long it really
// lasts and what limits it.
package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"

	"github.com/bbo-dev/bbo/internal/config"
	"github.com/bbo-dev/bbo/internal/s3io"
	"github.com/bbo-dev/bbo/internal/taskerr"
)

// Pipeline statuses in Input.Status.
const (
	StatusSucceeded = "SUCCEEDED"
	StatusFailed    = "FAILED"
)

// Input is the notify task's event.
type Input struct {
	PipelineName string `json:"pipeline_name"`
	// Status is StatusSucceeded or StatusFailed.
	Status string `json:"status"`
	// PresignedURLExpiryDays is the requested link lifetime; 0 means the
	// default, and values are clamped to 1..7 days (the SigV4 maximum).
	PresignedURLExpiryDays int           `json:"presigned_url_expiry_days"`
	StageResults           []StageResult `json:"stage_results"`
	// FailedStage names the stage that failed (StatusFailed only).
	FailedStage string `json:"failed_stage"`
	// Error is what a Catch caught (StatusFailed only).
	Error *TaskError `json:"error"`
}

// StageResult is what one finished stage produced.
type StageResult struct {
	StageName   string   `json:"stage_name"`
	OutputPaths []string `json:"output_paths"`
	// Summary holds the stage's counts (records_read, failed_records, rows,
	// ...); numbers, strings and booleans are shown, objects are skipped.
	Summary map[string]any `json:"summary"`
}

// TaskError is the error object Step Functions puts in a Catch's result.
type TaskError struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// Output is the notify task's result.
type Output struct {
	MessageID string `json:"message_id"`
	Subject   string `json:"subject"`
	Links     []Link `json:"links"`
	// LinksOmitted counts links left out of the message and of Links to
	// keep both under SNS's and Step Functions' 256 KiB limits.
	LinksOmitted int `json:"links_omitted,omitempty"`
}

// Link is a download link for one output file.
type Link struct {
	S3URI string `json:"s3_uri"`
	// URL is the presigned GET URL; "" when the path could not be signed
	// (Note says why).
	URL string `json:"url"`
	// ExpiresAt is when the link stops working (RFC 3339), or, when Limit
	// is LimitCredentialsUnknown, the latest it can work.
	ExpiresAt time.Time `json:"expires_at"`
	// Limit says what sets ExpiresAt.
	Limit string `json:"limit"`
	// Note explains a path without a URL.
	Note string `json:"note,omitempty"`
}

// What limits a link's lifetime (Link.Limit).
const (
	// LimitRequested: the requested lifetime; the signing credentials are
	// long-lived or outlive it.
	LimitRequested = "requested"
	// LimitCredentials: the signing credentials expire first, at ExpiresAt.
	LimitCredentials = "credentials"
	// LimitCredentialsUnknown: the signing credentials are temporary (they
	// carry a session token) but do not say when they expire, as a Lambda
	// role's environment credentials do not. The link dies with them, which
	// can be hours before ExpiresAt.
	LimitCredentialsUnknown = "credentials_unknown"
)

// RelinkHint tells readers how to get fresh links; the message includes it
// whenever links are shorter-lived than requested.
const RelinkHint = "to get new links later, run `bbo links <s3-uri>` or `aws s3 presign <s3-uri> --expires-in 604800` " +
	"with long-lived IAM user credentials (see the README, \"Download links\")"

// maxBody keeps the message under SNS's 256 KiB limit, with room for the
// footer, and the task output under Step Functions' 256 KiB payload limit.
const maxBody = 200 * 1024

// maxSubjectRunes: SNS subjects must be less than 100 characters.
const maxSubjectRunes = 99

// Presigner makes presigned S3 requests (*s3.PresignClient).
type Presigner interface {
	PresignGetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.PresignOptions)) (*v4.PresignedHTTPRequest, error)
}

// Publisher publishes SNS messages (*sns.Client).
type Publisher interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// Notifier is the notify task with its clients.
type Notifier struct {
	Presigner Presigner
	Publisher Publisher
	// Credentials are the credentials links are signed with (the SDK
	// config's). They are retrieved once per message and the links are
	// signed with exactly those, so the stated expiry is theirs.
	Credentials aws.CredentialsProvider
	// TopicARN is the SNS topic to publish to.
	TopicARN string
	// Bucket, when set, is the only bucket links are made for: the task's
	// role can read nothing else, so a link elsewhere would not work.
	Bucket string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Handle makes the links, writes the message and publishes it.
func (n *Notifier) Handle(ctx context.Context, in Input) (Output, error) {
	if n.TopicARN == "" {
		return Output{}, taskerr.New(taskerr.Internal, "notify: no SNS topic: set SNS_TOPIC_ARN")
	}
	failed, err := parseStatus(in.Status)
	if err != nil {
		return Output{}, err
	}
	now := time.Now
	if n.Now != nil {
		now = n.Now
	}
	links, err := n.links(ctx, in, now())
	if err != nil {
		return Output{}, err
	}
	subject := Subject(in.PipelineName, failed)
	body, shown := Body(in, failed, links)
	out := Output{Subject: subject, Links: links[:shown], LinksOmitted: len(links) - shown}
	res, err := n.Publisher.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(n.TopicARN),
		Subject:  aws.String(subject),
		Message:  aws.String(body),
	})
	if err != nil {
		return Output{}, publishError(n.TopicARN, err)
	}
	out.MessageID = aws.ToString(res.MessageId)
	return out, nil
}

func parseStatus(s string) (failed bool, err error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case StatusSucceeded:
		return false, nil
	case StatusFailed:
		return true, nil
	}
	return false, taskerr.New(taskerr.InvalidInput, "notify: status is %q: the state machine must pass %q or %q", s, StatusSucceeded, StatusFailed)
}

// ExpiryDays clamps a requested link lifetime to 1..7 days; 0 means the
// default (7).
func ExpiryDays(days int) int {
	if days == 0 {
		return config.DefaultPresignedURLExpiryDays
	}
	return config.ClampExpiryDays(days)
}

// Expiry works out when a link signed at now with creds for requested
// really stops working, and what limits it.
func Expiry(now time.Time, requested time.Duration, creds aws.Credentials) (time.Time, string) {
	want := now.Add(requested)
	switch {
	case creds.CanExpire && !creds.Expires.IsZero():
		if creds.Expires.Before(want) {
			return creds.Expires, LimitCredentials
		}
		return want, LimitRequested
	case creds.SessionToken != "":
		return want, LimitCredentialsUnknown
	}
	return want, LimitRequested
}

func (n *Notifier) links(ctx context.Context, in Input, now time.Time) ([]Link, error) {
	var paths []string
	seen := map[string]bool{}
	for _, s := range in.StageResults {
		for _, p := range s.OutputPaths {
			if !seen[p] {
				seen[p] = true
				paths = append(paths, p)
			}
		}
	}
	if len(paths) == 0 {
		return []Link{}, nil
	}
	creds, err := n.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, taskerr.Wrap(taskerr.Transient, fmt.Errorf("notify: get credentials to sign download links: %w", err))
	}
	requested := time.Duration(ExpiryDays(in.PresignedURLExpiryDays)) * 24 * time.Hour
	expires, limit := Expiry(now, requested, creds)
	signWith := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil })
	links := make([]Link, 0, len(paths))
	for _, p := range paths {
		l := Link{S3URI: p}
		u, err := s3io.ParseURI(p)
		bucket, key := u.Bucket, u.Key
		switch {
		case err != nil:
			l.Note = err.Error() + ": no link made"
		case key == "" || strings.HasSuffix(key, "/"):
			l.Note = "a prefix, not a file: download it with `aws s3 cp --recursive " + p + " .`"
		case n.Bucket != "" && bucket != n.Bucket:
			l.Note = fmt.Sprintf("not in the pipeline's bucket %s: no link made", n.Bucket)
		default:
			req, err := n.Presigner.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)},
				s3.WithPresignExpires(requested),
				s3.WithPresignClientFromClientOptions(func(o *s3.Options) { o.Credentials = signWith }))
			if err != nil {
				return nil, taskerr.Wrap(taskerr.Internal, fmt.Errorf("notify: presign %s: %w", p, err))
			}
			l.URL, l.ExpiresAt, l.Limit = req.URL, expires.UTC(), limit
		}
		links = append(links, l)
	}
	return links, nil
}

func publishError(topic string, err error) error {
	err = fmt.Errorf("notify: publish to %s: %w", topic, err)
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "Throttling", "Throttled", "ThrottledException", "KMSThrottling":
			return taskerr.Wrap(taskerr.Throttled, err)
		case "NotFound", "InvalidParameter", "AuthorizationError", "InvalidSecurity", "KMSDisabled", "KMSNotFound", "KMSAccessDenied":
			return taskerr.Wrap(taskerr.Internal, err)
		}
	}
	return taskerr.Wrap(taskerr.Transient, err)
}

// Subject returns the message subject: a status mark and the pipeline
// name, cut to SNS's limit (less than 100 characters, no control
// characters).
func Subject(pipeline string, failed bool) string {
	prefix := "✅ Pipeline Complete: "
	if failed {
		prefix = "❌ Pipeline Failed: "
	}
	name := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return ' '
		}
		return r
	}, pipeline)
	name = strings.TrimSpace(name)
	if name == "" {
		name = "(unnamed)"
	}
	room := maxSubjectRunes - utf8.RuneCountInString(prefix)
	if utf8.RuneCountInString(name) > room {
		name = string([]rune(name)[:room-1]) + "…"
	}
	return prefix + name
}

// causeMessage returns the readable part of a Catch's Cause: Lambda errors
// arrive as JSON ({"errorMessage":..., "errorType":...}).
func causeMessage(cause string) string {
	var lambdaErr struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if strings.HasPrefix(strings.TrimSpace(cause), "{") && json.Unmarshal([]byte(cause), &lambdaErr) == nil && lambdaErr.ErrorMessage != "" {
		return lambdaErr.ErrorMessage
	}
	return cause
}

// advice says what to do about each error name the state machines catch.
var advice = map[string]string{
	taskerr.InvalidConfig:          "Fix the configuration (check it with `bbo validate <config>`) and start the pipeline again.",
	taskerr.InputNotFound:          "Check the stage's input_s3_uri or dataset_id: the object or prefix must exist and hold records. Then start again.",
	taskerr.InvalidInput:           "The input could not be read: check the file format (CSV with a header, JSONL or Parquet) and the columns the prompts use.",
	taskerr.TooFewRecords:          "Bedrock batch jobs need a minimum number of records: add records, or lower max_num_jobs so they are not split so thin.",
	taskerr.Throttled:              "Bedrock throttled the pipeline or a service quota is full: wait for running batch jobs to finish or ask for a higher quota, then start again.",
	taskerr.BatchJobFailed:         "Open the batch job in the Bedrock console (Batch inference) for its message; check the model id, the role's access to the bucket and the model access in this region.",
	taskerr.BatchJobStopped:        "A batch job was stopped before it finished. Start the pipeline again when ready.",
	taskerr.BatchJobExpired:        "A batch job did not finish within its timeout: raise JOB_TIMEOUT_HOURS or use fewer records per job, then start again.",
	taskerr.PreviousOutputNotFound: "The stage before this one produced no output: check that stage's results and errors.",
	taskerr.OutputNotFound:         "A finished batch job left no output file: check the job in the Bedrock console and the output prefix in S3.",
	taskerr.Transient:              "An AWS call kept failing after retries: start the pipeline again; if it persists, check the service health.",
	taskerr.Internal:               "This is a bug in bbo: please report it with the execution's history from the Step Functions console.",
	"States.Timeout":               "A step ran out of time: check the Step Functions execution history for which one, and raise its timeout if the work is legitimately long.",
}

const defaultAdvice = "See the execution's history in the Step Functions console for the failing step and its input."

// Body returns the message text and how many of links it shows (all, unless
// the message would pass its size limit).
func Body(in Input, failed bool, links []Link) (string, int) {
	var b strings.Builder
	name := in.PipelineName
	if failed {
		fmt.Fprintf(&b, "Pipeline %q failed", name)
		if in.FailedStage != "" {
			fmt.Fprintf(&b, " in stage %q", in.FailedStage)
		}
		b.WriteString(".\n\n")
		errName, cause := "", ""
		if in.Error != nil {
			errName, cause = in.Error.Error, causeMessage(in.Error.Cause)
		}
		fmt.Fprintf(&b, "Error: %s\n", orUnknown(errName))
		fmt.Fprintf(&b, "Cause: %s\n", orUnknown(cause))
		what, ok := advice[errName]
		if !ok {
			what = defaultAdvice
		}
		fmt.Fprintf(&b, "What to do: %s\n", what)
		if len(in.StageResults) > 0 {
			b.WriteString("\nStages that finished before the failure:\n")
		}
	} else {
		fmt.Fprintf(&b, "Pipeline %q completed: %d stage(s).\n", name, len(in.StageResults))
	}

	byURI := make(map[string]*Link, len(links))
	for i := range links {
		byURI[links[i].S3URI] = &links[i]
	}
	shown := 0
	omitted := 0
	listed := map[string]bool{}
	for i, s := range in.StageResults {
		fmt.Fprintf(&b, "\nStage %d: %s\n", i+1, s.StageName)
		if sum := summaryLine(s.Summary); sum != "" {
			fmt.Fprintf(&b, "  %s\n", sum)
		}
		if len(s.OutputPaths) == 0 {
			b.WriteString("  No output files.\n")
			continue
		}
		b.WriteString("  Output files:\n")
		for _, p := range s.OutputPaths {
			l := byURI[p]
			if l == nil || listed[p] {
				continue
			}
			listed[p] = true
			entry := linkEntry(l)
			if omitted > 0 || b.Len()+len(entry) > maxBody {
				omitted++
				continue
			}
			b.WriteString(entry)
			shown++
		}
	}
	if omitted > 0 {
		fmt.Fprintf(&b, "\n%d more output file(s) are not listed to keep this message under the SNS size limit; find them under batch_output_parquet/ in the bucket.\n", omitted)
	}
	b.WriteString(expiryFooter(links))
	return b.String(), shown
}

func orUnknown(s string) string {
	if strings.TrimSpace(s) == "" {
		return "(not given)"
	}
	return s
}

// summaryOrder puts the counts people look for first.
var summaryOrder = []string{"records_read", "requests", "rows", "succeeded", "failed_records", "failed", "missing", "unknown", "malformed"}

func summaryLine(sum map[string]any) string {
	var parts []string
	done := map[string]bool{}
	add := func(k string) {
		done[k] = true
		switch v := sum[k].(type) {
		case float64:
			parts = append(parts, fmt.Sprintf("%s: %s", k, formatNumber(v)))
		case json.Number:
			parts = append(parts, k+": "+v.String())
		case int:
			parts = append(parts, fmt.Sprintf("%s: %d", k, v))
		case string:
			if v != "" {
				parts = append(parts, fmt.Sprintf("%s: %s", k, v))
			}
		case bool:
			parts = append(parts, fmt.Sprintf("%s: %t", k, v))
		}
	}
	for _, k := range summaryOrder {
		if _, ok := sum[k]; ok {
			add(k)
		}
	}
	rest := make([]string, 0, len(sum))
	for k := range sum {
		if !done[k] {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		add(k)
	}
	return strings.Join(parts, ", ")
}

func formatNumber(f float64) string {
	if f == float64(int64(f)) {
		return fmt.Sprintf("%d", int64(f))
	}
	return fmt.Sprintf("%g", f)
}

func linkEntry(l *Link) string {
	if l.URL == "" {
		return fmt.Sprintf("  - %s\n    (%s)\n", l.S3URI, l.Note)
	}
	return fmt.Sprintf("  - %s\n    %s\n    (link %s)\n", l.S3URI, l.URL, validity(l))
}

func validity(l *Link) string {
	at := l.ExpiresAt.UTC().Format("2006-01-02 15:04 MST")
	switch l.Limit {
	case LimitCredentials:
		return "valid until " + at + ", limited by the signing role's temporary credentials"
	case LimitCredentialsUnknown:
		return "valid at most until " + at + "; it stops working earlier when the signing role's temporary credentials expire"
	}
	return "valid until " + at
}

func expiryFooter(links []Link) string {
	var l *Link
	for i := range links {
		if links[i].URL != "" {
			l = &links[i]
			break
		}
	}
	if l == nil {
		return ""
	}
	at := l.ExpiresAt.UTC().Format(time.RFC3339)
	switch l.Limit {
	case LimitCredentials:
		return fmt.Sprintf("\nDownload links are valid until %s (limited by the Lambda role's temporary credentials, not the requested lifetime); %s.\n", at, RelinkHint)
	case LimitCredentialsUnknown:
		return fmt.Sprintf("\nDownload links are valid at most until %s, but they were signed with the Lambda role's temporary credentials "+
			"and stop working when those expire, typically within 12 hours; %s.\n", at, RelinkHint)
	}
	return fmt.Sprintf("\nDownload links are valid until %s.\n", at)
}
