package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/bbo-dev/bbo/internal/config"
	"github.com/bbo-dev/bbo/internal/models"
	"github.com/bbo-dev/bbo/internal/validation"
	"github.com/bbo-dev/bbo/prompts"
)

// report is a configuration's kind, stages and problems.
type report struct {
	kind       config.Kind
	stageNames []string
	prefixes   []string
	problems   []validation.Problem
}

func (r *report) valid() bool {
	for _, p := range r.problems {
		if p.Severity == validation.SeverityError {
			return false
		}
	}
	return true
}

// print writes one line per problem, errors first.
func (r *report) print(w io.Writer, file string) {
	for _, sev := range []string{validation.SeverityError, validation.SeverityWarning} {
		for _, p := range r.problems {
			if p.Severity != sev {
				continue
			}
			where := "top level"
			if p.Stage >= 0 {
				where = fmt.Sprintf("stage %d", p.Stage)
				if p.StageName != "" {
					where += fmt.Sprintf(" (%s)", p.StageName)
				}
			}
			field := p.Field
			if field == "" {
				field = "-"
			}
			fmt.Fprintf(w, "%s: %s: %s, field %s: %s\n", file, sev, where, field, p.Message)
		}
	}
}

// validateConfig checks a job request or pipeline with the same code the
// validate task runs. The error is for input that is not a configuration
// at all.
func validateConfig(ctx context.Context, cfg []byte) (*report, error) {
	kind, err := config.DetectKind(cfg)
	if err != nil {
		return nil, err
	}
	r := &report{kind: kind}
	if kind == config.KindPipeline {
		out, err := validation.Handle(ctx, cfg)
		if err != nil {
			return nil, err
		}
		r.problems = out.Problems
		if p, err := config.DecodePipeline(bytes.NewReader(cfg)); err == nil {
			for i, s := range p.Stages {
				name := s.StageName
				if name == "" {
					name = fmt.Sprintf("stage%d", i)
				}
				r.stageNames = append(r.stageNames, name)
				r.prefixes = append(r.prefixes, s.JobNamePrefix)
			}
		}
		return r, nil
	}
	j, err := config.DecodeJobRequest(bytes.NewReader(cfg))
	if err != nil {
		r.addErr(err)
		return r, nil
	}
	warn, err := j.Validate(prompts.Default(), models.Catalogue{})
	r.add(validation.SeverityWarning, warn.Problems)
	if err != nil {
		r.addErr(err)
	}
	name := j.StageName
	if name == "" {
		name = j.JobNamePrefix
	}
	r.stageNames, r.prefixes = []string{name}, []string{j.JobNamePrefix}
	return r, nil
}

func (r *report) addErr(err error) {
	var (
		de *config.DecodeError
		ve *config.ValidationError
	)
	switch {
	case errors.As(err, &de):
		r.add(validation.SeverityError, de.Problems)
	case errors.As(err, &ve):
		r.add(validation.SeverityError, ve.Problems)
	default:
		r.add(validation.SeverityError, []config.Problem{{Stage: -1, Message: err.Error()}})
	}
}

func (r *report) add(sev string, ps []config.Problem) {
	for _, p := range ps {
		r.problems = append(r.problems, validation.Problem{Stage: p.Stage, StageName: p.StageName, Field: p.Field, Message: p.Message, Severity: sev})
	}
}

func cmdValidate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("validate", stderr)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "bbo validate: want exactly one configuration file (bbo validate <config.json>)")
		return exitUsage
	}
	cfg, err := readConfig(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "bbo validate:", err)
		return exitUsage
	}
	r, err := validateConfig(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stdout, "%s: error: %v\n", fs.Arg(0), err)
		return exitUsage
	}
	r.print(stdout, fs.Arg(0))
	nerr, nwarn := 0, 0
	for _, p := range r.problems {
		if p.Severity == validation.SeverityError {
			nerr++
		} else {
			nwarn++
		}
	}
	if nerr > 0 {
		fmt.Fprintf(stdout, "%s: INVALID %s: %d error(s), %d warning(s)\n", fs.Arg(0), r.kind, nerr, nwarn)
		return exitUsage
	}
	fmt.Fprintf(stdout, "%s: valid %s (%d stage(s)), %d warning(s)\n", fs.Arg(0), r.kind, len(r.stageNames), nwarn)
	return exitOK
}
