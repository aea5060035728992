package s3

import (
	"context"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/bbo-dev/bbo/internal/awsenv"
)

// Objects survive a restart of the server: they live on disk.
func TestPersistsAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	put := func(srvURL string) {
		c := awsenv.S3(awsenv.Static(srvURL))
		_, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("batch-inference-bucket-local"), Key: aws.String("inputs/a.csv"), Body: strings.NewReader("topic\ncats\n")})
		if err != nil {
			t.Fatal(err)
		}
	}
	h, err := New(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	put(srv.URL)
	srv.Close()

	h2, err := New(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv2 := httptest.NewServer(h2)
	defer srv2.Close()
	c := awsenv.S3(awsenv.Static(srv2.URL))
	out, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("batch-inference-bucket-local"), Key: aws.String("inputs/a.csv")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(out.Body)
	if string(b) != "topic\ncats\n" {
		t.Fatalf("got %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "buckets", "batch-inference-bucket-local", "inputs", "a.csv")); err != nil {
		t.Errorf("object is not a plain file on disk: %v", err)
	}
}
