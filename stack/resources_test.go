package stack_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/bbo-dev/bbo/stack"
	"github.com/bbo-dev/bbo/stack/statemachines"
)

// check runs an assertions call, turning its jsii panic into a test error.
func check(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	f()
}

func arrayWith(vs ...any) assertions.Matcher { return assertions.Match_ArrayWith(&vs) }

func objectLike(m map[string]any) assertions.Matcher { return assertions.Match_ObjectLike(&m) }

func TestResources(t *testing.T) {
	s := synth(t)
	tpl := s.template
	counts := map[string]float64{
		"AWS::S3::Bucket":                  2, // data + access logs
		"AWS::DynamoDB::Table":             1,
		"AWS::Lambda::Function":            7,
		"AWS::StepFunctions::StateMachine": 2,
		"AWS::Events::Rule":                2,
		"AWS::SNS::Topic":                  1,
		"AWS::SNS::Subscription":           1,
		"AWS::Logs::LogGroup":              9, // 7 Lambdas + 2 state machines
	}
	for typ, n := range counts {
		t.Run("count "+typ, func(t *testing.T) {
			check(t, typ, func() { tpl.ResourceCountIs(jsii.String(typ), jsii.Number(n)) })
		})
	}

	cases := []struct {
		name  string
		typ   string
		props map[string]any
	}{
		{"bucket", "AWS::S3::Bucket", map[string]any{
			"BucketName": "batch-inference-bucket-" + testAccount,
			"PublicAccessBlockConfiguration": map[string]any{
				"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true,
			},
			"BucketEncryption": map[string]any{"ServerSideEncryptionConfiguration": arrayWith(objectLike(map[string]any{
				"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"},
			}))},
			"LoggingConfiguration": objectLike(map[string]any{"LogFilePrefix": "data-bucket/"}),
			"LifecycleConfiguration": map[string]any{"Rules": arrayWith(
				objectLike(map[string]any{"AbortIncompleteMultipartUpload": map[string]any{"DaysAfterInitiation": 7}}),
				objectLike(map[string]any{"Prefix": "batch_inputs_json/", "ExpirationInDays": 30, "Status": "Enabled"}),
				objectLike(map[string]any{"Prefix": "batch_outputs_json/", "ExpirationInDays": 30, "Status": "Enabled"}),
				objectLike(map[string]any{"Prefix": "batch_inputs_parquet/", "ExpirationInDays": 30, "Status": "Enabled"}),
				objectLike(map[string]any{"Prefix": "hf/", "ExpirationInDays": 30, "Status": "Enabled"}),
			)},
		}},
		{"bucket enforces TLS", "AWS::S3::BucketPolicy", map[string]any{
			"PolicyDocument": objectLike(map[string]any{"Statement": arrayWith(objectLike(map[string]any{
				"Effect": "Deny", "Action": "s3:*",
				"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
			}))}),
		}},
		{"task table", "AWS::DynamoDB::Table", map[string]any{
			"KeySchema":                        []any{map[string]any{"AttributeName": "job_arn", "KeyType": "HASH"}},
			"BillingMode":                      "PAY_PER_REQUEST",
			"TimeToLiveSpecification":          map[string]any{"AttributeName": "expires_at", "Enabled": true},
			"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
		}},
		{"bedrock job events", "AWS::Events::Rule", map[string]any{
			"EventPattern": map[string]any{"source": []any{"aws.bedrock"}, "detail-type": []any{"Batch Inference Job State Change"}},
			"State":        "ENABLED",
		}},
		{"poll schedule", "AWS::Events::Rule", map[string]any{
			"ScheduleExpression": "rate(5 minutes)",
			"Targets":            arrayWith(objectLike(map[string]any{"Input": `{"poll":true}`})),
		}},
		{"topic", "AWS::SNS::Topic", map[string]any{
			"DisplayName": "Bedrock Batch Pipeline Notifications",
		}},
		{"topic enforces TLS", "AWS::SNS::TopicPolicy", map[string]any{
			"PolicyDocument": objectLike(map[string]any{"Statement": arrayWith(objectLike(map[string]any{
				"Effect": "Deny", "Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
			}))}),
		}},
		{"email subscription", "AWS::SNS::Subscription", map[string]any{"Protocol": "email", "Endpoint": "ops@example.com"}},
		{"single-stage machine", "AWS::StepFunctions::StateMachine", map[string]any{
			"StateMachineName":     "BboStack-batch-orchestrator",
			"TracingConfiguration": map[string]any{"Enabled": true},
			"LoggingConfiguration": objectLike(map[string]any{"Level": "ERROR", "IncludeExecutionData": true}),
			"DefinitionSubstitutions": map[string]any{
				statemachines.PreprocessFunctionArn:  assertions.Match_AnyValue(),
				statemachines.StartJobFunctionArn:    assertions.Match_AnyValue(),
				statemachines.PostprocessFunctionArn: assertions.Match_AnyValue(),
			},
		}},
		{"pipeline machine", "AWS::StepFunctions::StateMachine", map[string]any{
			"StateMachineName":     "BboStack-pipeline-orchestrator",
			"TracingConfiguration": map[string]any{"Enabled": true},
			"LoggingConfiguration": objectLike(map[string]any{"Level": "ERROR"}),
			"DefinitionSubstitutions": map[string]any{
				statemachines.ValidateFunctionArn:        assertions.Match_AnyValue(),
				statemachines.TransformFunctionArn:       assertions.Match_AnyValue(),
				statemachines.NotifyFunctionArn:          assertions.Match_AnyValue(),
				statemachines.SingleStageStateMachineArn: assertions.Match_AnyValue(),
			},
		}},
		{"start-job may pass the bedrock role", "AWS::IAM::Policy", map[string]any{
			"PolicyDocument": objectLike(map[string]any{"Statement": arrayWith(objectLike(map[string]any{
				"Action":    "iam:PassRole",
				"Condition": map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "bedrock.amazonaws.com"}},
			}))}),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			check(t, tc.name, func() { tpl.HasResourceProperties(jsii.String(tc.typ), tc.props) })
		})
	}

	for _, out := range []string{"bucketName", "stepFunctionName", "pipelineStepFunctionName"} {
		t.Run("output "+out, func(t *testing.T) {
			check(t, out, func() { tpl.HasOutput(jsii.String(out), &map[string]any{"Value": assertions.Match_AnyValue()}) })
		})
	}
}

