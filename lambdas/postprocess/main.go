// Command postprocess is the Lambda that turns a finished Bedrock batch job
// into its result table (see internal/postprocess).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/bbo-dev/bbo/internal/awsenv"
	"github.com/bbo-dev/bbo/internal/jobspec"
	"github.com/bbo-dev/bbo/internal/lambdaerr"
	"github.com/bbo-dev/bbo/internal/lambdalog"
	"github.com/bbo-dev/bbo/internal/postprocess"
	"github.com/bbo-dev/bbo/prompts"
)

func main() {
	log := lambdalog.New()
	cfg, err := awsenv.Load(context.Background())
	if err != nil {
		log.Error("cannot start", slog.String("error", err.Error()))
		os.Exit(1)
	}
	h := &postprocess.Handler{S3: awsenv.S3(cfg), Bucket: os.Getenv("BUCKET_NAME"), Prompts: prompts.Default(), Log: log}
	lambda.Start(func(ctx context.Context, in jobspec.TaskItem) (postprocess.Output, error) {
		out, err := h.Handle(ctx, in)
		if err != nil {
			log.Error("postprocess failed", slog.String("job_name", in.JobName), slog.String("error", err.Error()))
		}
		return out, lambdaerr.Convert(err)
	})
}
