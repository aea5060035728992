// Command start-job is the Lambda that creates a Bedrock batch inference
// job for a waiting Step Functions task and stores the task token.
package main

import (
	"context"
	"log/slog"
	"os"
	"strconv"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/bbo-dev/bbo/internal/awsenv"
	"github.com/bbo-dev/bbo/internal/batchjobs"
	"github.com/bbo-dev/bbo/internal/lambdaerr"
	"github.com/bbo-dev/bbo/internal/lambdalog"
	"github.com/bbo-dev/bbo/internal/taskerr"
	"github.com/bbo-dev/bbo/internal/tasktokens"
)

func main() {
	lambdalog.New()
	ctx := context.Background()
	cfg, err := awsenv.Load(ctx)
	if err != nil {
		slog.Error("start-job cold start", slog.String("error", err.Error()))
		os.Exit(1)
	}
	hours, herr := timeoutHours(os.Getenv("JOB_TIMEOUT_HOURS"))
	svc := batchjobs.New(batchjobs.Config{
		Bedrock:      bedrock.NewFromConfig(cfg),
		Store:        tasktokens.New(dynamodb.NewFromConfig(cfg), os.Getenv("TASK_TABLE")),
		RoleARN:      os.Getenv("BEDROCK_ROLE_ARN"),
		TimeoutHours: hours,
	})
	lambda.Start(func(ctx context.Context, in batchjobs.StartInput) (batchjobs.StartOutput, error) {
		if herr != nil {
			return batchjobs.StartOutput{}, lambdaerr.Convert(herr)
		}
		if os.Getenv("TASK_TABLE") == "" {
			return batchjobs.StartOutput{}, lambdaerr.Convert(taskerr.New(taskerr.InvalidConfig, "TASK_TABLE is not set"))
		}
		out, err := svc.StartJob(ctx, in)
		return out, lambdaerr.Convert(err)
	})
}

// timeoutHours parses JOB_TIMEOUT_HOURS: empty or ≤ 0 means Bedrock's
// default.
func timeoutHours(s string) (int, error) {
	if s == "" {
		return -1, nil
	}
	h, err := strconv.Atoi(s)
	if err != nil {
		return -1, taskerr.New(taskerr.InvalidConfig, "JOB_TIMEOUT_HOURS=%q is not a whole number of hours (24 to 168, or -1 for Bedrock's default)", s)
	}
	return h, batchjobs.CheckTimeoutHours(h)
}
