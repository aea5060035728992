package stack_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

func TestCdkNagAwsSolutions(t *testing.T) {
	s := synth(t)
	ann := assertions.Annotations_FromStack(s.stack)
	for _, kind := range []string{"error", "warning"} {
		var msgs []string
		find := ann.FindError
		if kind == "warning" {
			find = ann.FindWarning
		}
		for _, m := range *find(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))) {
			// Decoded through JSON: the Go struct's fields are marked
			// deprecated (the type moved packages upstream).
			var msg struct {
				ID    string `json:"id"`
				Entry struct {
					Data any `json:"data"`
				} `json:"entry"`
			}
			raw, err := json.Marshal(m)
			if err == nil {
				err = json.Unmarshal(raw, &msg)
			}
			if err != nil {
				t.Fatalf("decode annotation: %v", err)
			}
			msgs = append(msgs, msg.ID+": "+toString(msg.Entry.Data))
		}
		for _, m := range msgs {
			if kind == "error" {
				t.Errorf("unsuppressed cdk-nag error at %s", m)
			} else {
				t.Logf("cdk-nag warning at %s", m)
			}
		}
	}
}

func toString(v any) string {
	if s, ok := v.(*string); ok && s != nil {
		return *s
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// TestSuppressionsHaveReasons reads the cdk-nag suppressions recorded in the
// template metadata: each names a rule and says why, in a sentence.
func TestSuppressionsHaveReasons(t *testing.T) {
	s := synth(t)
	n := 0
	for id, r := range s.json["Resources"].(map[string]any) {
		meta, _ := r.(map[string]any)["Metadata"].(map[string]any)
		nag, _ := meta["cdk_nag"].(map[string]any)
		rules, _ := nag["rules_to_suppress"].([]any)
		for _, rule := range rules {
			m := rule.(map[string]any)
			n++
			reason, _ := m["reason"].(string)
			if m["id"] == nil || len(reason) < 40 {
				t.Errorf("%s: suppression %v has no meaningful reason", id, m)
			}
		}
	}
	if n == 0 {
		t.Error("no suppressions found in the template metadata: the walk is broken")
	}
}
