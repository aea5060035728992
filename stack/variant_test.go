package stack_test

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/bbo-dev/bbo/stack"
)

// TestNonDefaultProps synthesizes a second stack with every setting changed
// and checks each reaches the template.
func TestNonDefaultProps(t *testing.T) {
	synth(t) // skips without node; starts the jsii runtime once
	root := t.TempDir()
	if err := fakeAssets(root); err != nil {
		t.Fatal(err)
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(filepath.Join(root, "cdk.out"))})
	st := stack.New(app, "Variant", stack.Props{
		StackProps:                 awscdk.StackProps{Env: &awscdk.Environment{Account: jsii.String(testAccount), Region: jsii.String("eu-west-1")}},
		AssetRoot:                  root,
		MaxConcurrentJobs:          12,
		JobTimeoutHours:            0,
		JobTimeoutMarginHours:      2,
		BedrockModelIDs:            []string{"eu.amazon.nova-lite-v1:0"},
		InputPrefixes:              []string{"uploads/"},
		IntermediateExpirationDays: 3,
		LogRetentionDays:           10,
		DestroyData:                true,
		MaxRecordsPerJob:           5000,
		HFEndpoint:                 "https://hf-mirror.example",
		LogLevel:                   "DEBUG",
		HFTokenSecretName:          "bbo/hf-token",
	})
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(nil), nil)
	raw, err := json.Marshal(assertions.Template_FromStack(st, nil).ToJSON())
	if err != nil {
		t.Fatal(err)
	}
	var tpl map[string]any
	if err := json.Unmarshal(raw, &tpl); err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	t.Run("buckets are destroyed", func(t *testing.T) {
		for id, r := range resourcesOfType(tpl, "AWS::S3::Bucket") {
			if r["DeletionPolicy"] != "Delete" {
				t.Errorf("bucket %s DeletionPolicy %v, want Delete", id, r["DeletionPolicy"])
			}
		}
	})
	t.Run("no subscriptions without emails", func(t *testing.T) {
		if n := len(resourcesOfType(tpl, "AWS::SNS::Subscription")); n != 0 {
			t.Errorf("%d subscriptions, want 0", n)
		}
	})
	t.Run("log retention rounds up", func(t *testing.T) {
		for id, r := range resourcesOfType(tpl, "AWS::Logs::LogGroup") {
			if d := r["Properties"].(map[string]any)["RetentionInDays"]; d != float64(14) {
				t.Errorf("log group %s RetentionInDays %v, want 14", id, d)
			}
		}
	})
	t.Run("settings reach the template", func(t *testing.T) {
		for _, want := range []string{
			`"ExpirationInDays":3`,
			`"JOB_TIMEOUT_HOURS":"-1"`,
			`"MAX_RECORDS_PER_JOB":"5000"`,
			`"HF_ENDPOINT":"https://hf-mirror.example"`,
			`"LOG_LEVEL":"DEBUG"`,
			`/uploads/*`,
		} {
			if !strings.Contains(text, want) {
				t.Errorf("template lacks %s", want)
			}
		}
	})
	t.Run("limits reach the definition", func(t *testing.T) {
		for _, sm := range resourcesOfType(tpl, "AWS::StepFunctions::StateMachine") {
			p := sm["Properties"].(map[string]any)
			if p["StateMachineName"] != "Variant-batch-orchestrator" {
				continue
			}
			var def struct {
				States struct {
					RunJobs struct {
						MaxConcurrency int
						ItemProcessor  struct {
							States struct{ StartJob struct{ TimeoutSeconds int } }
						}
					}
				}
			}
			if err := json.Unmarshal([]byte(p["DefinitionString"].(string)), &def); err != nil {
				t.Fatal(err)
			}
			if got := def.States.RunJobs.MaxConcurrency; got != 12 {
				t.Errorf("MaxConcurrency %d, want 12", got)
			}
			// 0 hours is Bedrock's default 24, plus the 2 h margin.
			if got := def.States.RunJobs.ItemProcessor.States.StartJob.TimeoutSeconds; got != 26*3600 {
				t.Errorf("StartJob TimeoutSeconds %d, want %d", got, 26*3600)
			}
			return
		}
		t.Error("no Variant-batch-orchestrator state machine")
	})
	t.Run("token secret ARN reaches preprocess only", func(t *testing.T) {
		want := "arn:aws:secretsmanager:eu-west-1:" + testAccount + ":secret:bbo/hf-token"
		n := 0
		for id, f := range resourcesOfType(tpl, "AWS::Lambda::Function") {
			p := render(f["Properties"]).(map[string]any)
			vars := p["Environment"].(map[string]any)["Variables"].(map[string]any)
			got, ok := vars[stack.EnvHFTokenSecretArn]
			if !ok {
				continue
			}
			n++
			if d, _ := p["Description"].(string); !strings.HasPrefix(d, "Reads a dataset") {
				t.Errorf("function %s (%s) has %s", id, d, stack.EnvHFTokenSecretArn)
			}
			if got != want {
				t.Errorf("%s = %v, want %s", stack.EnvHFTokenSecretArn, got, want)
			}
		}
		if n != 1 {
			t.Errorf("%d functions have %s, want 1 (preprocess)", n, stack.EnvHFTokenSecretArn)
		}
		if strings.Contains(text, "HF_TOKEN\"") {
			t.Error("the template sets HF_TOKEN itself: the token must stay in Secrets Manager")
		}
	})
	t.Run("preprocess reads only the token secret", func(t *testing.T) {
		var got []string
		for _, st := range statements(tpl) {
			for _, a := range st.strings("Action") {
				if !strings.HasPrefix(a, "secretsmanager:") {
					continue
				}
				if !strings.HasPrefix(st.resource, "PreprocessRole") {
					t.Errorf("%s grants %s: only preprocess reads the token", st.resource, a)
				}
				if a == "secretsmanager:GetSecretValue" {
					got = append(got, st.strings("Resource")...)
				}
			}
		}
		want := []string{"arn:aws:secretsmanager:eu-west-1:" + testAccount + ":secret:bbo/hf-token-??????"}
		if !slices.Equal(got, want) {
			t.Errorf("secretsmanager:GetSecretValue on %v, want %v", got, want)
		}
	})
	t.Run("cdk-nag", func(t *testing.T) {
		for _, m := range *assertions.Annotations_FromStack(st).FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))) {
			raw, _ := json.Marshal(m)
			t.Errorf("unsuppressed cdk-nag error: %s", raw)
		}
	})
	t.Run("profile grants", func(t *testing.T) {
		var got []string
		for _, st := range find(statements(tpl), "BedrockBatchRole", "bedrock:InvokeModel") {
			got = append(got, st.strings("Resource")...)
		}
		slices.Sort(got)
		want := []string{
			"arn:aws:bedrock:*::foundation-model/amazon.nova-lite-v1:0",
			"arn:aws:bedrock:eu-west-1:" + testAccount + ":inference-profile/eu.amazon.nova-lite-v1:0",
		}
		if !slices.Equal(got, want) {
			t.Errorf("InvokeModel on %v, want %v", got, want)
		}
	})
}
