package stack

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Context keys read from cdk.json or `cdk -c key=value`.
const (
	CtxMaxJobs            = "maxSubmittedAndInProgressJobs"
	CtxJobTimeoutHours    = "bedrockBatchInferenceTimeoutHours"
	CtxJobTimeoutMargin   = "jobTimeoutMarginHours"
	CtxNotificationEmails = "notificationEmails"
	CtxBedrockModelIDs    = "bedrockModelIds"
	CtxInputPrefixes      = "inputPrefixes"
	CtxIntermediateDays   = "intermediateExpirationDays"
	CtxLogRetentionDays   = "logRetentionDays"
	CtxDestroyData        = "destroyData"
	CtxMaxRecordsPerJob   = "maxRecordsPerJob"
	CtxHFEndpoint         = "hfEndpoint"
	CtxHFTokenSecretName  = "hfTokenSecretName"
	CtxLogLevel           = "logLevel"
	CtxStackName          = "stackName"
)

// PropsFromContext reads the stack settings through get (the CDK app's
// Node().TryGetContext). Values come as JSON types from cdk.json and as
// strings from the command line; both are accepted. Absent keys keep the
// defaults.
func PropsFromContext(get func(key string) any) (Props, error) {
	var p Props
	var errs []string
	ints := []struct {
		key string
		dst *int
	}{
		{CtxMaxJobs, &p.MaxConcurrentJobs},
		{CtxJobTimeoutHours, &p.JobTimeoutHours},
		{CtxJobTimeoutMargin, &p.JobTimeoutMarginHours},
		{CtxIntermediateDays, &p.IntermediateExpirationDays},
		{CtxLogRetentionDays, &p.LogRetentionDays},
		{CtxMaxRecordsPerJob, &p.MaxRecordsPerJob},
	}
	for _, f := range ints {
		if err := ctxInt(get(f.key), f.dst); err != nil {
			errs = append(errs, fmt.Sprintf("context %s: %v", f.key, err))
		}
	}
	lists := []struct {
		key string
		dst *[]string
	}{
		{CtxNotificationEmails, &p.NotificationEmails},
		{CtxBedrockModelIDs, &p.BedrockModelIDs},
		{CtxInputPrefixes, &p.InputPrefixes},
	}
	for _, f := range lists {
		if err := ctxStrings(get(f.key), f.dst); err != nil {
			errs = append(errs, fmt.Sprintf("context %s: %v", f.key, err))
		}
	}
	for i, prefix := range p.InputPrefixes {
		if prefix == "" || strings.HasPrefix(prefix, "/") {
			errs = append(errs, fmt.Sprintf("context %s[%d] %q: must be a non-empty key prefix such as \"inputs/\"", CtxInputPrefixes, i, prefix))
		} else if !strings.HasSuffix(prefix, "/") {
			p.InputPrefixes[i] = prefix + "/"
		}
	}
	if err := ctxBool(get(CtxDestroyData), &p.DestroyData); err != nil {
		errs = append(errs, fmt.Sprintf("context %s: %v", CtxDestroyData, err))
	}
	strs := []struct {
		key string
		dst *string
	}{{CtxHFEndpoint, &p.HFEndpoint}, {CtxHFTokenSecretName, &p.HFTokenSecretName}, {CtxLogLevel, &p.LogLevel}}
	for _, f := range strs {
		switch v := get(f.key).(type) {
		case nil:
		case string:
			*f.dst = v
		default:
			errs = append(errs, fmt.Sprintf("context %s: %v is not a string", f.key, v))
		}
	}
	if err := checkSecretName(p.HFTokenSecretName); err != nil {
		errs = append(errs, fmt.Sprintf("context %s %q: %v", CtxHFTokenSecretName, p.HFTokenSecretName, err))
	}
	if p.MaxConcurrentJobs < 0 {
		errs = append(errs, fmt.Sprintf("context %s: %d must be at least 1", CtxMaxJobs, p.MaxConcurrentJobs))
	}
	if p.JobTimeoutHours > 168 {
		errs = append(errs, fmt.Sprintf("context %s: %d exceeds Bedrock's maximum of 168 hours", CtxJobTimeoutHours, p.JobTimeoutHours))
	}
	if len(errs) > 0 {
		return Props{}, fmt.Errorf("bad cdk context (fix cdk.json or the -c flags): %s", strings.Join(errs, "; "))
	}
	return p, nil
}

func ctxInt(v any, dst *int) error {
	switch v := v.(type) {
	case nil:
		return nil
	case float64:
		if v != float64(int(v)) {
			return fmt.Errorf("%v is not a whole number", v)
		}
		*dst = int(v)
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("%q is not a whole number", v)
		}
		*dst = n
	default:
		return fmt.Errorf("%v (%T) is not a number", v, v)
	}
	return nil
}

func ctxBool(v any, dst *bool) error {
	switch v := v.(type) {
	case nil:
		return nil
	case bool:
		*dst = v
	case string:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		*dst = b
	default:
		return fmt.Errorf("%v (%T) is not a boolean", v, v)
	}
	return nil
}

// ctxStrings accepts a JSON array of strings, or a string holding a JSON
// array or a comma-separated list (the -c form).
func ctxStrings(v any, dst *[]string) error {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		out := make([]string, 0, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return fmt.Errorf("element %d (%v) is not a string", i, e)
			}
			out = append(out, s)
		}
		*dst = out
	case string:
		v = strings.TrimSpace(v)
		if strings.HasPrefix(v, "[") {
			var out []string
			if err := json.Unmarshal([]byte(v), &out); err != nil {
				return fmt.Errorf("%q is not a JSON array of strings: %v", v, err)
			}
			*dst = out
			return nil
		}
		var out []string
		for s := range strings.SplitSeq(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		*dst = out
	default:
		return fmt.Errorf("%v (%T) is not a list of strings", v, v)
	}
	return nil
}

// checkSecretName accepts "" (no secret) or a Secrets Manager secret name:
// at most 512 of the characters A-Z a-z 0-9 / _ + = . @ -.
func checkSecretName(name string) error {
	if name == "" {
		return nil
	}
	if strings.HasPrefix(name, "arn:") {
		return fmt.Errorf("give the secret's name, not its ARN (the stack builds the ARN in its own account and region)")
	}
	if len(name) > 512 {
		return fmt.Errorf("%d characters: a secret name has at most 512", len(name))
	}
	for _, c := range name {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.ContainsRune("/_+=.@-", c):
		default:
			return fmt.Errorf("%q is not allowed in a secret name (only letters, digits and / _ + = . @ -)", c)
		}
	}
	return nil
}
