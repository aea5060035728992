package notify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/bbo-dev/bbo/internal/awsenv"
	"github.com/bbo-dev/bbo/internal/localaws/sns"
	"github.com/bbo-dev/bbo/internal/notify"
	"github.com/bbo-dev/bbo/internal/taskerr"
)

const bucket = "bbo-bucket"

// verifier checks presigned query authentication before handing a request
// to gofakes3, which does not check signatures itself: it recomputes the
// SigV4 signature with the secret of the access key in the URL and
// enforces X-Amz-Expires and the credentials' own expiry, as S3 does.
type verifier struct {
	next  http.Handler
	creds map[string]aws.Credentials // by access key id
}

func (v *verifier) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sig := q.Get("X-Amz-Signature")
	if sig == "" {
		v.next.ServeHTTP(w, r) // header-signed SDK calls (setup)
		return
	}
	deny := func(format string, args ...any) {
		http.Error(w, fmt.Sprintf(format, args...), http.StatusForbidden)
	}
	keyID, _, _ := strings.Cut(q.Get("X-Amz-Credential"), "/")
	creds, ok := v.creds[keyID]
	if !ok {
		deny("unknown access key %q", keyID)
		return
	}
	signed, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil {
		deny("bad X-Amz-Date")
		return
	}
	var secs int
	if _, err := fmt.Sscan(q.Get("X-Amz-Expires"), &secs); err != nil || secs < 1 || secs > 604800 {
		deny("bad X-Amz-Expires %q", q.Get("X-Amz-Expires"))
		return
	}
	now := time.Now()
	if now.After(signed.Add(time.Duration(secs) * time.Second)) {
		deny("request has expired")
		return
	}
	if creds.CanExpire && now.After(creds.Expires) {
		deny("the provided token has expired")
		return
	}
	if creds.SessionToken != "" && q.Get("X-Amz-Security-Token") != creds.SessionToken {
		deny("missing or wrong security token")
		return
	}
	q.Del("X-Amz-Signature")
	u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: q.Encode()}
	req, err := http.NewRequest(r.Method, u.String(), nil)
	if err != nil {
		deny("rebuild request: %v", err)
		return
	}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	again, _, err := signer.PresignHTTP(r.Context(), creds, req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", signed)
	if err != nil {
		deny("re-sign: %v", err)
		return
	}
	au, _ := url.Parse(again)
	if got := au.Query().Get("X-Amz-Signature"); got != sig {
		deny("SignatureDoesNotMatch")
		return
	}
	v.next.ServeHTTP(w, r)
}

type env struct {
	s3     *s3.Client
	sns    *awssns.Client
	outbox *sns.Server
	topic  string
	ver    *verifier
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ver := &verifier{next: gofakes3.New(s3mem.New()).Server(), creds: map[string]aws.Credentials{}}
	s3srv := httptest.NewServer(ver)
	t.Cleanup(s3srv.Close)
	s3c := awsenv.S3(awsenv.Static(s3srv.URL))
	ctx := context.Background()
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"batch_output_parquet/describe/0000.snappy.parquet", "batch_output_parquet/describe/0001.snappy.parquet", "batch_output_parquet/extract/0000.snappy.parquet"} {
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), Body: strings.NewReader("content of " + k)}); err != nil {
			t.Fatal(err)
		}
	}
	box, err := sns.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	topic, err := box.CreateTopic("bbo-notifications")
	if err != nil {
		t.Fatal(err)
	}
	snsSrv := httptest.NewServer(box)
	t.Cleanup(snsSrv.Close)
	return &env{s3: s3c, sns: awssns.NewFromConfig(awsenv.Static(snsSrv.URL)), outbox: box, topic: topic, ver: ver}
}

func (e *env) notifier(creds aws.Credentials) *notify.Notifier {
	e.ver.creds[creds.AccessKeyID] = creds
	return &notify.Notifier{
		Presigner:   s3.NewPresignClient(e.s3),
		Publisher:   e.sns,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil }),
		TopicARN:    e.topic,
		Bucket:      bucket,
	}
}

