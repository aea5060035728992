package config

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with (or worth noting about) a configuration.
type Problem struct {
	// Stage is the index of the stage the problem is in; -1 for the top
	// level of a pipeline and for job requests.
	Stage int
	// StageName is the stage's name when it has one.
	StageName string
	// Field is the path of the field within the stage (or the top level),
	// such as "prompt_config.mode"; "" when the problem is the whole object.
	Field string
	// Message says what is wrong and how to fix it.
	Message string
}

// String renders the problem as one line:
// `stages[1].prompt_config.mode (stage "extract"): message`.
func (p Problem) String() string {
	var b strings.Builder
	if p.Stage >= 0 {
		fmt.Fprintf(&b, "stages[%d]", p.Stage)
		if p.Field != "" {
			b.WriteByte('.')
		}
	}
	b.WriteString(p.Field)
	if p.StageName != "" {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "(stage %q)", p.StageName)
	}
	if b.Len() == 0 {
		return p.Message
	}
	return b.String() + ": " + p.Message
}

func joinProblems(ps []Problem) string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// ValidationError lists every problem that makes a configuration unusable.
type ValidationError struct {
	Problems []Problem
}

// Error returns one line per problem.
func (e *ValidationError) Error() string { return joinProblems(e.Problems) }

// DecodeError lists every unknown field, wrongly typed value and syntax
// error found while decoding a configuration.
type DecodeError struct {
	Problems []Problem
}

// Error returns one line per problem.
func (e *DecodeError) Error() string { return joinProblems(e.Problems) }

// Warnings are notes about a valid configuration: settings that are ignored
// or adjusted.
type Warnings struct {
	Problems []Problem
}

// String returns one line per warning.
func (w Warnings) String() string { return joinProblems(w.Problems) }

// Empty reports whether there are no warnings.
func (w Warnings) Empty() bool { return len(w.Problems) == 0 }

// suggest returns `; did you mean "x"?` (or a list) for the candidates
// closest to name by edit distance, or "" when none is close.
func suggest(name string, candidates []string) string {
	type cand struct {
		s string
		d int
	}
	limit := max(2, len(name)/3)
	var close []cand
	for _, c := range candidates {
		if c == name {
			continue
		}
		d := editDistance(strings.ToLower(name), strings.ToLower(c))
		if d <= limit || (len(name) >= 4 && (strings.Contains(c, name) || strings.Contains(name, c))) {
			close = append(close, cand{c, d})
		}
	}
	if len(close) == 0 {
		return ""
	}
	sort.SliceStable(close, func(i, j int) bool {
		if close[i].d != close[j].d {
			return close[i].d < close[j].d
		}
		return close[i].s < close[j].s
	})
	// Only the closest are worth naming: a near miss hides the far ones.
	n := 1
	for n < len(close) && n < 3 && close[n].d == close[0].d {
		n++
	}
	close = close[:n]
	quoted := make([]string, len(close))
	for i, c := range close {
		quoted[i] = fmt.Sprintf("%q", c.s)
	}
	if len(quoted) == 1 {
		return "; did you mean " + quoted[0] + "?"
	}
	return "; did you mean one of " + strings.Join(quoted, ", ") + "?"
}

// editDistance is the Levenshtein distance between a and b in bytes.
// Inputs are field names and ids, so bytes are good enough.
func editDistance(a, b string) int {
	if len(a) > 256 || len(b) > 256 {
		return max(len(a), len(b)) // not worth comparing: no suggestion
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
