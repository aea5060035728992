package stack_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/bbo-dev/bbo/stack"
)

// synthesized is the stack built once per test binary: a synth starts the
// jsii runtime and takes seconds.
type synthesized struct {
	app      awscdk.App
	stack    awscdk.Stack
	template assertions.Template
	json     map[string]any
	outDir   string
}

var (
	synthOnce sync.Once
	shared    *synthesized
	synthErr  error
)

const (
	testAccount = "123456789012"
	testRegion  = "us-east-1"
)

// testProps are the props the tests synthesize with: the defaults plus one
// notification email.
func testProps(assetRoot string) stack.Props {
	return stack.Props{
		StackProps: awscdk.StackProps{Env: &awscdk.Environment{Account: jsii.String(testAccount), Region: jsii.String(testRegion)}},
		AssetRoot:  assetRoot,
		// The cdk.json defaults, so the tests check what `make synth` deploys.
		MaxConcurrentJobs:  5,
		JobTimeoutHours:    24,
		NotificationEmails: []string{"ops@example.com"},
	}
}

// fakeAssets creates <root>/<name>/bootstrap for every Lambda, so synth
// does not need `make lambdas`.
func fakeAssets(root string) error {
	for _, name := range stack.LambdaNames {
		dir := filepath.Join(root, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil {
			return err
		}
	}
	return nil
}

func synth(t *testing.T) *synthesized {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not on PATH: the CDK's jsii runtime needs Node.js >= 20 to synthesize the stack")
	}
	synthOnce.Do(func() {
		root, err := os.MkdirTemp("", "bbo-stack-test-")
		if err != nil {
			synthErr = err
			return
		}
		if synthErr = fakeAssets(filepath.Join(root, "assets")); synthErr != nil {
			return
		}
		out := filepath.Join(root, "cdk.out")
		app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(out)})
		st := stack.New(app, "BboStack", testProps(filepath.Join(root, "assets")))
		awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
		tpl := assertions.Template_FromStack(st, nil)
		raw, err := json.Marshal(tpl.ToJSON())
		if err != nil {
			synthErr = err
			return
		}
		var m map[string]any
		if synthErr = json.Unmarshal(raw, &m); synthErr != nil {
			return
		}
		shared = &synthesized{app: app, stack: st, template: tpl, json: m, outDir: out}
	})
	if synthErr != nil {
		t.Fatalf("synth: %v", synthErr)
	}
	return shared
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		os.RemoveAll(filepath.Dir(shared.outDir))
	}
	jsii.Close()
	os.Exit(code)
}
