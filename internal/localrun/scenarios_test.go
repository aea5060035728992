package localrun

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/bedrock"

	"github.com/bbo-dev/bbo/internal/asl"
	"github.com/bbo-dev/bbo/internal/awsenv"
	"github.com/bbo-dev/bbo/internal/batchio"
	"github.com/bbo-dev/bbo/internal/config"
	"github.com/bbo-dev/bbo/internal/demodata"
	"github.com/bbo-dev/bbo/internal/records"
)

// fastClock runs the state machines' waits 1000 times faster, so retry
// backoff of minutes takes milliseconds.
type fastClock struct{}

func (fastClock) Now() time.Time { return time.Now() }
func (fastClock) After(d time.Duration) <-chan time.Time {
	return time.After(d / 1000)
}
func (fastClock) Sleep(ctx context.Context, d time.Duration) error {
	return asl.RealClock.Sleep(ctx, d/1000)
}

func startWith(t *testing.T, opts Options) *Env {
	t.Helper()
	opts.DataDir = t.TempDir()
	if opts.PollInterval == 0 {
		opts.PollInterval = 300 * time.Millisecond
	}
	opts.Clock = fastClock{}
	e, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func runNamed(t *testing.T, e *Env, name, cfg string) asl.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	x, _, err := e.Run(ctx, name, []byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	res, err := x.Wait(ctx)
	if err != nil {
		var b strings.Builder
		asl.FormatHistory(&b, x.History())
		t.Fatalf("wait: %v\n%s", err, b.String())
	}
	return res
}

func topicsCSV(t *testing.T, e *Env, n int) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "topics.csv")
	if err := demodata.Topics(p, n); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	upload(t, e, "inputs/topics.csv", b)
}

type stageOut struct {
	OutputPaths []string `json:"output_paths"`
	FailedJobs  []struct {
		JobName string `json:"job_name"`
		Error   string `json:"error"`
	} `json:"failed_jobs"`
	Results []struct {
		Status string `json:"status"`
		Stats  struct {
			Rows, Succeeded, Failed int
		} `json:"stats"`
	} `json:"results"`
}

func decodeOut(t *testing.T, res asl.Result) stageOut {
	t.Helper()
	var o stageOut
	if err := json.Unmarshal(res.Output, &o); err != nil {
		t.Fatalf("output %s: %v", res.Output, err)
	}
	return o
}

const jokes = `{"s3_uri":"s3://` + Bucket + `/inputs/topics.csv","job_name_prefix":"jokes","model_id":"anthropic.claude-3-haiku-20240307-v1:0","prompt_id":"joke_about_topic","max_records_per_job":%d}`

func TestImageDescription(t *testing.T) {
	e := startWith(t, Options{})
	dir := t.TempDir()
	items, err := demodata.Images(dir, 6)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		b, _ := os.ReadFile(filepath.Join(dir, it.File))
		upload(t, e, "inputs/clothing-images/"+it.File, b)
	}
	upload(t, e, "inputs/clothing-images/broken.png", []byte("\x89PNG\r\n\x1a\n but not really"))
	cfg, _ := os.ReadFile("../../pipeline-configs/image-description.json")
	res := runNamed(t, e, "describe", strings.ReplaceAll(string(cfg), "batch-inference-bucket-YOUR_ACCOUNT_ID", Bucket))
	if res.Status != asl.StatusSucceeded {
		t.Fatalf("status %s: %s %s", res.Status, res.Error, res.Cause)
	}
	rows := readParquet(t, e, decodeOut(t, res).OutputPaths[0])
	if len(rows) != 6 {
		t.Fatalf("%d rows, want the 6 valid images (the broken one goes to the errors file)", len(rows))
	}
	var summary struct {
		Summary struct {
			Failed    int    `json:"failed_records"`
			ErrorsURI string `json:"errors_uri"`
		} `json:"summary"`
	}
	json.Unmarshal(res.Output, &summary)
	if summary.Summary.Failed != 1 || summary.Summary.ErrorsURI == "" {
		t.Fatalf("summary %+v: the corrupt image must be reported", summary.Summary)
	}
}

