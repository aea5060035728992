package batchio

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
)

// MaxJobNameLen is the longest batch inference job name Bedrock accepts.
const MaxJobNameLen = 63

// jobNamePattern is CreateModelInvocationJob's jobName pattern.
var jobNamePattern = regexp.MustCompile(`^[a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9\+\-\.]){0,63}$`)

// IndexName formats a job index as the four-digit name used in S3 keys and
// job names: 0 → "0000" (more digits past 9999).
func IndexName(i int) string { return fmt.Sprintf("%04d", i) }

// JobName builds a deterministic Bedrock job name
// "<prefix>-part-<NNNN>-<run6>": prefix sanitized (characters other than
// letters, digits and '-' become '-', runs of '-' collapse, leading and
// trailing '-' go; "job" if nothing is left) and cut so the name fits 63
// characters; run6 is six hex digits of the SHA-256 of runID (the
// execution name), omitted if runID has no letter or digit. Hashing the
// whole run id keeps names of different executions apart even when their
// names share a prefix (nested stage executions do), so a rerun never
// reuses an earlier run's job through the idempotency token. The result
// matches Bedrock's jobName pattern.
func JobName(prefix string, index int, runID string) string {
	run := ""
	if strings.IndexFunc(runID, func(r rune) bool { return r < 128 && isAlnum(byte(r)) }) >= 0 {
		h := sha256.Sum256([]byte(runID))
		run = hex.EncodeToString(h[:3])
	}
	suffix := "-part-" + IndexName(index)
	if run != "" {
		suffix += "-" + run
	}
	p := sanitizePrefix(prefix)
	if max := MaxJobNameLen - len(suffix); len(p) > max {
		p = strings.TrimRight(p[:max], "-")
	}
	if p == "" {
		p = "job"
	}
	return p + suffix
}

func sanitizePrefix(s string) string {
	var b strings.Builder
	dash := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlnum(c) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteByte(c)
		} else {
			dash = true
		}
	}
	return b.String()
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// CheckJobName reports whether Bedrock accepts name as a batch inference
// job name, with an error saying what is wrong.
func CheckJobName(name string) error {
	if len(name) == 0 || len(name) > MaxJobNameLen {
		return fmt.Errorf("job name %q is %d characters: Bedrock accepts 1 to %d", name, len(name), MaxJobNameLen)
	}
	if !jobNamePattern.MatchString(name) {
		return fmt.Errorf("job name %q: Bedrock accepts letters, digits and - + . (starting with a letter or digit)", name)
	}
	return nil
}
