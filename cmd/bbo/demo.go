package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/bbo-dev/bbo/internal/backends"
	"github.com/bbo-dev/bbo/internal/demodata"
	"github.com/bbo-dev/bbo/internal/s3io"
	pipelineconfigs "github.com/bbo-dev/bbo/pipeline-configs"
)

// Where the demo puts its inputs in the local bucket; the example
// configs read these keys.
const (
	demoTopicsKey = "inputs/topics.csv"
	demoImagesKey = "inputs/clothing-images/"
	demoTopics    = 30
)

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("demo", stderr)
	var o runOptions
	o.register(fs, false)
	images := fs.Int("images", 30, "synthetic product pictures to generate for the clothing pipeline")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(stderr, "bbo demo: takes no arguments, only flags")
		return exitUsage
	}
	if *images < 1 || *images > 10000 {
		fmt.Fprintln(stderr, "bbo demo: --images must be between 1 and 10000")
		return exitUsage
	}
	o.backend = "stub"

	// 1. Sample data on disk.
	in := filepath.Join(o.dataDir, "demo-inputs")
	imgDir := filepath.Join(in, "clothing-images")
	if err := os.RemoveAll(imgDir); err != nil {
		fmt.Fprintln(stderr, "bbo demo:", err)
		return exitFailed
	}
	items, err := demodata.Images(imgDir, *images)
	if err != nil {
		fmt.Fprintln(stderr, "bbo demo: generate images:", err)
		return exitFailed
	}
	topics := filepath.Join(in, "topics.csv")
	if err := demodata.Topics(topics, demoTopics); err != nil {
		fmt.Fprintln(stderr, "bbo demo: generate topics:", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "generated %d product pictures and %d topics in %s\n", len(items), demoTopics, in)

	// 2. The local environment, with the data uploaded.
	s, err := startSession(ctx, o, backends.NewStub(), stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "bbo demo:", err)
		return exitFailed
	}
	defer s.env.Close()
	imgURI := s3io.URI{Bucket: localBucketName, Key: demoImagesKey}
	if err := deletePrefix(ctx, s.env.S3(), imgURI); err != nil { // pictures of an earlier, larger demo
		fmt.Fprintln(stderr, "bbo demo:", err)
		return exitFailed
	}
	for _, u := range []uploadSpec{{topics, s3io.URI{Bucket: localBucketName, Key: demoTopicsKey}}, {imgDir, imgURI}} {
		n, err := uploadPath(ctx, s.env.S3(), u.local, u.uri)
		if err != nil {
			fmt.Fprintln(stderr, "bbo demo: upload:", err)
			return exitFailed
		}
		fmt.Fprintf(stdout, "uploaded %d file(s) to %s\n", n, u.uri)
	}

	// 3. The two examples.
	for _, name := range []string{"jokes.json", "clothing-analysis-full.json"} {
		cfg, err := pipelineconfigs.FS.ReadFile(name)
		if err != nil {
			fmt.Fprintln(stderr, "bbo demo:", err)
			return exitFailed
		}
		cfg = []byte(rewriteBucket(string(cfg)))
		rep, err := validateConfig(ctx, cfg)
		if err != nil || !rep.valid() {
			fmt.Fprintf(stderr, "bbo demo: the embedded example %s does not validate:\n", name)
			if rep != nil {
				rep.print(stderr, name)
			}
			return exitFailed
		}
		fmt.Fprintf(stdout, "\n=== pipeline-configs/%s ===\n", name)
		if code := s.execute(ctx, name, cfg, rep, stubLabel); code != exitOK {
			return code
		}
	}
	fmt.Fprintf(stdout, "\ndemo done. Everything is under %s; try `bbo ls --data-dir %s s3://%s/` or open the parquet files above.\n",
		o.dataDir, o.dataDir, localBucketName)
	return exitOK
}

// deletePrefix removes every object under a prefix of the local S3.
func deletePrefix(ctx context.Context, c *s3.Client, prefix s3io.URI) error {
	var keys []string
	for obj, err := range s3io.List(ctx, c, prefix) {
		if err != nil {
			return err
		}
		keys = append(keys, obj.URI.Key)
	}
	for _, k := range keys {
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(prefix.Bucket), Key: aws.String(k)}); err != nil {
			return fmt.Errorf("delete s3://%s/%s: %w", prefix.Bucket, k, err)
		}
	}
	return nil
}
