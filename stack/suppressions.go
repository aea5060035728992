package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Suppression is one cdk-nag finding bbo accepts, with the reason.
type Suppression struct {
	// Rule is the cdk-nag rule id, e.g. AwsSolutions-IAM5.
	Rule string
	// AppliesTo are regular expressions (cdk-nag's /.../ form) of the
	// granular findings suppressed; empty suppresses the rule on the
	// resource.
	AppliesTo []string
	// Reason says why the finding is acceptable.
	Reason string
}

// Accepted findings, shared by the resources they apply to.
var (
	suppressPrefixObjects = Suppression{
		Rule:      "AwsSolutions-IAM5",
		AppliesTo: []string{`/^Resource::<Bucket[0-9A-F]+\.Arn>\/[A-Za-z0-9_.\-\/]+\/\*$/`},
		Reason: "Object-level S3 actions need a key pattern: object names are generated per run. " +
			"Each role is scoped to the prefixes it reads or writes (see the S3 layout), never the whole bucket.",
	}
	suppressJobARNs = Suppression{
		Rule:      "AwsSolutions-IAM5",
		AppliesTo: []string{`/^Resource::arn:<AWS::Partition>:bedrock:[a-z0-9-]+:[0-9]+:model-invocation-job\/\*$/`},
		Reason: "Bedrock assigns batch job ids at submission, so job ARNs are not known in advance; " +
			"scoped to model-invocation-job resources of this account and region.",
	}
	suppressProfileModels = Suppression{
		Rule:      "AwsSolutions-IAM5",
		AppliesTo: []string{`/^Resource::arn:<AWS::Partition>:bedrock:\*::foundation-model\/.+$/`},
		Reason: "A cross-region inference profile routes each request to its foundation model in any region of the " +
			"profile's geography; the grant is limited to the configured model ids (context bedrockModelIds).",
	}
	suppressStateMachineStar = Suppression{
		Rule:      "AwsSolutions-IAM5",
		AppliesTo: []string{"Resource::*"},
		Reason: "Added by the CDK for X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules, " +
			"GetSamplingTargets) and vended log delivery (logs:CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, " +
			"DeleteLogDelivery, ListLogDeliveries, PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups): " +
			"these actions support only Resource \"*\".",
	}
	suppressStageExecutions = Suppression{
		Rule:      "AwsSolutions-IAM5",
		AppliesTo: []string{`/^Resource::arn:<AWS::Partition>:states:[a-z0-9-]+:[0-9]+:execution:[A-Za-z0-9_-]+:\*$/`},
		Reason: "startExecution.sync describes and stops the nested stage executions, whose names are generated " +
			"per run; scoped to executions of the single-stage state machine.",
	}
	suppressLogLevel = Suppression{
		Rule: "AwsSolutions-SF1",
		Reason: "Logs ERROR events with execution data: ALL would log every state transition's payload " +
			"(configs, job lists, per-job results) at a cost per event, while the execution history already " +
			"keeps the full trace for 90 days.",
	}
)

func suppress(c constructs.IConstruct, ss ...Suppression) {
	var list []*cdknag.NagPackSuppression
	for _, s := range ss {
		n := &cdknag.NagPackSuppression{Id: jsii.String(s.Rule), Reason: jsii.String(s.Reason)}
		if len(s.AppliesTo) > 0 {
			applies := make([]any, 0, len(s.AppliesTo))
			for _, re := range s.AppliesTo {
				if re[0] == '/' {
					applies = append(applies, &cdknag.RegexAppliesTo{Regex: jsii.String(re)})
				} else {
					applies = append(applies, jsii.String(re))
				}
			}
			n.AppliesTo = &applies
		}
		list = append(list, n)
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &list, jsii.Bool(true))
}

// suppressions records every cdk-nag finding bbo accepts, each with why.
func (b *builder) suppressions() {
	suppress(b.bedrock, suppressPrefixObjects, suppressProfileModels)
	for _, name := range []string{Preprocess, Postprocess, Transform, Validate, Notify} {
		suppress(b.roles[name], suppressPrefixObjects)
	}
	suppress(b.roles[JobState], suppressPrefixObjects, suppressJobARNs)
	suppress(b.roles[StartJob], suppressJobARNs, suppressProfileModels)
	suppress(b.single, suppressLogLevel, suppressStateMachineStar)
	suppress(b.pipeline, suppressLogLevel, suppressStateMachineStar, suppressStageExecutions)
	// The ${...} in DefinitionString are DefinitionSubstitutions keys, which
	// CloudFormation fills; they are not Fn::Sub parameters.
	for _, sm := range []constructs.IConstruct{b.single, b.pipeline} {
		res := sm.Node().DefaultChild().(awscdk.CfnResource)
		res.AddMetadata(jsii.String("cfn-lint"), map[string]any{"config": map[string]any{"ignore_checks": []string{"E1029"}}})
		awscdk.Validations_Of(res).Acknowledge(&awscdk.Acknowledgment{
			Id:     jsii.String("CloudFormation-Validate::E1029"),
			Reason: jsii.String("DefinitionString placeholders are DefinitionSubstitutions keys, not Fn::Sub parameters"),
		})
	}
}
