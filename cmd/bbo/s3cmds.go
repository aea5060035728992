package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/bbo-dev/bbo/internal/awsenv"
	"github.com/bbo-dev/bbo/internal/config"
	"github.com/bbo-dev/bbo/internal/localrun"
	"github.com/bbo-dev/bbo/internal/notify"
	"github.com/bbo-dev/bbo/internal/s3io"
)

// localS3 parses --data-dir and the arguments, and starts the local
// environment whose S3 the command uses.
func localS3(ctx context.Context, name string, args []string, nargs int, stderr io.Writer) (*localrun.Env, []string, int) {
	fs := newFlags(name, stderr)
	dataDir := fs.String("data-dir", ".bbo", "directory of the local S3")
	if code, ok := parseFlags(fs, args); !ok {
		return nil, nil, code
	}
	if fs.NArg() != nargs {
		fs.Usage()
		return nil, nil, exitUsage
	}
	env, err := localrun.Start(ctx, localrun.Options{DataDir: *dataDir})
	if err != nil {
		fmt.Fprintf(stderr, "bbo %s: start the local S3 in %s: %v\n", name, *dataDir, err)
		return nil, nil, exitFailed
	}
	return env, fs.Args(), exitOK
}

func parseLocalURI(name, s string, stderr io.Writer) (s3io.URI, bool) {
	u, err := s3io.ParseURI(rewriteBucket(s))
	if err != nil {
		fmt.Fprintf(stderr, "bbo %s: %v\n", name, err)
		return s3io.URI{}, false
	}
	return u, true
}

func cmdPut(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	env, a, code := localS3(ctx, "put", args, 2, stderr)
	if env == nil {
		return code
	}
	defer env.Close()
	dst, ok := parseLocalURI("put", a[1], stderr)
	if !ok {
		return exitUsage
	}
	n, err := uploadPath(ctx, env.S3(), a[0], dst)
	if err != nil {
		fmt.Fprintln(stderr, "bbo put:", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "uploaded %d file(s) from %s to %s\n", n, a[0], dst)
	return exitOK
}

func cmdGet(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	env, a, code := localS3(ctx, "get", args, 2, stderr)
	if env == nil {
		return code
	}
	defer env.Close()
	src, ok := parseLocalURI("get", a[0], stderr)
	if !ok {
		return exitUsage
	}
	local := a[1]
	if !src.IsPrefix() {
		if st, err := os.Stat(local); err == nil && st.IsDir() {
			local = filepath.Join(local, src.Base())
		}
		if err := getObject(ctx, env.S3(), src, local); err != nil {
			fmt.Fprintln(stderr, "bbo get:", err)
			return exitFailed
		}
		fmt.Fprintf(stdout, "downloaded %s to %s\n", src, local)
		return exitOK
	}
	n := 0
	for obj, err := range s3io.List(ctx, env.S3(), src) {
		if err != nil {
			fmt.Fprintln(stderr, "bbo get:", err)
			return exitFailed
		}
		rel := strings.TrimPrefix(obj.URI.Key, src.Key)
		dst := filepath.Join(local, filepath.FromSlash(rel))
		if !filepath.IsLocal(filepath.FromSlash(rel)) {
			fmt.Fprintf(stderr, "bbo get: skip %s: its key would write outside %s\n", obj.URI, local)
			continue
		}
		if err := getObject(ctx, env.S3(), obj.URI, dst); err != nil {
			fmt.Fprintln(stderr, "bbo get:", err)
			return exitFailed
		}
		n++
	}
	fmt.Fprintf(stdout, "downloaded %d object(s) from %s to %s\n", n, src, local)
	return exitOK
}

// getObject streams one object to a file, through a temporary file so a
// failed download leaves nothing half-written.
func getObject(ctx context.Context, c *s3.Client, src s3io.URI, local string) error {
	body, _, err := s3io.Open(ctx, c, src)
	if err != nil {
		return err
	}
	defer body.Close()
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(local), ".bbo-get-*")
	if err != nil {
		return err
	}
	if _, err := io.Copy(tmp, body); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("download %s: %w", src, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), local)
}

func cmdLs(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	env, a, code := localS3(ctx, "ls", args, 1, stderr)
	if env == nil {
		return code
	}
	defer env.Close()
	prefix, ok := parseLocalURI("ls", a[0], stderr)
	if !ok {
		return exitUsage
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	n := 0
	for obj, err := range s3io.List(ctx, env.S3(), prefix) {
		if err != nil {
			tw.Flush()
			fmt.Fprintln(stderr, "bbo ls:", err)
			return exitFailed
		}
		fmt.Fprintf(tw, "%d\t %s\t\n", obj.Size, obj.URI)
		n++
	}
	tw.Flush()
	if n == 0 {
		fmt.Fprintf(stderr, "bbo ls: no objects under %s\n", prefix)
	}
	return exitOK
}

func cmdLinks(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("links", stderr)
	days := fs.Int("days", config.DefaultPresignedURLExpiryDays, fmt.Sprintf("link lifetime in days, 1..%d (SigV4's limit)", config.MaxPresignedURLExpiryDays))
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitUsage
	}
	if *days < 1 || *days > config.MaxPresignedURLExpiryDays {
		fmt.Fprintf(stderr, "bbo links: --days %d: want 1..%d (presigned URLs live at most 7 days)\n", *days, config.MaxPresignedURLExpiryDays)
		return exitUsage
	}
	var uris []s3io.URI
	for _, a := range fs.Args() {
		u, err := s3io.ParseURI(a)
		if err != nil {
			fmt.Fprintln(stderr, "bbo links:", err)
			return exitUsage
		}
		if u.IsPrefix() {
			fmt.Fprintf(stderr, "bbo links: %s is a prefix, not an object: name each file (list them with `aws s3 ls %s`)\n", u, u)
			return exitUsage
		}
		uris = append(uris, u)
	}
	cfg, err := awsenv.Load(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "bbo links:", err)
		return exitFailed
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "bbo links: no AWS credentials: %v (configure a profile, SSO or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)\n", err)
		return exitFailed
	}
	requested := time.Duration(*days) * 24 * time.Hour
	expires, limit := notify.Expiry(time.Now(), requested, creds)
	signWith := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil })
	pc := s3.NewPresignClient(awsenv.S3(cfg))
	for _, u := range uris {
		req, err := pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(u.Bucket), Key: aws.String(u.Key)},
			s3.WithPresignExpires(requested),
			s3.WithPresignClientFromClientOptions(func(o *s3.Options) { o.Credentials = signWith }))
		if err != nil {
			fmt.Fprintf(stderr, "bbo links: presign %s: %v\n", u, err)
			return exitFailed
		}
		fmt.Fprintf(stdout, "%s\n  %s\n", u, req.URL)
	}
	switch limit {
	case notify.LimitCredentials:
		fmt.Fprintf(stdout, "\nlinks valid until %s: your credentials are temporary and expire then, before the %d day(s) asked for\n", expires.UTC().Format(time.RFC3339), *days)
	case notify.LimitCredentialsUnknown:
		fmt.Fprintf(stdout, "\nlinks requested until %s, but they were signed with temporary credentials (a session token) and stop working when those expire, often within hours; sign with long-lived IAM user credentials for links that last\n", expires.UTC().Format(time.RFC3339))
	default:
		fmt.Fprintf(stdout, "\nlinks valid until %s\n", expires.UTC().Format(time.RFC3339))
	}
	fmt.Fprintln(stdout, "presigning does not check that the objects exist or that your credentials may read them; a link that answers 403/404 says so")
	return exitOK
}
