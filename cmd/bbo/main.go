// Command bbo runs bbo's batch-inference pipelines on one machine, with no
// AWS account: the same state machine definitions and task handlers the
// deployed stack uses, against local S3, Bedrock batch, DynamoDB, Step
// Functions and SNS. It also validates configurations, moves files in and
// out of the local S3, and presigns download links against real S3.
//
// Run `bbo help` for the commands; docs/cli.md describes every flag.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailed  = 1 // the run failed, or an I/O error
	exitUsage   = 2 // bad flags or arguments, or an invalid configuration
	exitStopped = 130
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise the module version or VCS revision is shown.
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// command is one subcommand.
type command struct {
	name    string
	args    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"run", "[flags] <config.json>", "run a job request or a pipeline configuration locally", cmdRun},
		{"validate", "<config.json>", "check a configuration and list every error and warning", cmdValidate},
		{"demo", "[flags]", "generate sample data and run the jokes and clothing examples offline", cmdDemo},
		{"put", "[flags] <local-path> <s3-uri>", "upload a file or a directory to the local S3", cmdPut},
		{"get", "[flags] <s3-uri> <local-path>", "download an object (or every object under a prefix) from the local S3", cmdGet},
		{"ls", "[flags] <s3-uri>", "list objects under a prefix of the local S3", cmdLs},
		{"links", "[--days N] <s3-uri>...", "presign download links for objects in real S3 with your AWS credentials", cmdLinks},
		{"version", "", "print the version", cmdVersion},
		{"help", "[command]", "show help for bbo or for one command", nil},
	}
}

// run is main without the process: it parses args, runs one command and
// returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			for _, c := range commands() {
				if c.name == rest[0] && c.run != nil {
					return c.run(ctx, []string{"-h"}, stdout, stdout)
				}
			}
			fmt.Fprintf(stderr, "bbo help: unknown command %q\n", rest[0])
			return exitUsage
		}
		usage(stdout)
		return exitOK
	case "-version", "--version":
		name = "version"
	}
	for _, c := range commands() {
		if c.name == name && c.run != nil {
			return c.run(ctx, rest, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "bbo: unknown command %q\n\n", name)
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `bbo runs Bedrock batch-inference pipelines locally (no AWS account needed)
and helps with the deployed stack.

Usage:
  bbo <command> [flags] [arguments]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run "bbo help <command>" (or "bbo <command> -h") for a command's flags.
Exit codes: 0 success, 1 run failed or I/O error, 2 bad usage or invalid config, 130 interrupted.
Documentation: docs/cli.md
`)
}

// newFlags returns a FlagSet for a subcommand whose -h output shows the
// command's usage line and flags.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("bbo "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c command
	for _, x := range commands() {
		if x.name == name {
			c = x
		}
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: bbo %s %s\n\n%s.\n", c.name, c.args, c.summary)
		if extra := helpText[c.name]; extra != "" {
			fmt.Fprint(fs.Output(), "\n"+extra)
		}
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprint(fs.Output(), "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses args; ok is false when the command should return code
// (help asked for, or a flag error already reported).
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	return exitOK, true
}

var helpText = map[string]string{
	"run": `The configuration is a single-stage job request or a pipeline configuration
(it has "stages"); bbo tells them apart. It is validated first and refused,
with every problem listed, before anything starts. Buckets named
batch-inference-bucket-YOUR_ACCOUNT_ID (as in the examples written for AWS)
are rewritten to the local bucket ` + localBucketName + `.

Backends: stub (default; offline, answers are synthetic and not from a
model), openai (any OpenAI-compatible server, configured with BBO_OPENAI_*),
bedrock (real on-demand Bedrock with your AWS credentials: THIS COSTS MONEY,
at on-demand prices, not the batch discount).

Examples:
  bbo run --upload topics.csv=s3://` + localBucketName + `/inputs/ pipeline-configs/jokes.json
  bbo run --backend openai --history my-pipeline.json
`,
	"demo": `Generates synthetic product pictures and a topics CSV into <data-dir>/demo-inputs,
uploads them to the local S3 and runs pipeline-configs/jokes.json and
pipeline-configs/clothing-analysis-full.json with the stub backend.
`,
	"links": `Signs GET URLs (SigV4, at most 7 days) for objects in REAL S3 with the AWS
credentials of your environment (profile, SSO, environment variables). Links
signed with temporary credentials (SSO, assumed roles, session tokens) stop
working when those credentials expire, whatever --days says.
`,
	"put": "Uploads to the local S3 of --data-dir. A directory is uploaded recursively under the URI as a prefix.\n",
	"get": "Downloads from the local S3 of --data-dir. A URI ending in / downloads every object under it into the local directory.\n",
}

func cmdVersion(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("version", stderr)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	fmt.Fprintln(stdout, "bbo", versionString())
	return exitOK
}

func versionString() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(devel)"
	}
	v := bi.Main.Version
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" && (v == "" || v == "(devel)") {
		return "(devel) " + rev + modified + " " + bi.GoVersion
	}
	if v == "" {
		v = "(devel)"
	}
	return v + " " + bi.GoVersion
}
