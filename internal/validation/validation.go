// Package validation is the validate task: it checks a pipeline
// configuration against the prompt library and model registry and reports
// every problem at once, so the state machine can stop before any work with
// all the messages a user needs.
package validation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/bbo-dev/bbo/internal/config"
	"github.com/bbo-dev/bbo/internal/models"
	"github.com/bbo-dev/bbo/prompts"
)

// Output is the validate task's result. Valid is false when the pipeline
// cannot run; Errors and Warnings are one line per problem, and Problems
// holds the same problems with their location.
type Output struct {
	Valid    bool      `json:"valid"`
	Errors   []string  `json:"errors"`
	Warnings []string  `json:"warnings"`
	Problems []Problem `json:"problems"`
}

// Problem is one error or warning with where it is.
type Problem struct {
	// Stage is the stage index, -1 for the top level.
	Stage int `json:"stage"`
	// StageName is the stage's name when it has one.
	StageName string `json:"stage_name"`
	// Field is the path of the field, "" for the whole object.
	Field string `json:"field"`
	// Message says what is wrong and what to do.
	Message string `json:"message"`
	// Severity is SeverityError or SeverityWarning.
	Severity string `json:"severity"`
}

// Severities of a Problem.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// Handle decodes raw strictly as a pipeline configuration and validates it
// against the default prompt library and the model registry. A bad
// configuration is a result (Valid false, every problem listed), not an
// error: the state machine routes on Valid. The error is non-nil only when
// ctx is done.
func Handle(ctx context.Context, raw json.RawMessage) (Output, error) {
	if err := ctx.Err(); err != nil {
		return Output{}, err
	}
	out := Output{Errors: []string{}, Warnings: []string{}, Problems: []Problem{}}
	p, err := config.DecodePipeline(bytes.NewReader(raw))
	if err != nil {
		out.addErr(err)
		return out, nil
	}
	warn, err := p.Validate(prompts.Default(), models.Catalogue{})
	out.add(SeverityWarning, warn.Problems)
	if err != nil {
		out.addErr(err)
	}
	out.Valid = len(out.Errors) == 0
	return out, nil
}

func (o *Output) addErr(err error) {
	var (
		de *config.DecodeError
		ve *config.ValidationError
	)
	switch {
	case errors.As(err, &de):
		o.add(SeverityError, de.Problems)
	case errors.As(err, &ve):
		o.add(SeverityError, ve.Problems)
	default:
		o.add(SeverityError, []config.Problem{{Stage: -1, Message: err.Error()}})
	}
}

func (o *Output) add(severity string, ps []config.Problem) {
	for _, p := range ps {
		o.Problems = append(o.Problems, Problem{Stage: p.Stage, StageName: p.StageName, Field: p.Field, Message: p.Message, Severity: severity})
		if severity == SeverityError {
			o.Errors = append(o.Errors, p.String())
		} else {
			o.Warnings = append(o.Warnings, p.String())
		}
	}
}
