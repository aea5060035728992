// Command bbo's CDK app: reads the cdk.json context, builds the stack, checks
// it with cdk-nag's AWS Solutions rules and synthesizes it. Run through the
// CDK CLI (`make synth`, `make deploy`), not directly.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/bbo-dev/bbo/stack"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	props, err := stack.PropsFromContext(func(key string) any { return app.Node().TryGetContext(jsii.String(key)) })
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	props.Env = &awscdk.Environment{
		Account: jsii.String(envOr("CDK_DEFAULT_ACCOUNT", "123456789012")),
		Region:  jsii.String(envOr("CDK_DEFAULT_REGION", "us-east-1")),
	}
	props.Description = jsii.String("bbo: Bedrock batch inference orchestration with multi-stage pipelines")
	name := "BboStack"
	if v, ok := app.Node().TryGetContext(jsii.String(stack.CtxStackName)).(string); ok && v != "" {
		name = v
	}
	stack.New(app, name, props)
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	app.Synth(nil)
}

// envOr falls back to a dummy account and region so `cdk synth` works
// offline; deploy runs with real credentials, which set both.
func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
