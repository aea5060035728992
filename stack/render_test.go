package stack_test

import (
	"encoding/json"
	"fmt"
	"strings"
)

// render replaces CloudFormation intrinsics with strings so tests can match
// ARNs as text: {"Ref":"AWS::Partition"} → aws, {"Ref":"X"} → ${X},
// {"Fn::GetAtt":["X","Arn"]} → ${X.Arn}, Fn::Join joined.
func render(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 1 {
			for k, arg := range v {
				switch k {
				case "Ref":
					switch arg {
					case "AWS::Partition":
						return "aws"
					case "AWS::Region":
						return testRegion
					case "AWS::AccountId":
						return testAccount
					case "AWS::URLSuffix":
						return "amazonaws.com"
					}
					return fmt.Sprintf("${%v}", arg)
				case "Fn::GetAtt":
					parts, _ := arg.([]any)
					strs := make([]string, len(parts))
					for i, p := range parts {
						strs[i] = fmt.Sprint(p)
					}
					return "${" + strings.Join(strs, ".") + "}"
				case "Fn::Join":
					parts, _ := arg.([]any)
					if len(parts) == 2 {
						sep, _ := parts[0].(string)
						items, _ := parts[1].([]any)
						strs := make([]string, len(items))
						for i, it := range items {
							strs[i] = fmt.Sprint(render(it))
						}
						return strings.Join(strs, sep)
					}
				}
			}
		}
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = render(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = render(e)
		}
		return out
	}
	return v
}

// statement is one IAM policy statement of the rendered template, with
// where it came from.
type statement struct {
	resource string // logical id of the policy or role
	raw      map[string]any
}

func (s statement) strings(key string) []string {
	switch v := s.raw[key].(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

// statements returns every identity-policy statement: AWS::IAM::Policy
// documents and roles' inline policies (not trust policies).
func statements(tpl map[string]any) []statement {
	var out []statement
	res, _ := render(tpl["Resources"]).(map[string]any)
	add := func(id string, doc any) {
		d, _ := doc.(map[string]any)
		sts, _ := d["Statement"].([]any)
		for _, st := range sts {
			if m, ok := st.(map[string]any); ok {
				out = append(out, statement{resource: id, raw: m})
			}
		}
	}
	for id, r := range res {
		m, _ := r.(map[string]any)
		props, _ := m["Properties"].(map[string]any)
		switch m["Type"] {
		case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy":
			add(id, props["PolicyDocument"])
		case "AWS::IAM::Role":
			pols, _ := props["Policies"].([]any)
			for _, p := range pols {
				pm, _ := p.(map[string]any)
				add(id, pm["PolicyDocument"])
			}
		}
	}
	return out
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
