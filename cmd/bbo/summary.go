package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/bbo-dev/bbo/internal/asl"
	"github.com/bbo-dev/bbo/internal/localrun"
	"github.com/bbo-dev/bbo/internal/records"
	"github.com/bbo-dev/bbo/internal/s3io"
)

// printSummary writes the per-stage table and where the outputs are.
func printSummary(w io.Writer, env *localrun.Env, stages []stageStats, res asl.Result, elapsed time.Duration, backendLabel string) {
	fmt.Fprintf(w, "%s in %s — %s\n\n", res.Status, elapsed.Round(time.Millisecond), backendLabel)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tRECORDS\tREQUESTS\tFAILED RECORDS\tJOBS\tROWS OK\tROWS FAILED\tINPUT TOKENS\tOUTPUT TOKENS\tSTATE")
	for _, s := range stages {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d/%d\t%d\t%d\t%d\t%d\t%s\n", cell(s.name, 40), s.recordsRead, s.requests,
			s.failedRecords, s.done, s.jobs, s.rowsOK, s.rowsFailed, s.inputTokens, s.outputTokens, s.state)
	}
	_ = tw.Flush()
	for _, s := range stages {
		if len(s.outputPaths) == 0 && s.errorsURI == "" {
			continue
		}
		fmt.Fprintf(w, "\n%s output:\n", s.name)
		for _, p := range s.outputPaths {
			fmt.Fprintf(w, "  %s\n    %s\n", p, localPath(env, p))
		}
		if s.errorsURI != "" {
			fmt.Fprintf(w, "  records that could not become requests: %s\n    %s\n", s.errorsURI, localPath(env, s.errorsURI))
		}
	}
}

// localPath is where an object of the local S3 is on disk.
func localPath(env *localrun.Env, uri string) string {
	u, err := s3io.ParseURI(uri)
	if err != nil {
		return "(not an S3 URI)"
	}
	return env.ObjectPath(u.Bucket, u.Key)
}

// Column choice for the result preview.
var (
	// clothingColumns are the clothing pipeline's useful columns, in order.
	clothingColumns = []string{"file_name", "category", "color", "material", "style", "title", "description"}
	// internalColumns are bookkeeping columns not worth a preview's width.
	internalColumns = []string{"request_id", "prompt_id", "image_path", "metadata_prompt_id", "record_source", "confidence", "keywords", "metadata", "input_tokens", "output_tokens"}
)

// previewColumns orders a result's columns: the clothing listing's when
// present, else record_id, input columns, extracted fields, response,
// error.
func previewColumns(h *records.Header) []string {
	names := h.Names()
	has := func(c string) bool { return slices.Contains(names, c) }
	var cols []string
	n := 0
	for _, c := range clothingColumns {
		if has(c) {
			n++
		}
	}
	if n >= 4 {
		for _, c := range clothingColumns {
			if has(c) {
				cols = append(cols, c)
			}
		}
		if has("error") {
			cols = append(cols, "error")
		}
		return cols
	}
	if has(records.IDColumn) {
		cols = append(cols, records.IDColumn)
	}
	for _, c := range names {
		if c == records.IDColumn || c == "response" || c == "error" || slices.Contains(internalColumns, c) {
			continue
		}
		cols = append(cols, c)
	}
	const maxCols = 8
	if len(cols) > maxCols {
		cols = cols[:maxCols]
	}
	for _, c := range []string{"response", "error"} {
		if has(c) {
			cols = append(cols, c)
		}
	}
	return cols
}

// printRows prints the first n rows of the output files as a table.
func printRows(ctx context.Context, w io.Writer, env *localrun.Env, stage string, paths []string, n int) error {
	if len(paths) == 0 {
		fmt.Fprintf(w, "\n%s wrote no output files: nothing to show\n", stage)
		return nil
	}
	var (
		cols []string
		rows [][]string
	)
	errCol := -1
	for _, p := range paths {
		if len(rows) >= n {
			break
		}
		u, err := s3io.ParseURI(p)
		if err != nil {
			return err
		}
		ra, err := s3io.NewReaderAt(ctx, env.S3(), u)
		if err != nil {
			return err
		}
		for rec, err := range records.ReadParquet(ra, ra.Size(), p, records.ReadOptions{}) {
			if err != nil {
				return fmt.Errorf("read %s: %w", p, err)
			}
			if cols == nil {
				cols = previewColumns(rec.Header)
				errCol = slices.Index(cols, "error")
			}
			row := make([]string, len(cols))
			for i, c := range cols {
				v, _ := rec.Get(c)
				width := 32
				switch c {
				case "response", "description", "error":
					width = 60
				case "title":
					width = 40
				}
				row[i] = cell(v, width)
			}
			rows = append(rows, row)
			if len(rows) >= n {
				break
			}
		}
	}
	// An error column with nothing in it is noise.
	if errCol >= 0 && !slices.ContainsFunc(rows, func(r []string) bool { return r[errCol] != "" }) {
		cols = slices.Delete(cols, errCol, errCol+1)
		for i := range rows {
			rows[i] = slices.Delete(rows[i], errCol, errCol+1)
		}
	}
	fmt.Fprintf(w, "\n%s: first %d row(s)\n", stage, len(rows))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(cols, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// cell makes a value fit one table cell: one line, no tabs, at most
// width runes.
func cell(v string, width int) string {
	v = strings.Map(func(r rune) rune {
		switch r {
		case '\n', '\r', '\t', '\v', '\f':
			return ' '
		}
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, v)
	v = strings.Join(strings.Fields(v), " ")
	if utf8.RuneCountInString(v) <= width {
		return v
	}
	r := []rune(v)
	return string(r[:width-1]) + "…"
}
