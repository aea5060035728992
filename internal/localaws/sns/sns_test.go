package sns_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go"

	"github.com/bbo-dev/bbo/internal/awsenv"
	"github.com/bbo-dev/bbo/internal/localaws/sns"
)

func newServer(t *testing.T) (*sns.Server, *awssns.Client, string) {
	t.Helper()
	dir := t.TempDir()
	srv, err := sns.New(dir, sns.WithClock(func() time.Time { return time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC) }))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	client := awssns.NewFromConfig(awsenv.Static(hs.URL), func(o *awssns.Options) {
		o.RetryMaxAttempts = 1
	})
	return srv, client, hs.URL
}

func TestPublishWritesOutbox(t *testing.T) {
	srv, client, _ := newServer(t)
	ctx := context.Background()
	ct, err := client.CreateTopic(ctx, &awssns.CreateTopicInput{Name: aws.String("bbo-notify")})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(ct.TopicArn)
	if arn != "arn:aws:sns:us-east-1:000000000000:bbo-notify" {
		t.Errorf("TopicArn = %q", arn)
	}
	again, err := client.CreateTopic(ctx, &awssns.CreateTopicInput{Name: aws.String("bbo-notify")})
	if err != nil || aws.ToString(again.TopicArn) != arn {
		t.Errorf("CreateTopic is not idempotent: %v %v", again, err)
	}
	lt, err := client.ListTopics(ctx, &awssns.ListTopicsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(lt.Topics) != 1 || aws.ToString(lt.Topics[0].TopicArn) != arn {
		t.Errorf("ListTopics = %+v", lt.Topics)
	}

	body := "Pipeline done.\n\nline with: colon\n"
	out, err := client.Publish(ctx, &awssns.PublishInput{
		TopicArn: aws.String(arn),
		Subject:  aws.String("✅ Pipeline Complete: demo"),
		Message:  aws.String(body),
	})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := sns.ReadOutbox(srv.Outbox())
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("outbox holds %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.ID != aws.ToString(out.MessageId) || m.ID == "" {
		t.Errorf("stored id %q, returned %q", m.ID, aws.ToString(out.MessageId))
	}
	if m.Subject != "✅ Pipeline Complete: demo" || m.TopicArn != arn || m.Body != body {
		t.Errorf("stored %+v", m)
	}
	if !m.Time.Equal(time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)) {
		t.Errorf("Time = %v", m.Time)
	}
}

func TestPublishErrors(t *testing.T) {
	_, client, _ := newServer(t)
	ctx := context.Background()
	ct, err := client.CreateTopic(ctx, &awssns.CreateTopicInput{Name: aws.String("t")})
	if err != nil {
		t.Fatal(err)
	}
	arn := ct.TopicArn
	tests := []struct {
		name string
		in   awssns.PublishInput
		code string
		typ  any
	}{
		{"unknown topic", awssns.PublishInput{TopicArn: aws.String("arn:aws:sns:us-east-1:000000000000:nope"), Message: aws.String("x")}, "NotFound", &types.NotFoundException{}},
		{"empty message", awssns.PublishInput{TopicArn: arn, Message: aws.String("")}, "InvalidParameter", &types.InvalidParameterException{}},
		{"subject with newline", awssns.PublishInput{TopicArn: arn, Message: aws.String("x"), Subject: aws.String("a\nb")}, "InvalidParameter", nil},
		{"subject too long", awssns.PublishInput{TopicArn: arn, Message: aws.String("x"), Subject: aws.String(strings.Repeat("é", 100))}, "InvalidParameter", nil},
		{"message too long", awssns.PublishInput{TopicArn: arn, Message: aws.String(strings.Repeat("x", sns.MaxMessageBytes+1))}, "InvalidParameter", nil},
		{"sms", awssns.PublishInput{PhoneNumber: aws.String("+15555550100"), Message: aws.String("x")}, "InvalidParameter", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.Publish(ctx, &tc.in)
			var ae smithy.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want an API error", err)
			}
			if ae.ErrorCode() != tc.code {
				t.Errorf("code = %q (%v), want %q", ae.ErrorCode(), err, tc.code)
			}
			switch want := tc.typ.(type) {
			case *types.NotFoundException:
				if !errors.As(err, &want) {
					t.Errorf("err = %T, want NotFoundException", err)
				}
			case *types.InvalidParameterException:
				if !errors.As(err, &want) {
					t.Errorf("err = %T, want InvalidParameterException", err)
				}
			}
		})
	}
}

func TestRawRequests(t *testing.T) {
	_, _, endpoint := newServer(t)
	tests := []struct {
		name   string
		form   url.Values
		status int
		want   string
	}{
		{"no action", url.Values{}, 400, "<Code>MissingAction</Code>"},
		{"unsupported action", url.Values{"Action": {"Subscribe"}}, 400, "<Code>InvalidAction</Code>"},
		{"bad topic name", url.Values{"Action": {"CreateTopic"}, "Name": {"a b"}}, 400, "<Code>InvalidParameter</Code>"},
		{"create", url.Values{"Action": {"CreateTopic"}, "Name": {"x"}}, 200, "<CreateTopicResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><CreateTopicResult><TopicArn>arn:aws:sns:us-east-1:000000000000:x</TopicArn></CreateTopicResult><ResponseMetadata><RequestId>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.PostForm(endpoint, tc.form)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b bytes.Buffer
			if _, err := b.ReadFrom(resp.Body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || !strings.Contains(b.String(), tc.want) {
				t.Errorf("got %d %s, want %d containing %s", resp.StatusCode, b.String(), tc.status, tc.want)
			}
		})
	}
}

// FuzzServeHTTP feeds arbitrary request bodies to the server: it must
// answer every one with XML and never panic.
func FuzzServeHTTP(f *testing.F) {
	f.Add("Action=Publish&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At&Message=hi&Subject=s")
	f.Add("Action=CreateTopic&Name=t")
	f.Add("Action=ListTopics")
	f.Add("Action=Publish&Message=%ff%fe")
	f.Add("%zz=&&;")
	dir := f.TempDir()
	srv, err := sns.New(dir)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := srv.CreateTopic("t"); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if !strings.HasPrefix(rec.Body.String(), "<?xml") {
			t.Fatalf("status %d, body %q is not XML", rec.Code, rec.Body.String())
		}
	})
}

func BenchmarkPublish(b *testing.B) {
	srv, err := sns.New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	arn, err := srv.CreateTopic("t")
	if err != nil {
		b.Fatal(err)
	}
	body := url.Values{"Action": {"Publish"}, "TopicArn": {arn}, "Subject": {"s"}, "Message": {strings.Repeat("line of text\n", 200)}}.Encode()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Body.String())
		}
	}
}