func TestRetainedByDefault(t *testing.T) {
	s := synth(t)
	for id, r := range resourcesOfType(s.json, "AWS::S3::Bucket") {
		if r["DeletionPolicy"] != "Retain" || r["UpdateReplacePolicy"] != "Retain" {
			t.Errorf("bucket %s: DeletionPolicy %v, UpdateReplacePolicy %v; want Retain (destroyData=false)", id, r["DeletionPolicy"], r["UpdateReplacePolicy"])
		}
	}
}

func resourcesOfType(tpl map[string]any, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	res, _ := tpl["Resources"].(map[string]any)
	for id, r := range res {
		m, _ := r.(map[string]any)
		if m["Type"] == typ {
			out[id] = m
		}
	}
	return out
}

// lambdaByDescription finds the function whose description names it: the
// logical ids carry hashes.
func TestLambdas(t *testing.T) {
	s := synth(t)
	fns := resourcesOfType(s.json, "AWS::Lambda::Function")
	want := []struct {
		name             string
		memory, timeout  float64
		ephemeral        float64
		env              []string
		descriptionStart string
	}{
		{stack.Preprocess, 1024, 900, 512, []string{"BUCKET_NAME", "HF_ENDPOINT", "LOG_LEVEL"}, "Reads a dataset"},
		{stack.StartJob, 256, 60, 512, []string{"BUCKET_NAME", "TASK_TABLE", "BEDROCK_ROLE_ARN", "JOB_TIMEOUT_HOURS", "LOG_LEVEL"}, "Submits one Bedrock"},
		{stack.JobState, 256, 60, 512, []string{"BUCKET_NAME", "TASK_TABLE", "LOG_LEVEL"}, "Turns Bedrock job state"},
		{stack.Postprocess, 1024, 900, 512, []string{"BUCKET_NAME", "LOG_LEVEL"}, "Joins a job's"},
		{stack.Transform, 1024, 900, 512, []string{"BUCKET_NAME", "LOG_LEVEL"}, "Builds a stage's"},
		{stack.Validate, 256, 30, 512, []string{"BUCKET_NAME", "LOG_LEVEL"}, "Validates a pipeline"},
		{stack.Notify, 256, 30, 512, []string{"BUCKET_NAME", "SNS_TOPIC_ARN", "LOG_LEVEL"}, "Publishes the pipeline"},
	}
	for _, w := range want {
		t.Run(w.name, func(t *testing.T) {
			var props map[string]any
			for _, f := range fns {
				p := f["Properties"].(map[string]any)
				if d, _ := p["Description"].(string); strings.HasPrefix(d, w.descriptionStart) {
					props = p
				}
			}
			if props == nil {
				t.Fatalf("no function described %q", w.descriptionStart)
			}
			if got := fmt.Sprint(props["Architectures"]); got != "[arm64]" {
				t.Errorf("Architectures = %s, want [arm64]", got)
			}
			if props["Runtime"] != "provided.al2023" || props["Handler"] != "bootstrap" {
				t.Errorf("Runtime %v Handler %v, want provided.al2023 bootstrap", props["Runtime"], props["Handler"])
			}
			if props["MemorySize"] != w.memory || props["Timeout"] != w.timeout {
				t.Errorf("MemorySize %v Timeout %v, want %v %v", props["MemorySize"], props["Timeout"], w.memory, w.timeout)
			}
			if eph := props["EphemeralStorage"].(map[string]any)["Size"]; eph != w.ephemeral {
				t.Errorf("EphemeralStorage %v, want %v", eph, w.ephemeral)
			}
			vars := props["Environment"].(map[string]any)["Variables"].(map[string]any)
			var keys []string
			for k := range vars {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			wantKeys := slices.Clone(w.env)
			slices.Sort(wantKeys)
			if !slices.Equal(keys, wantKeys) {
				t.Errorf("environment %v, want %v", keys, wantKeys)
			}
		})
	}
}

// TestDeployedDefinitions fills the template's DefinitionSubstitutions the
// way CloudFormation does and checks the result is the embedded definition
// with the limits from the props.
func TestDeployedDefinitions(t *testing.T) {
	s := synth(t)
	for id, sm := range resourcesOfType(s.json, "AWS::StepFunctions::StateMachine") {
		t.Run(id, func(t *testing.T) {
			p := sm["Properties"].(map[string]any)
			def, ok := p["DefinitionString"].(string)
			if !ok {
				t.Fatalf("DefinitionString is %T, want a plain string (ARNs go through DefinitionSubstitutions)", p["DefinitionString"])
			}
			vars := map[string]any{}
			for k := range p["DefinitionSubstitutions"].(map[string]any) {
				vars[k] = "arn:aws:lambda:us-east-1:123456789012:function:" + k
			}
			out, err := statemachines.Substitute([]byte(def), vars)
			if err != nil {
				t.Fatalf("substitute: %v", err)
			}
			var doc map[string]any
			if err := json.Unmarshal(out, &doc); err != nil {
				t.Fatalf("definition: %v", err)
			}
			if strings.Contains(id, "SingleStage") {
				run := doc["States"].(map[string]any)["RunJobs"].(map[string]any)
				if run["MaxConcurrency"] != float64(5) {
					t.Errorf("MaxConcurrency = %v, want 5", run["MaxConcurrency"])
				}
				start := run["ItemProcessor"].(map[string]any)["States"].(map[string]any)["StartJob"].(map[string]any)
				if start["TimeoutSeconds"] != float64((24+6)*3600) || start["HeartbeatSeconds"] != float64(6*3600) {
					t.Errorf("StartJob TimeoutSeconds %v HeartbeatSeconds %v, want %d %d", start["TimeoutSeconds"], start["HeartbeatSeconds"], 30*3600, 6*3600)
				}
			}
		})
	}
}
