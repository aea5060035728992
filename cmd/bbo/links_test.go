package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/bbo-dev/bbo/internal/s3test"
)

// bbo links signs with the caller's credentials from the environment; the
// links it prints fetch the object from an S3 endpoint (here a local one,
// through the SDK's AWS_ENDPOINT_URL_S3). The local store does not check
// signatures; internal/notify's tests verify SigV4 links of the same presign
// client against a re-signing checker.
func TestLinksFetchTheObject(t *testing.T) {
	c := s3test.New(t, "results-bucket")
	body := []byte("parquet bytes stand-in")
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("results-bucket"),
		Key: aws.String("batch_output_parquet/p/0000.snappy.parquet"), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	endpoint := c.Options().BaseEndpoint
	t.Setenv("AWS_ENDPOINT_URL_S3", aws.ToString(endpoint))
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDLINKSTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "links-test-secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")

	code, out, errOut := runCLI(t, "links", "--days", "3", "s3://results-bucket/batch_output_parquet/p/0000.snappy.parquet")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var url string
	for _, line := range strings.Split(out, "\n") {
		if l := strings.TrimSpace(line); strings.HasPrefix(l, "http") {
			url = l
		}
	}
	if !strings.Contains(url, "X-Amz-Expires=259200") || strings.Contains(out, "links-test-secret") {
		t.Fatalf("output %q: want a 3-day SigV4 link and no secret", out)
	}
	wantContains(t, "links output", out, "links valid until")
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, body) {
		t.Fatalf("GET link: %d %q", resp.StatusCode, got)
	}
}