func TestEmbeddings(t *testing.T) {
	e := startWith(t, Options{})
	p := filepath.Join(t.TempDir(), "texts.csv")
	if err := demodata.Texts(p, 12); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	upload(t, e, "inputs/texts.csv", b)
	cfg, _ := os.ReadFile("../../pipeline-configs/embeddings.json")
	res := runNamed(t, e, "embed", strings.ReplaceAll(string(cfg), "batch-inference-bucket-YOUR_ACCOUNT_ID", Bucket))
	if res.Status != asl.StatusSucceeded {
		t.Fatalf("status %s: %s %s", res.Status, res.Error, res.Cause)
	}
	rows := readParquet(t, e, decodeOut(t, res).OutputPaths[0])
	if len(rows) != 12 {
		t.Fatalf("%d rows", len(rows))
	}
	var vec []float64
	if err := json.Unmarshal([]byte(rows[0]["embedding"]), &vec); err != nil || len(vec) != 1024 {
		t.Fatalf("embedding %q: %v (len %d), want 1024 floats", rows[0]["embedding"][:min(40, len(rows[0]["embedding"]))], err, len(vec))
	}
}

// A Hugging Face dataset read through a local stand-in of the Hub's
// dataset API.
func TestHuggingFaceDataset(t *testing.T) {
	shard := filepath.Join(t.TempDir(), "0000.parquet")
	f, _ := os.Create(shard)
	pw, err := records.NewParquetWriter(f, []records.Column{{Name: "source"}, {Name: "rationale"}, {Name: "target"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 15 {
		pw.Write([]records.Value{{Str: fmt.Sprintf("What is %d + %d?", i, i)}, {Str: "add them"}, {Str: fmt.Sprint(2 * i)}})
	}
	pw.Close()
	f.Close()
	var hub *httptest.Server
	hub = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/datasets/kaist-ai/CoT-Collection/parquet/default/train":
			json.NewEncoder(w).Encode([]string{hub.URL + "/shards/0000.parquet"})
		case "/shards/0000.parquet":
			http.ServeFile(w, r, shard)
		default:
			http.NotFound(w, r)
		}
	}))
	defer hub.Close()
	e := startWith(t, Options{HFEndpoint: hub.URL})
	cfg, _ := os.ReadFile("../../pipeline-configs/cot-dataset.json")
	res := runNamed(t, e, "cot", string(cfg))
	if res.Status != asl.StatusSucceeded {
		t.Fatalf("status %s: %s %s", res.Status, res.Error, res.Cause)
	}
	rows := readParquet(t, e, decodeOut(t, res).OutputPaths[0])
	if len(rows) != 15 || rows[0]["source"] == "" || rows[0]["answer"] == "" {
		t.Fatalf("%d rows, first %v: want 15 with the answer extracted", len(rows), rows[0])
	}
}

func TestExpandedMode(t *testing.T) {
	e := startWith(t, Options{})
	upload(t, e, "inputs/products.csv", []byte("record_id,department,product_description\np1,clothing,Red cotton shirt size M by Acme\np2,garden,Steel rake from Toolco\n"))
	cfg, _ := os.ReadFile("../../pipeline-configs/product-review-expanded.json")
	res := runNamed(t, e, "expand", strings.ReplaceAll(string(cfg), "batch-inference-bucket-YOUR_ACCOUNT_ID", Bucket))
	if res.Status != asl.StatusSucceeded {
		t.Fatalf("status %s: %s %s", res.Status, res.Error, res.Cause)
	}
	var out struct {
		StageResults []stageOut `json:"stage_results"`
	}
	json.Unmarshal(res.Output, &out)
	rows := readParquet(t, e, out.StageResults[0].OutputPaths[0])
	// clothing → detailed_clothing_analysis (3 prompts), other → comprehensive_product_review (4).
	ids := map[string]bool{}
	for _, r := range rows {
		ids[r["request_id"]] = true
	}
	if len(rows) != 7 || !ids["p1-003"] || !ids["p2-004"] {
		t.Fatalf("%d rows, ids %v: want p1-001..003 and p2-001..004", len(rows), ids)
	}
}

