package stack_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// starOnlyActions are the actions AWS authorizes only on Resource "*", with
// why the stack needs them.
var starOnlyActions = map[string]string{
	"xray:PutTraceSegments":         "X-Ray tracing of the state machines (added by the CDK)",
	"xray:PutTelemetryRecords":      "X-Ray tracing of the state machines (added by the CDK)",
	"xray:GetSamplingRules":         "X-Ray tracing of the state machines (added by the CDK)",
	"xray:GetSamplingTargets":       "X-Ray tracing of the state machines (added by the CDK)",
	"logs:CreateLogDelivery":        "state machine logging through vended log delivery",
	"logs:GetLogDelivery":           "state machine logging through vended log delivery",
	"logs:UpdateLogDelivery":        "state machine logging through vended log delivery",
	"logs:DeleteLogDelivery":        "state machine logging through vended log delivery",
	"logs:ListLogDeliveries":        "state machine logging through vended log delivery",
	"logs:PutResourcePolicy":        "state machine logging through vended log delivery",
	"logs:DescribeResourcePolicies": "state machine logging through vended log delivery",
	"logs:DescribeLogGroups":        "state machine logging through vended log delivery",
}

func TestNoStarResources(t *testing.T) {
	s := synth(t)
	sts := statements(s.json)
	if len(sts) < 20 {
		t.Fatalf("found %d policy statements; the walk is broken", len(sts))
	}
	for _, st := range sts {
		if !slices.Contains(st.strings("Resource"), "*") {
			continue
		}
		for _, a := range st.strings("Action") {
			if _, ok := starOnlyActions[a]; !ok {
				t.Errorf("%s: action %s on Resource \"*\": scope it to ARNs (only %v may use \"*\")", st.resource, a, keys(starOnlyActions))
			}
		}
	}
	for _, st := range sts {
		for _, a := range st.strings("Action") {
			if strings.HasSuffix(a, ":*") || a == "*" {
				t.Errorf("%s: wildcard action %s", st.resource, a)
			}
		}
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// find returns the statements (of policies whose logical id starts with
// owner) that grant action.
func find(sts []statement, owner, action string) []statement {
	var out []statement
	for _, st := range sts {
		if strings.HasPrefix(st.resource, owner) && slices.Contains(st.strings("Action"), action) {
			out = append(out, st)
		}
	}
	return out
}

func TestGrants(t *testing.T) {
	s := synth(t)
	sts := statements(s.json)
	arn := func(service, rest string) string {
		return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, testRegion, testAccount, rest)
	}
	bucket := "${Bucket83908E77.Arn}"
	cases := []struct {
		name, owner, action string
		wantResources       []string // every one must be granted
		forbidResources     []string // none may be granted
		wantCondition       string   // substring of the rendered condition
	}{
		{"bedrock reads job inputs only", "BedrockBatchRole", "s3:GetObject", []string{bucket + "/batch_inputs_json/*"}, []string{bucket + "/*"}, ""},
		{"bedrock writes job outputs only", "BedrockBatchRole", "s3:PutObject", []string{bucket + "/batch_outputs_json/*"}, []string{bucket + "/*", bucket + "/batch_output_parquet/*"}, ""},
		{"bedrock invokes configured models", "BedrockBatchRole", "bedrock:InvokeModel", []string{
			"arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
			"arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-sonnet-20241022-v2:0",
			"arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0",
			arn("bedrock", "inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0"),
			"arn:aws:bedrock:*::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0",
		}, []string{"*"}, ""},
		{"preprocess reads inputs", "PreprocessRole", "s3:GetObject", []string{bucket + "/inputs/*", bucket + "/hf/*", bucket + "/batch_inputs_parquet/*"}, []string{bucket + "/*"}, ""},
		{"preprocess writes job inputs", "PreprocessRole", "s3:PutObject", []string{bucket + "/batch_inputs_json/*", bucket + "/batch_inputs_parquet/*", bucket + "/batch_errors/*", bucket + "/hf/*"}, []string{bucket + "/batch_output_parquet/*"}, ""},
		{"preprocess lists by prefix", "PreprocessRole", "s3:ListBucket", []string{bucket}, nil, `"s3:prefix"`},
		{"postprocess writes results", "PostprocessRole", "s3:PutObject", []string{bucket + "/batch_output_parquet/*"}, []string{bucket + "/batch_inputs_json/*"}, ""},
		{"transform writes next inputs", "TransformRole", "s3:PutObject", []string{bucket + "/batch_inputs_parquet/*"}, []string{bucket + "/batch_output_parquet/*"}, ""},
		{"notify reads what it links", "NotifyRole", "s3:GetObject", []string{bucket + "/batch_output_parquet/*"}, []string{bucket + "/inputs/*"}, ""},
		{"notify publishes", "NotifyRole", "sns:Publish", []string{"${Notifications"}, nil, ""},
		{"start-job submits jobs", "StartJobRole", "bedrock:CreateModelInvocationJob", []string{arn("bedrock", "model-invocation-job/*"),
			"arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"}, []string{"*"}, ""},
		{"start-job tags jobs", "StartJobRole", "bedrock:TagResource", []string{arn("bedrock", "model-invocation-job/*")}, []string{"*"}, ""},
		{"start-job passes the bedrock role", "StartJobRole", "iam:PassRole", []string{"${BedrockBatchRole468B3A82.Arn}"}, []string{"*"}, `"iam:PassedToService":"bedrock.amazonaws.com"`},
		{"start-job stores tokens", "StartJobRole", "dynamodb:PutItem", []string{"${TaskTable"}, nil, ""},
		{"job-state answers tokens", "JobStateRole", "states:SendTaskSuccess", []string{arn("states", "stateMachine:BboStack-batch-orchestrator")}, []string{"*"}, ""},
		{"job-state heartbeats", "JobStateRole", "states:SendTaskHeartbeat", []string{arn("states", "stateMachine:BboStack-batch-orchestrator")}, nil, ""},
		{"job-state reads jobs", "JobStateRole", "bedrock:GetModelInvocationJob", []string{arn("bedrock", "model-invocation-job/*")}, []string{"*"}, ""},
		{"job-state scans tokens", "JobStateRole", "dynamodb:Scan", []string{"${TaskTable"}, nil, ""},
		{"pipeline starts stages", "PipelineRole", "states:StartExecution", []string{arn("states", "stateMachine:BboStack-batch-orchestrator")}, []string{"*"}, ""},
		{"pipeline follows stages", "PipelineRole", "states:DescribeExecution", []string{arn("states", "execution:BboStack-batch-orchestrator:*")}, []string{"*"}, ""},
		{"pipeline manages the sync rule", "PipelineRole", "events:PutRule", []string{arn("events", "rule/StepFunctionsGetEventsForStepFunctionsExecutionRule")}, []string{"*"}, ""},
		{"single-stage invokes its tasks", "SingleStageRole", "lambda:InvokeFunction", []string{"${Preprocess", "${StartJob", "${Postprocess"}, []string{"*"}, ""},
		{"pipeline invokes its tasks", "PipelineRole", "lambda:InvokeFunction", []string{"${Validate", "${Transform", "${Notify"}, []string{"*"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := find(sts, tc.owner, tc.action)
			if len(got) == 0 {
				t.Fatalf("no statement of %s* grants %s", tc.owner, tc.action)
			}
			var resources []string
			var conds []string
			for _, st := range got {
				resources = append(resources, st.strings("Resource")...)
				conds = append(conds, compact(st.raw["Condition"]))
			}
			for _, w := range tc.wantResources {
				if !slices.ContainsFunc(resources, func(r string) bool { return r == w || strings.HasPrefix(r, w) && strings.HasPrefix(w, "${") }) {
					t.Errorf("%s not granted on %s; granted on %v", tc.action, w, resources)
				}
			}
			for _, f := range tc.forbidResources {
				if slices.Contains(resources, f) {
					t.Errorf("%s granted on %s: too broad", tc.action, f)
				}
			}
			if tc.wantCondition != "" && !slices.ContainsFunc(conds, func(c string) bool { return strings.Contains(c, tc.wantCondition) }) {
				t.Errorf("%s: no condition containing %s in %v", tc.action, tc.wantCondition, conds)
			}
		})
	}
}

var spaces = regexp.MustCompile(`\s+`)

func compact(v any) string {
	if v == nil {
		return ""
	}
	b, _ := jsonMarshal(v)
	return spaces.ReplaceAllString(string(b), "")
}

func TestBedrockTrust(t *testing.T) {
	s := synth(t)
	res := render(s.json["Resources"]).(map[string]any)
	var trust string
	for id, r := range res {
		if strings.HasPrefix(id, "BedrockBatchRole") && r.(map[string]any)["Type"] == "AWS::IAM::Role" {
			trust = compact(r.(map[string]any)["Properties"].(map[string]any)["AssumeRolePolicyDocument"])
		}
	}
	for _, want := range []string{
		`"Service":"bedrock.amazonaws.com"`,
		`"aws:SourceAccount":"` + testAccount + `"`,
		`"aws:SourceArn":"arn:aws:bedrock:` + testRegion + `:` + testAccount + `:model-invocation-job/*"`,
	} {
		if !strings.Contains(trust, want) {
			t.Errorf("bedrock role trust policy lacks %s: %s", want, trust)
		}
	}
}

func TestTopicKey(t *testing.T) {
	s := synth(t)
	for id, r := range resourcesOfType(s.json, "AWS::SNS::Topic") {
		key := fmt.Sprint(render(r["Properties"].(map[string]any)["KmsMasterKeyId"]))
		if !strings.HasSuffix(key, "alias/aws/sns") {
			t.Errorf("topic %s KmsMasterKeyId %s, want the AWS managed alias/aws/sns", id, key)
		}
	}
}

// TestNoTokenSecretByDefault: without hfTokenSecretName no Lambda learns of
// a secret and no role may read one (TestNonDefaultProps covers the grant).
func TestNoTokenSecretByDefault(t *testing.T) {
	s := synth(t)
	for _, st := range statements(s.json) {
		for _, a := range st.strings("Action") {
			if strings.HasPrefix(a, "secretsmanager:") {
				t.Errorf("%s grants %s without hfTokenSecretName", st.resource, a)
			}
		}
	}
	raw, err := jsonMarshal(s.json)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"HF_TOKEN_SECRET_ARN", "HF_TOKEN\"", "secretsmanager"} {
		if strings.Contains(string(raw), bad) {
			t.Errorf("default template mentions %s", bad)
		}
	}
}
