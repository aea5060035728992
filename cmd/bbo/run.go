package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/bbo-dev/bbo/internal/asl"
	"github.com/bbo-dev/bbo/internal/awsenv"
	"github.com/bbo-dev/bbo/internal/backends"
	"github.com/bbo-dev/bbo/internal/config"
	"github.com/bbo-dev/bbo/internal/localrun"
	"github.com/bbo-dev/bbo/internal/s3io"
)

const (
	localBucketName = localrun.Bucket
	// awsBucketPlaceholder is the bucket the example configs name; the
	// deployed bucket is batch-inference-bucket-<account id>.
	awsBucketPlaceholder = "batch-inference-bucket-YOUR_ACCOUNT_ID"
	maxConfigBytes       = 1 << 20
	stubLabel            = "stub backend: answers are synthetic, not from a model"
)

// runOptions are the flags shared by run and demo.
type runOptions struct {
	backend     string
	dataDir     string
	concurrency int
	maxJobs     int
	minRecords  int
	uploads     uploadList
	rows        int
	history     bool
	verbose     bool
}

func (o *runOptions) register(fs *flag.FlagSet, withBackend bool) {
	if withBackend {
		fs.StringVar(&o.backend, "backend", "stub", "model backend: stub (offline, synthetic answers), openai (BBO_OPENAI_* env), bedrock (real on-demand Bedrock with your AWS credentials; COSTS MONEY)")
		fs.Var(&o.uploads, "upload", "a file or directory `LOCAL_PATH=s3://bucket/key-or-prefix/` to upload to the local S3 before the run; repeatable")
	}
	fs.StringVar(&o.dataDir, "data-dir", ".bbo", "directory of the local S3 objects, task table and notification outbox")
	fs.IntVar(&o.concurrency, "concurrency", 4, "model calls in flight per batch job")
	fs.IntVar(&o.maxJobs, "max-jobs", 5, "batch jobs in flight per stage (the stack's maxSubmittedAndInProgressJobs)")
	fs.IntVar(&o.minRecords, "min-records", 1, "smallest batch job accepted; real Bedrock requires 100, so locally small samples are allowed")
	fs.IntVar(&o.rows, "rows", 5, "rows of the final result to print")
	fs.BoolVar(&o.history, "history", false, "print the execution history at the end")
	fs.BoolVar(&o.verbose, "v", false, "write the local services' logs to stderr")
}

// uploadSpec is one --upload LOCAL=s3://... pair.
type uploadSpec struct {
	local string
	uri   s3io.URI
}

type uploadList []uploadSpec

func (u *uploadList) String() string {
	parts := make([]string, len(*u))
	for i, s := range *u {
		parts[i] = s.local + "=" + s.uri.String()
	}
	return strings.Join(parts, ",")
}

func (u *uploadList) Set(v string) error {
	s, err := parseUpload(v)
	if err != nil {
		return err
	}
	*u = append(*u, s)
	return nil
}

// parseUpload reads LOCAL_PATH=s3://bucket/key. The split is at the last
// "=s3://", so local paths may contain "=".
func parseUpload(v string) (uploadSpec, error) {
	i := strings.LastIndex(v, "=s3://")
	if i <= 0 {
		return uploadSpec{}, fmt.Errorf("%q: write it as LOCAL_PATH=s3://bucket/key (or a prefix ending in /)", v)
	}
	u, err := s3io.ParseURI(rewriteBucket(v[i+1:]))
	if err != nil {
		return uploadSpec{}, err
	}
	return uploadSpec{local: v[:i], uri: u}, nil
}

// rewriteBucket points the examples' AWS bucket at the local bucket.
func rewriteBucket(s string) string {
	return strings.ReplaceAll(s, awsBucketPlaceholder, localBucketName)
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("run", stderr)
	var o runOptions
	o.register(fs, true)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "bbo run: want exactly one configuration file (bbo run [flags] <config.json>)")
		return exitUsage
	}
	cfg, err := readConfig(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "bbo run:", err)
		return exitUsage
	}
	if s := rewriteBucket(string(cfg)); s != string(cfg) {
		fmt.Fprintf(stdout, "note: bucket %s rewritten to the local bucket %s\n", awsBucketPlaceholder, localBucketName)
		cfg = []byte(s)
	}
	rep, err := validateConfig(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "bbo run:", err)
		return exitUsage
	}
	rep.print(stderr, fs.Arg(0))
	if !rep.valid() {
		fmt.Fprintf(stderr, "bbo run: %s is invalid; nothing was started\n", fs.Arg(0))
		return exitUsage
	}
	backend, label, err := newBackend(ctx, o.backend, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "bbo run:", err)
		return exitUsage
	}
	s, err := startSession(ctx, o, backend, stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "bbo run:", err)
		return exitFailed
	}
	defer s.env.Close()
	for _, u := range o.uploads {
		n, err := uploadPath(ctx, s.env.S3(), u.local, u.uri)
		if err != nil {
			fmt.Fprintln(stderr, "bbo run: upload:", err)
			return exitFailed
		}
		fmt.Fprintf(stdout, "uploaded %d file(s) from %s to %s\n", n, u.local, u.uri)
	}
	return s.execute(ctx, filepath.Base(fs.Arg(0)), cfg, rep, label)
}

