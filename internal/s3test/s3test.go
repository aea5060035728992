// Package s3test starts an in-memory S3-compatible server on 127.0.0.1 for
// tests, so packages exercise the real SDK client over the real protocol.
package s3test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/bbo-dev/bbo/internal/awsenv"
)

// New serves an empty in-memory S3 for the test's lifetime, creates the
// buckets, and returns a client for it.
func New(t testing.TB, buckets ...string) *s3.Client {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	c := awsenv.S3(awsenv.Static(srv.URL))
	for _, b := range buckets {
		if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatalf("s3test: create bucket %s: %v", b, err)
		}
	}
	return c
}
