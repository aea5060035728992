// Command transform is the Lambda that turns a pipeline stage's results into
// the next stage's input (see internal/transform).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/bbo-dev/bbo/internal/awsenv"
	"github.com/bbo-dev/bbo/internal/lambdaerr"
	"github.com/bbo-dev/bbo/internal/lambdalog"
	"github.com/bbo-dev/bbo/internal/transform"
)

func main() {
	log := lambdalog.New()
	cfg, err := awsenv.Load(context.Background())
	if err != nil {
		log.Error("cannot start", slog.String("error", err.Error()))
		os.Exit(1)
	}
	h := &transform.Handler{S3: awsenv.S3(cfg), Bucket: os.Getenv("BUCKET_NAME"), Log: log}
	lambda.Start(func(ctx context.Context, in transform.Input) (transform.Output, error) {
		out, err := h.Handle(ctx, in)
		if err != nil {
			log.Error("transform failed", slog.String("stage", in.Stage.StageName), slog.String("error", err.Error()))
		}
		return out, lambdaerr.Convert(err)
	})
}