func readConfig(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read configuration %s: %w", path, err)
	}
	if len(b) > maxConfigBytes {
		return nil, fmt.Errorf("%s is over %d bytes: a configuration is a few kilobytes; is this the right file?", path, maxConfigBytes)
	}
	return b, nil
}

// newBackend builds the model backend and the line the summary prints
// about where answers came from.
func newBackend(ctx context.Context, name string, stderr io.Writer) (backends.Backend, string, error) {
	switch name {
	case "", "stub":
		return backends.NewStub(), stubLabel, nil
	case "openai":
		cfg := backends.OpenAIConfigFromEnv()
		b, err := backends.NewOpenAI(cfg)
		if err != nil {
			return nil, "", fmt.Errorf("--backend openai: %w (set %s, and %s or %s)", err, backends.EnvOpenAIBaseURL, backends.EnvOpenAIModel, backends.EnvOpenAIModelMap)
		}
		return b, "openai backend: answers from " + cfg.BaseURL, nil
	case "bedrock":
		cfg, err := awsenv.Load(ctx)
		if err != nil {
			return nil, "", fmt.Errorf("--backend bedrock: %w", err)
		}
		fmt.Fprintf(stderr, "WARNING: --backend bedrock calls real Amazon Bedrock (InvokeModel, region %s) for every record with your AWS credentials. THIS COSTS MONEY, at on-demand prices.\n", cfg.Region)
		return backends.NewBedrock(bedrockruntime.NewFromConfig(cfg)), "bedrock backend: answers from Amazon Bedrock on-demand (" + cfg.Region + ")", nil
	}
	return nil, "", fmt.Errorf("--backend %q: want stub, openai or bedrock", name)
}

// session is a started local environment with its progress tracking.
type session struct {
	env    *localrun.Env
	o      runOptions
	stdout io.Writer
	stderr io.Writer
	tty    bool

	// cur is the tracker of the run in progress; the environment's hooks
	// forward to it.
	cur atomic.Pointer[tracker]
}

