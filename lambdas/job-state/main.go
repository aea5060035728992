// Command job-state is the Lambda that answers waiting Step Functions
// tasks when their Bedrock batch jobs change state: target of the
// EventBridge rule, and of a schedule sending {"poll":true}.
package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/bbo-dev/bbo/internal/awsenv"
	"github.com/bbo-dev/bbo/internal/batchjobs"
	"github.com/bbo-dev/bbo/internal/lambdaerr"
	"github.com/bbo-dev/bbo/internal/lambdalog"
	"github.com/bbo-dev/bbo/internal/tasktokens"
)

func main() {
	lambdalog.New()
	ctx := context.Background()
	cfg, err := awsenv.Load(ctx)
	if err != nil {
		slog.Error("job-state cold start", slog.String("error", err.Error()))
		os.Exit(1)
	}
	svc := batchjobs.New(batchjobs.Config{
		Bedrock: bedrock.NewFromConfig(cfg),
		S3:      awsenv.S3(cfg),
		SFN:     sfn.NewFromConfig(cfg),
		Store:   tasktokens.New(dynamodb.NewFromConfig(cfg), os.Getenv("TASK_TABLE")),
	})
	lambda.Start(func(ctx context.Context, in json.RawMessage) (batchjobs.StateOutput, error) {
		out, err := svc.Handle(ctx, in)
		return out, lambdaerr.Convert(err)
	})
}
