// Command validate is the Lambda that checks a pipeline configuration before
// any work starts (see internal/validation). A bad configuration is a result
// ({"valid": false, ...}) the state machine routes on, not a Lambda error.
package main

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/bbo-dev/bbo/internal/lambdaerr"
	"github.com/bbo-dev/bbo/internal/lambdalog"
	"github.com/bbo-dev/bbo/internal/validation"
)

func main() {
	log := lambdalog.New()
	lambda.Start(func(ctx context.Context, raw json.RawMessage) (validation.Output, error) {
		out, err := validation.Handle(ctx, raw)
		if err != nil {
			log.Error("validate failed", slog.String("error", err.Error()))
			return out, lambdaerr.Convert(err)
		}
		log.Info("validated", slog.Bool("valid", out.Valid), slog.Int("errors", len(out.Errors)), slog.Int("warnings", len(out.Warnings)))
		return out, nil
	})
}