// One of two jobs fails: the other's results are kept and the failure is
// reported; when every job fails, the execution fails.
func TestFailedJob(t *testing.T) {
	e := startWith(t, Options{})
	topicsCSV(t, e, 40)
	e.Bedrock().FailJob(batchio.JobName("jokes", 1, "failrun"), "simulated: model access denied")
	res := runNamed(t, e, "failrun", fmt.Sprintf(jokes, 20))
	if res.Status != asl.StatusSucceeded {
		t.Fatalf("status %s: %s %s", res.Status, res.Error, res.Cause)
	}
	o := decodeOut(t, res)
	if len(o.OutputPaths) != 1 || len(o.FailedJobs) != 1 || o.FailedJobs[0].Error != "BatchJobFailed" {
		t.Fatalf("output %s: want one output and one BatchJobFailed job", res.Output)
	}

	e.Bedrock().FailJob(batchio.JobName("jokes", 0, "allfail"), "simulated")
	res = runNamed(t, e, "allfail", fmt.Sprintf(jokes, 100))
	if res.Status != asl.StatusFailed || res.Error != "BatchJobsFailed" {
		t.Fatalf("status %s error %s: want FAILED with BatchJobsFailed", res.Status, res.Error)
	}
}

func TestPartiallyCompleted(t *testing.T) {
	e := startWith(t, Options{})
	topicsCSV(t, e, 30)
	e.Bedrock().FailRecords(batchio.JobName("jokes", 0, "partial"), 400, func(id string) bool { return strings.HasSuffix(id, "3") })
	res := runNamed(t, e, "partial", fmt.Sprintf(jokes, 100))
	if res.Status != asl.StatusSucceeded {
		t.Fatalf("status %s: %s %s", res.Status, res.Error, res.Cause)
	}
	o := decodeOut(t, res)
	if len(o.Results) != 1 || o.Results[0].Status != "PartiallyCompleted" {
		t.Fatalf("output %s: want one PartiallyCompleted job", res.Output)
	}
	rows := readParquet(t, e, o.OutputPaths[0])
	failed := 0
	for _, r := range rows {
		if r["error"] != "" {
			failed++
		}
	}
	if len(rows) != 30 || failed != 3 {
		t.Fatalf("%d rows, %d failed: want all 30 rows kept, 3 with an error", len(rows), failed)
	}
}

// Every state-change event is lost: the poller finds the finished job.
func TestLostEventsRecoveredByPoller(t *testing.T) {
	e := startWith(t, Options{})
	topicsCSV(t, e, 10)
	e.Bedrock().DropEvents(true)
	res := runNamed(t, e, "lost", fmt.Sprintf(jokes, 100))
	if res.Status != asl.StatusSucceeded {
		t.Fatalf("status %s: %s %s", res.Status, res.Error, res.Cause)
	}
}

// Bedrock throttles job creation: the state machine retries with backoff
// and the job runs; when throttling outlasts the retries, the job is
// reported failed.
func TestThrottledStartRetried(t *testing.T) {
	var retries atomic.Int32
	e := startWith(t, Options{Observer: func(ev asl.Event) {
		if ev.Type == asl.EventType("TaskRetryScheduled") {
			retries.Add(1)
		}
	}})
	topicsCSV(t, e, 10)
	e.Bedrock().ThrottleCreates(2)
	res := runNamed(t, e, "throttled", fmt.Sprintf(jokes, 100))
	if res.Status != asl.StatusSucceeded || retries.Load() < 2 {
		t.Fatalf("status %s, %d retries: want success after 2 retries", res.Status, retries.Load())
	}
	e.Bedrock().ThrottleCreates(1000)
	res = runNamed(t, e, "throttled-out", fmt.Sprintf(jokes, 100))
	if res.Status != asl.StatusFailed || res.Error != "BatchJobsFailed" || !strings.Contains(res.Cause, "ThrottledError") {
		t.Fatalf("status %s %s %s: want the job caught as failed with ThrottledError", res.Status, res.Error, res.Cause)
	}
}