func (e *env) lastMessage(t *testing.T) sns.Message {
	t.Helper()
	msgs, err := sns.ReadOutbox(e.outbox.Outbox())
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) == 0 {
		t.Fatal("nothing published")
	}
	return msgs[len(msgs)-1]
}

func fetch(t *testing.T, rawURL string) (int, string) {
	t.Helper()
	resp, err := http.Get(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func succeeded(days int) notify.Input {
	return notify.Input{
		PipelineName:           "clothing-analysis",
		Status:                 "SUCCEEDED",
		PresignedURLExpiryDays: days,
		StageResults: []notify.StageResult{
			{StageName: "describe", OutputPaths: []string{
				"s3://" + bucket + "/batch_output_parquet/describe/0000.snappy.parquet",
				"s3://" + bucket + "/batch_output_parquet/describe/0001.snappy.parquet",
			}, Summary: map[string]any{"records_read": float64(1200), "failed_records": float64(3), "truncated": false, "errors_uri": "s3://" + bucket + "/batch_errors/describe/preprocess.jsonl"}},
			{StageName: "extract", OutputPaths: []string{
				"s3://" + bucket + "/batch_output_parquet/extract/0000.snappy.parquet",
				"s3://" + bucket + "/batch_output_parquet/extract/", // a prefix: listed without a link
				"s3://elsewhere/x.parquet",                          // not our bucket
			}, Summary: map[string]any{"rows": float64(1197), "failed": float64(2), "nested": map[string]any{"x": 1}}},
		},
	}
}

func TestLinksAndExpiry(t *testing.T) {
	e := newEnv(t)
	static := aws.Credentials{AccessKeyID: "AKIASTATIC", SecretAccessKey: "static-secret", Source: "test"}
	temporary := aws.Credentials{AccessKeyID: "ASIATEMP", SecretAccessKey: "temp-secret", SessionToken: "session-token",
		CanExpire: true, Expires: time.Now().Add(time.Hour).Truncate(time.Second), Source: "test"}
	envCreds := aws.Credentials{AccessKeyID: "ASIAENV", SecretAccessKey: "env-secret", SessionToken: "env-token", Source: "EnvConfigCredentials"}

	tests := []struct {
		name      string
		creds     aws.Credentials
		days      int
		wantLife  time.Duration // from now, ±1 min
		wantLimit string
		wantText  string
	}{
		{"static creds, 30 days clamped to 7", static, 30, 7 * 24 * time.Hour, notify.LimitRequested, "Download links are valid until "},
		{"static creds, default 7 days", static, 0, 7 * 24 * time.Hour, notify.LimitRequested, "Download links are valid until "},
		{"static creds, below 1 day clamped", static, -3, 24 * time.Hour, notify.LimitRequested, "Download links are valid until "},
		{"temporary creds expiring in 1h", temporary, 7, time.Hour, notify.LimitCredentials, "(limited by the Lambda role's temporary credentials, not the requested lifetime); to get new links later, run `bbo links"},
		{"session creds without expiry", envCreds, 2, 48 * time.Hour, notify.LimitCredentialsUnknown, "stop working when those expire, typically within 12 hours"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			out, err := e.notifier(tc.creds).Handle(context.Background(), succeeded(tc.days))
			if err != nil {
				t.Fatal(err)
			}
			if out.Subject != "✅ Pipeline Complete: clothing-analysis" {
				t.Errorf("Subject = %q", out.Subject)
			}
			if len(out.Links) != 5 || out.LinksOmitted != 0 {
				t.Fatalf("got %d links (%d omitted), want 5", len(out.Links), out.LinksOmitted)
			}
			msg := e.lastMessage(t)
			if msg.ID != out.MessageID || msg.Subject != out.Subject || msg.TopicArn != e.topic {
				t.Errorf("published %+v, output %+v", msg, out)
			}
			wantExpiry := start.Add(tc.wantLife)
			if tc.wantLimit == notify.LimitCredentials {
				wantExpiry = tc.creds.Expires
			}
			for _, l := range out.Links[:3] {
				if l.URL == "" {
					t.Fatalf("no URL for %s: %s", l.S3URI, l.Note)
				}
				if l.Limit != tc.wantLimit {
					t.Errorf("%s: Limit = %q, want %q", l.S3URI, l.Limit, tc.wantLimit)
				}
				if d := l.ExpiresAt.Sub(wantExpiry); d < -time.Minute || d > time.Minute {
					t.Errorf("%s: ExpiresAt = %v, want about %v", l.S3URI, l.ExpiresAt, wantExpiry)
				}
				u, err := url.Parse(l.URL)
				if err != nil {
					t.Fatal(err)
				}
				wantSecs := fmt.Sprint(int(time.Duration(notify.ExpiryDays(tc.days)) * 24 * time.Hour / time.Second))
				if got := u.Query().Get("X-Amz-Expires"); got != wantSecs {
					t.Errorf("X-Amz-Expires = %s, want %s", got, wantSecs)
				}
				status, body := fetch(t, l.URL)
				key := strings.TrimPrefix(l.S3URI, "s3://"+bucket+"/")
				if status != 200 || body != "content of "+key {
					t.Errorf("GET %s: %d %q", l.URL, status, body)
				}
				if !strings.Contains(msg.Body, l.URL) {
					t.Errorf("message lacks the link for %s", l.S3URI)
				}
			}
			for _, l := range out.Links[3:] {
				if l.URL != "" || l.Note == "" || !strings.Contains(msg.Body, l.Note) {
					t.Errorf("%s: URL %q note %q: want no URL and the note in the message", l.S3URI, l.URL, l.Note)
				}
			}
			for _, want := range []string{
				tc.wantText,
				"Stage 1: describe\n  records_read: 1200, failed_records: 3, errors_uri: s3://bbo-bucket/batch_errors/describe/preprocess.jsonl, truncated: false\n",
				"Stage 2: extract\n  rows: 1197, failed: 2\n",
			} {
				if !strings.Contains(msg.Body, want) {
					t.Errorf("message lacks %q:\n%s", want, msg.Body)
				}
			}
		})
	}
}

// The verifier must reject what S3 rejects, or the link tests prove nothing.
func TestVerifierRejectsTamperedAndExpired(t *testing.T) {
	e := newEnv(t)
	creds := aws.Credentials{AccessKeyID: "ASIASHORT", SecretAccessKey: "s", SessionToken: "t", CanExpire: true, Expires: time.Now().Add(time.Hour)}
	out, err := e.notifier(creds).Handle(context.Background(), succeeded(1))
	if err != nil {
		t.Fatal(err)
	}
	good := out.Links[0].URL
	tampered := strings.Replace(good, "0000.snappy", "0001.snappy", 1)
	if status, body := fetch(t, tampered); status != http.StatusForbidden {
		t.Errorf("tampered URL: %d %s", status, body)
	}
	// The credentials expire: S3 refuses the link though X-Amz-Expires says a day.
	creds.Expires = time.Now().Add(-time.Second)
	e.ver.creds[creds.AccessKeyID] = creds
	if status, body := fetch(t, good); status != http.StatusForbidden || !strings.Contains(body, "token has expired") {
		t.Errorf("link after the credentials expired: %d %s", status, body)
	}
}

func TestFailureMessage(t *testing.T) {
	e := newEnv(t)
	static := aws.Credentials{AccessKeyID: "AKIASTATIC", SecretAccessKey: "static-secret"}
	tests := []struct {
		name string
		err  *notify.TaskError
		want []string
	}{
		{
			name: "lambda error cause",
			err:  &notify.TaskError{Error: "BatchJobFailed", Cause: `{"errorMessage":"job x failed: model access denied","errorType":"BatchJobFailed"}`},
			want: []string{
				`Pipeline "clothing-analysis" failed in stage "extract".`,
				"Error: BatchJobFailed\n",
				"Cause: job x failed: model access denied\n",
				"What to do: Open the batch job in the Bedrock console",
				"Stages that finished before the failure:\n\nStage 1: describe\n",
			},
		},
		{
			name: "plain cause, unknown error name",
			err:  &notify.TaskError{Error: "States.Runtime", Cause: "An error occurred while executing the state."},
			want: []string{"Error: States.Runtime\n", "Cause: An error occurred while executing the state.\n", "What to do: See the execution's history"},
		},
		{name: "no error object", err: nil, want: []string{"Error: (not given)\n", "Cause: (not given)\n"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := succeeded(7)
			in.Status = "FAILED"
			in.StageResults = in.StageResults[:1]
			in.FailedStage = "extract"
			in.Error = tc.err
			out, err := e.notifier(static).Handle(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			msg := e.lastMessage(t)
			if out.Subject != "❌ Pipeline Failed: clothing-analysis" || msg.Subject != out.Subject {
				t.Errorf("Subject = %q / %q", out.Subject, msg.Subject)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg.Body, w) {
					t.Errorf("message lacks %q:\n%s", w, msg.Body)
				}
			}
			if len(out.Links) != 2 {
				t.Errorf("finished stages' outputs must still be linked: %d links", len(out.Links))
			}
		})
	}
}

func TestHandleErrors(t *testing.T) {
	e := newEnv(t)
	static := aws.Credentials{AccessKeyID: "AKIASTATIC", SecretAccessKey: "static-secret"}
	tests := []struct {
		name  string
		setup func(*notify.Notifier, *notify.Input)
		want  string
	}{
		{"bad status", func(_ *notify.Notifier, in *notify.Input) { in.Status = "DONE" }, taskerr.InvalidInput},
		{"no topic", func(n *notify.Notifier, _ *notify.Input) { n.TopicARN = "" }, taskerr.Internal},
		{"unknown topic", func(n *notify.Notifier, _ *notify.Input) { n.TopicARN += "-gone" }, taskerr.Internal},
		{"credentials fail", func(n *notify.Notifier, _ *notify.Input) {
			n.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{}, errors.New("no credentials")
			})
		}, taskerr.Transient},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, in := e.notifier(static), succeeded(7)
			tc.setup(n, &in)
			_, err := n.Handle(context.Background(), in)
			if err == nil || taskerr.Name(err) != tc.want {
				t.Errorf("err = %v (%s), want a %s", err, taskerr.Name(err), tc.want)
			}
		})
	}
}