func startSession(ctx context.Context, o runOptions, backend backends.Backend, stdout, stderr io.Writer) (*session, error) {
	s := &session{o: o, stdout: stdout, stderr: stderr, tty: isTerminal(stdout)}
	logger := slog.New(slog.DiscardHandler)
	if o.verbose {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	env, err := localrun.Start(ctx, localrun.Options{
		DataDir: o.dataDir, Backend: backend, Concurrency: o.concurrency, MaxConcurrentJobs: o.maxJobs,
		MinRecordsPerJob: o.minRecords, Log: logger,
		Observer: func(e asl.Event) {
			if t := s.cur.Load(); t != nil {
				t.Observe(e)
			}
		},
		Events: func(raw json.RawMessage) {
			if t := s.cur.Load(); t != nil {
				t.BedrockEvent(raw)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("start the local environment in %s: %w", o.dataDir, err)
	}
	s.env = env
	return s, nil
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// execute runs one validated configuration and prints its summary.
func (s *session) execute(ctx context.Context, label string, cfg []byte, rep *report, backendLabel string) int {
	var plain *slog.Logger
	if !s.tty {
		plain = slog.New(slog.NewTextHandler(s.stderr, nil))
	}
	t := newTracker(rep.kind == config.KindPipeline, rep.stageNames, rep.prefixes, plain)
	s.cur.Store(t)
	fmt.Fprintf(s.stdout, "running %s (%s, %d stage(s)) in %s\n", label, rep.kind, len(rep.stageNames), s.o.dataDir)
	var live *liveDisplay
	if s.tty {
		live = startLive(s.stdout, t)
	}
	began := time.Now()
	x, _, err := s.env.Run(ctx, "", cfg)
	if err != nil {
		if live != nil {
			live.Stop()
		}
		s.cur.Store(nil)
		t.Close()
		fmt.Fprintln(s.stderr, "bbo: start the execution:", err)
		return exitFailed
	}
	res, werr := x.Wait(ctx)
	if werr != nil {
		x.Stop("Interrupted", "bbo was interrupted")
		waitCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		res, _ = x.Wait(waitCtx)
		cancel()
	}
	s.cur.Store(nil)
	t.Close()
	if live != nil {
		live.Stop()
	}
	elapsed := time.Since(began)

	stages := t.snapshot()
	fmt.Fprintln(s.stdout)
	printSummary(s.stdout, s.env, stages, res, elapsed, backendLabel)
	if s.o.history {
		fmt.Fprintln(s.stdout, "\nexecution history:")
		_ = asl.FormatHistory(s.stdout, x.History())
	}
	if res.Status != asl.StatusSucceeded {
		printFailure(s.stderr, res, t.firstFailure())
		if werr != nil {
			return exitStopped
		}
		return exitFailed
	}
	final := stages[len(stages)-1]
	if s.o.rows > 0 {
		if err := printRows(ctx, s.stdout, s.env, final.name, final.outputPaths, s.o.rows); err != nil {
			fmt.Fprintln(s.stderr, "bbo: show the result:", err)
			return exitFailed
		}
	}
	printNotification(s.stdout, s.env, rep.kind, res.Output)
	return exitOK
}

// uploadPath uploads a file, or every file under a directory, to the
// local S3; it returns how many files it sent.
func uploadPath(ctx context.Context, c *s3.Client, local string, dst s3io.URI) (int, error) {
	if err := ensureBucket(ctx, c, dst.Bucket); err != nil {
		return 0, err
	}
	st, err := os.Stat(local)
	if err != nil {
		return 0, err
	}
	if !st.IsDir() {
		if dst.IsPrefix() {
			dst = dst.Join(filepath.Base(local))
		}
		return 1, putFile(ctx, c, local, dst)
	}
	if !dst.IsPrefix() {
		dst.Key += "/"
	}
	n := 0
	err = filepath.WalkDir(local, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(local, p)
		if err != nil {
			return err
		}
		if err := putFile(ctx, c, p, dst.Join(filepath.ToSlash(rel))); err != nil {
			return err
		}
		n++
		return nil
	})
	return n, err
}

// putFile streams one file into S3.
func putFile(ctx context.Context, c *s3.Client, local string, dst s3io.URI) error {
	f, err := os.Open(local)
	if err != nil {
		return err
	}
	defer f.Close()
	w := s3io.Create(ctx, c, dst, "")
	if _, err := io.Copy(w, f); err != nil {
		w.Abort(err)
		return fmt.Errorf("upload %s to %s: %w", local, dst, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("upload %s to %s: %w", local, dst, err)
	}
	return nil
}

// ensureBucket creates a bucket in the local S3 if it is missing, so
// configs naming their own bucket work locally.
func ensureBucket(ctx context.Context, c *s3.Client, bucket string) error {
	if bucket == localBucketName {
		return nil
	}
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	if err != nil && !strings.Contains(err.Error(), "BucketAlready") {
		return fmt.Errorf("create local bucket %s: %w", bucket, err)
	}
	return nil
}

// decodeCause turns an error cause into plain text: a Lambda error
// {"errorMessage","errorType"} becomes "errorType: errorMessage"; a child
// execution's description {"Error","Cause"} is unwrapped; anything else
// is returned trimmed.
func decodeCause(cause string) (name, msg string) {
	cause = strings.TrimSpace(cause)
	for range 8 { // nested descriptions, bounded
		if !strings.HasPrefix(cause, "{") {
			break
		}
		var v struct {
			ErrorMessage *string `json:"errorMessage"`
			ErrorType    string  `json:"errorType"`
			Error        string  `json:"Error"`
			Cause        *string `json:"Cause"`
			FailedCause  *string `json:"cause"`
		}
		if json.Unmarshal([]byte(cause), &v) != nil {
			break
		}
		switch {
		case v.ErrorMessage != nil:
			return v.ErrorType, strings.TrimSpace(*v.ErrorMessage)
		case v.Cause != nil:
			if v.Error != "" {
				name = v.Error
			}
			cause = strings.TrimSpace(*v.Cause)
			continue
		}
		break
	}
	return name, cause
}

// plainCause is decodeCause as one string.
func plainCause(cause string) string {
	name, msg := decodeCause(cause)
	if name != "" && msg != "" && !strings.HasPrefix(msg, name) {
		return name + ": " + msg
	}
	if msg == "" {
		return name
	}
	return msg
}

func printFailure(w io.Writer, res asl.Result, first *failure) {
	fmt.Fprintf(w, "\nFAILED (%s)\n", res.Status)
	if first != nil {
		name, msg := decodeCause(first.cause)
		if name == "" {
			name = first.name
		}
		fmt.Fprintf(w, "  failed state: %s (stage %s)\n  error:        %s\n  cause:        %s\n", first.state, first.stage, name, oneLine(msg))
	}
	if res.Error != "" && (first == nil || res.Error != first.name) {
		fmt.Fprintf(w, "  execution error: %s: %s\n", res.Error, oneLine(plainCause(res.Cause)))
	}
	if first == nil && res.Error == "" {
		fmt.Fprintln(w, "  the execution was stopped:", oneLine(res.Cause))
	}
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\r", "")
	return strings.ReplaceAll(s, "\n", "\n                ")
}

// notification prints where the pipeline's message went.
func printNotification(w io.Writer, env *localrun.Env, kind config.Kind, output json.RawMessage) {
	if kind != config.KindPipeline {
		fmt.Fprintln(w, "\nnotification: none (single-stage runs do not notify; pipelines write one to", env.Outbox()+")")
		return
	}
	var out struct {
		Notification struct {
			MessageID string `json:"message_id"`
			Subject   string `json:"subject"`
		} `json:"notification"`
	}
	_ = json.Unmarshal(output, &out)
	file := env.Outbox()
	if id := out.Notification.MessageID; id != "" {
		if m, _ := filepath.Glob(filepath.Join(env.Outbox(), "*-"+id+".txt")); len(m) == 1 {
			file = m[0]
		}
	}
	fmt.Fprintf(w, "\nnotification: %q written to %s (the local SNS outbox)\n", out.Notification.Subject, file)
}
