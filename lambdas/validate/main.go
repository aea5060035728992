// Command validate is the Lambda that checks a pipeline configuration before
// any work starts (see internal/validation). A bad configuration is a result
// ({"valid": false, ...}) the state machine routes on, not a Lambda error.
package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/bbo-dev/bbo/internal/lambdaerr"
	"github.com/bbo-dev/bbo/internal/validation"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: logLevel()}))
	slog.SetDefault(log)
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

func logLevel() slog.Level {
	var l slog.Level
	if l.UnmarshalText([]byte(os.Getenv("LOG_LEVEL"))) != nil {
		return slog.LevelInfo
	}
	return l
}