// An invalid pipeline is rejected before any job starts.
func TestInvalidConfigRejectedEarly(t *testing.T) {
	e := startWith(t, Options{})
	res := runNamed(t, e, "invalid", `{"pipeline_name":"bad","stages":[{"stage_name":"s","model_id":"anthropic.claude-3-haiku-20240307-v1:0","input_s3_uri":"s3://`+Bucket+`/x.csv","job_name_prefix":"s","prompt_config":{"mode":"single","prompt_id":"no_such_prompt"}}]}`)
	if res.Status != asl.StatusFailed || res.Error != "ValidationError" || !strings.Contains(res.Cause, "no_such_prompt") {
		t.Fatalf("status %s %s %s", res.Status, res.Error, res.Cause)
	}
	c := bedrock.NewFromConfig(awsenv.Static(e.bedrockURL))
	out, err := c.ListModelInvocationJobs(context.Background(), &bedrock.ListModelInvocationJobsInput{})
	if err != nil || len(out.InvocationJobSummaries) != 0 {
		t.Fatalf("jobs: %v %v, want none", out, err)
	}
}

// 200,000 records through the whole system: preprocess → 4 Bedrock jobs of
// 50,000 → postprocess, every record accounted for.
func TestRoundTrip200k(t *testing.T) {
	if testing.Short() {
		t.Skip("200,000-record round trip skipped in -short mode")
	}
	e := startWith(t, Options{Concurrency: 8})
	var b strings.Builder
	b.WriteString("topic\n")
	for i := range 200_000 {
		fmt.Fprintf(&b, "topic number %d\n", i)
	}
	upload(t, e, "inputs/topics.csv", []byte(b.String()))
	res := runNamed(t, e, "big", fmt.Sprintf(jokes, 50_000))
	if res.Status != asl.StatusSucceeded {
		t.Fatalf("status %s: %s %s", res.Status, res.Error, res.Cause)
	}
	o := decodeOut(t, res)
	total := 0
	for _, r := range o.Results {
		total += r.Stats.Succeeded
	}
	if len(o.OutputPaths) != 4 || total != 200_000 {
		t.Fatalf("%d outputs, %d records succeeded: want 4 and 200000", len(o.OutputPaths), total)
	}
	n := 0
	for _, p := range o.OutputPaths {
		n += len(readParquet(t, e, p))
	}
	if n != 200_000 {
		t.Fatalf("%d rows in the output parquet, want 200000", n)
	}
}

// The most jobs one execution runs fit Step Functions' 256 KB state limit,
// which the interpreter enforces, even with the longest job_name_prefix;
// one more is refused up front.
func TestMaxJobsWithinStateLimit(t *testing.T) {
	var largest atomic.Int64
	// 20 jobs in flight: the emulator's per-model quota of unfinished jobs,
	// as Bedrock's; more would be throttled (and retried) by design.
	e := startWith(t, Options{MaxConcurrentJobs: 20, Observer: func(ev asl.Event) {
		if n := int64(len(ev.Output)); n > largest.Load() {
			largest.Store(n)
		}
	}})
	topicsCSV(t, e, config.MaxJobsPerExecution)
	longest := strings.Repeat("p", config.MaxJobNamePrefixLen)
	cfg := strings.Replace(fmt.Sprintf(jokes, 1), `"job_name_prefix":"jokes"`, `"job_name_prefix":"`+longest+`"`, 1)
	res := runNamed(t, e, "many-jobs-with-a-long-execution-name-to-make-payloads-large", cfg)
	if res.Status != asl.StatusSucceeded {
		t.Fatalf("status %s: %s %s", res.Status, res.Error, res.Cause)
	}
	if o := decodeOut(t, res); len(o.OutputPaths) != config.MaxJobsPerExecution {
		t.Fatalf("%d outputs, want %d; failed jobs: %+v", len(o.OutputPaths), config.MaxJobsPerExecution, o.FailedJobs)
	}
	// AWS bucket names are up to 8 characters longer than the local one in
	// each of a job's three URIs; keep room for that and more.
	if n := largest.Load(); n > asl.MaxPayloadBytes*9/10 {
		t.Fatalf("largest state data %d bytes: less than 10%% headroom under %d", n, asl.MaxPayloadBytes)
	}
	t.Logf("largest state data: %d bytes of %d", largest.Load(), asl.MaxPayloadBytes)
	topicsCSV(t, e, config.MaxJobsPerExecution+1)
	res = runNamed(t, e, "too-many", fmt.Sprintf(jokes, 1))
	if res.Status != asl.StatusFailed || res.Error != "InvalidConfig" || !strings.Contains(res.Cause, "raise max_records_per_job") {
		t.Fatalf("status %s %s %s", res.Status, res.Error, res.Cause)
	}
}
