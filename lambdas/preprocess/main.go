// Command preprocess is the Lambda that turns a job request into Bedrock
// batch job files (see internal/preprocess).
//
// Environment: BUCKET_NAME (required), HF_ENDPOINT (default
// https://huggingface.co), HF_TOKEN (optional, never logged),
// HF_TOKEN_SECRET_ARN (optional: a Secrets Manager secret read once at cold
// start for the token when HF_TOKEN is not set; see
// hfdataset.TokenFromSecret for its shape),
// MAX_RECORDS_PER_JOB (default job size), BBO_MIN_RECORDS_PER_JOB (lowers
// Bedrock's 100-record minimum; for local emulators only), LOG_LEVEL.
package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/bbo-dev/bbo/internal/awsenv"
	"github.com/bbo-dev/bbo/internal/hfdataset"
	"github.com/bbo-dev/bbo/internal/lambdaerr"
	"github.com/bbo-dev/bbo/internal/lambdalog"
	"github.com/bbo-dev/bbo/internal/preprocess"
	"github.com/bbo-dev/bbo/internal/taskerr"
)

func main() {
	log := lambdalog.New()

	ctx := context.Background()
	cfg, err := awsenv.Load(ctx)
	if err != nil {
		log.Error("start", slog.String("error", err.Error()))
		os.Exit(1)
	}
	// The token is read once here, not per invocation: a rotated secret
	// reaches new execution environments only.
	getenv, err := hfdataset.WithSecretToken(ctx, secretsmanager.NewFromConfig(cfg), os.Getenv)
	if err != nil {
		log.Error("start", slog.String("error", err.Error()))
		os.Exit(1)
	}
	h, err := preprocess.FromEnv(awsenv.S3(cfg), getenv, log)
	if err != nil {
		log.Error("start", slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(func(ctx context.Context, raw json.RawMessage) (preprocess.Output, error) {
		// Decoding here, not in the runtime, keeps the error's taskerr name.
		var in preprocess.Input
		if err := json.Unmarshal(raw, &in); err != nil {
			return preprocess.Output{}, lambdaerr.Convert(taskerr.Wrap(taskerr.InvalidConfig, err))
		}
		out, err := h.Handle(ctx, in)
		if err != nil {
			log.Error("preprocess failed", slog.String("error", err.Error()))
			return preprocess.Output{}, lambdaerr.Convert(err)
		}
		return out, nil
	})
}