func TestNoOutputs(t *testing.T) {
	e := newEnv(t)
	out, err := e.notifier(aws.Credentials{AccessKeyID: "A", SecretAccessKey: "S"}).Handle(context.Background(),
		notify.Input{PipelineName: "empty", Status: "succeeded", StageResults: []notify.StageResult{{StageName: "s"}}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Links == nil || len(out.Links) != 0 {
		t.Errorf("Links = %#v, want empty and non-nil (JSON [])", out.Links)
	}
	if msg := e.lastMessage(t); !strings.Contains(msg.Body, "No output files.") {
		t.Errorf("body:\n%s", msg.Body)
	}
}

func TestExpiry(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	week := 7 * 24 * time.Hour
	tests := []struct {
		name      string
		creds     aws.Credentials
		want      time.Time
		wantLimit string
	}{
		{"long-lived", aws.Credentials{AccessKeyID: "A"}, now.Add(week), notify.LimitRequested},
		{"temporary, expires first", aws.Credentials{SessionToken: "t", CanExpire: true, Expires: now.Add(time.Hour)}, now.Add(time.Hour), notify.LimitCredentials},
		{"temporary, outlives the link", aws.Credentials{SessionToken: "t", CanExpire: true, Expires: now.Add(8 * 24 * time.Hour)}, now.Add(week), notify.LimitRequested},
		{"session token, expiry unknown", aws.Credentials{SessionToken: "t"}, now.Add(week), notify.LimitCredentialsUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, limit := notify.Expiry(now, week, tc.creds)
			if !got.Equal(tc.want) || limit != tc.wantLimit {
				t.Errorf("got %v %s, want %v %s", got, limit, tc.want, tc.wantLimit)
			}
		})
	}
}

func TestExpiryDays(t *testing.T) {
	for _, tc := range []struct{ in, want int }{{0, 7}, {-1, 1}, {1, 1}, {3, 3}, {7, 7}, {30, 7}} {
		t.Run(fmt.Sprint(tc.in), func(t *testing.T) {
			if got := notify.ExpiryDays(tc.in); got != tc.want {
				t.Errorf("ExpiryDays(%d) = %d, want %d", tc.in, got, tc.want)
			}
		})
	}
}

func TestSubject(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		failed bool
		want   string
	}{
		{"complete", "p", false, "✅ Pipeline Complete: p"},
		{"failed", "p", true, "❌ Pipeline Failed: p"},
		{"control characters", "a\nb\tc", false, "✅ Pipeline Complete: a b c"},
		{"empty", " ", true, "❌ Pipeline Failed: (unnamed)"},
		{"long", strings.Repeat("x", 200), false, "✅ Pipeline Complete: " + strings.Repeat("x", 77) + "…"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := notify.Subject(tc.in, tc.failed); got != tc.want {
				t.Errorf("Subject = %q, want %q", got, tc.want)
			}
		})
	}
}

