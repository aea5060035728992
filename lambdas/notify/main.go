// Command notify is the Lambda that publishes a pipeline's outcome, with
// download links for its outputs, to the SNS topic (see internal/notify).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/bbo-dev/bbo/internal/awsenv"
	"github.com/bbo-dev/bbo/internal/lambdaerr"
	"github.com/bbo-dev/bbo/internal/lambdalog"
	"github.com/bbo-dev/bbo/internal/notify"
)

func main() {
	log := lambdalog.New()
	topic := os.Getenv("SNS_TOPIC_ARN")
	if topic == "" {
		log.Error("cannot start: SNS_TOPIC_ARN is not set")
		os.Exit(1)
	}
	cfg, err := awsenv.Load(context.Background())
	if err != nil {
		log.Error("cannot start", slog.String("error", err.Error()))
		os.Exit(1)
	}
	n := &notify.Notifier{
		Presigner:   s3.NewPresignClient(awsenv.S3(cfg)),
		Publisher:   sns.NewFromConfig(cfg),
		Credentials: cfg.Credentials,
		TopicARN:    topic,
		Bucket:      os.Getenv("BUCKET_NAME"),
	}
	lambda.Start(func(ctx context.Context, in notify.Input) (notify.Output, error) {
		out, err := n.Handle(ctx, in)
		if err != nil {
			log.Error("notify failed", slog.String("pipeline_name", in.PipelineName), slog.String("error", err.Error()))
			return out, lambdaerr.Convert(err)
		}
		log.Info("notified", slog.String("pipeline_name", in.PipelineName), slog.String("status", in.Status),
			slog.String("message_id", out.MessageID), slog.Int("links", len(out.Links)))
		return out, nil
	})
}