// The body stays under SNS's limit however many outputs there are, and
// says how many links it left out.
func TestBodyLimit(t *testing.T) {
	var paths []string
	var links []notify.Link
	for i := range 2000 {
		p := fmt.Sprintf("s3://%s/batch_output_parquet/big/%04d.snappy.parquet", bucket, i)
		paths = append(paths, p)
		links = append(links, notify.Link{S3URI: p, URL: "https://example.com/" + strings.Repeat("q", 600), ExpiresAt: time.Unix(0, 0), Limit: notify.LimitRequested})
	}
	in := notify.Input{PipelineName: "big", Status: "SUCCEEDED", StageResults: []notify.StageResult{{StageName: "big", OutputPaths: paths}}}
	body, shown := notify.Body(in, false, links)
	if len(body) > sns.MaxMessageBytes || shown == 0 || shown >= len(links) {
		t.Fatalf("body %d bytes, %d of %d links shown", len(body), shown, len(links))
	}
	if want := fmt.Sprintf("%d more output file(s) are not listed", len(links)-shown); !strings.Contains(body, want) {
		t.Errorf("body lacks %q", want)
	}
}

func FuzzSubject(f *testing.F) {
	for _, s := range []string{"p", "", "a\nb", strings.Repeat("é", 150), "\xff\xfe", "🙂🙂"} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, name string, failed bool) {
		s := notify.Subject(name, failed)
		if !utf8.ValidString(s) || utf8.RuneCountInString(s) >= 100 || strings.ContainsFunc(s, unicode.IsControl) {
			t.Fatalf("Subject(%q) = %q breaks SNS's constraints", name, s)
		}
	})
}

func FuzzBodyCause(f *testing.F) {
	for _, s := range []string{"", "plain", `{"errorMessage":"m","errorType":"T"}`, `{"errorMessage":`, `{}`, `[1]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cause string) {
		in := notify.Input{PipelineName: "p", Status: "FAILED", Error: &notify.TaskError{Error: "X", Cause: cause}}
		body, _ := notify.Body(in, true, nil)
		if !strings.Contains(body, "Cause: ") {
			t.Fatalf("no cause line in %q", body)
		}
	})
}

func BenchmarkBody(b *testing.B) {
	in := succeeded(7)
	var links []notify.Link
	for _, s := range in.StageResults {
		for _, p := range s.OutputPaths {
			links = append(links, notify.Link{S3URI: p, URL: "https://s3.example.com/" + strings.Repeat("q", 900), ExpiresAt: time.Now(), Limit: notify.LimitCredentials})
		}
	}
	body, _ := notify.Body(in, false, links)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	var buf bytes.Buffer
	for b.Loop() {
		body, _ := notify.Body(in, false, links)
		buf.Reset()
		buf.WriteString(body)
	}
}
