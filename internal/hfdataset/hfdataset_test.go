package hfdataset

import (
	"github.com/bbo-dev/bbo/internal/s3test"

	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bbo-dev/bbo/internal/s3io"
	"github.com/bbo-dev/bbo/internal/taskerr"
)

// hub fakes the Hub's parquet API: dataset "org/ds" has config "cfg"
// (no "default") with splits train (2 shards) and test; "org/plain" has a
// default config; "org/secret" answers 401; "org/busy" 503; "org/limited" 429.
func hub(t *testing.T) (*httptest.Server, *[]string) {
	t.Helper()
	var auth []string
	mux := http.NewServeMux()
	var srv *httptest.Server
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Header.Get("Authorization"))
		switch r.URL.Path {
		case "/api/datasets/org/ds/parquet":
			_ = json.NewEncoder(w).Encode(map[string]map[string][]string{"cfg": {
				"train": {srv.URL + "/files/0.parquet", srv.URL + "/files/1.parquet"},
				"test":  {srv.URL + "/files/0.parquet"},
			}})
		case "/api/datasets/org/plain/parquet/default/train":
			_ = json.NewEncoder(w).Encode([]string{srv.URL + "/files/1.parquet"})
		case "/api/datasets/org/secret/parquet/default/train":
			w.WriteHeader(http.StatusUnauthorized)
		case "/api/datasets/org/busy/parquet/default/train":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/api/datasets/org/limited/parquet/default/train":
			w.WriteHeader(http.StatusTooManyRequests)
		case "/files/0.parquet":
			_, _ = io.WriteString(w, "shard zero")
		case "/files/1.parquet":
			_, _ = io.WriteString(w, "shard one")
		default:
			http.NotFound(w, r)
		}
	})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &auth
}

func TestShardURLs(t *testing.T) {
	srv, _ := hub(t)
	c := New(srv.URL, "", srv.Client())
	for _, tc := range []struct {
		name, dataset, split string
		want                 int
		errName, errHas      string
	}{
		{name: "fallback to index", dataset: "org/ds", split: "train", want: 2},
		{name: "default config", dataset: "org/plain", split: "train", want: 1},
		{name: "missing split lists splits", dataset: "org/ds", split: "validation", errName: taskerr.InputNotFound, errHas: "available (config/split): cfg/test, cfg/train"},
		{name: "missing dataset", dataset: "org/nope", split: "train", errName: taskerr.InputNotFound, errHas: "not found"},
		{name: "unauthorized", dataset: "org/secret", split: "train", errName: taskerr.InvalidConfig, errHas: "HF_TOKEN"},
		{name: "server error", dataset: "org/busy", split: "train", errName: taskerr.Transient, errHas: "503"},
		{name: "throttled", dataset: "org/limited", split: "train", errName: taskerr.Transient, errHas: "429"},
		{name: "bad id", dataset: "../etc", split: "train", errName: taskerr.InvalidConfig, errHas: "owner/name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			urls, err := c.ShardURLs(context.Background(), tc.dataset, tc.split)
			if tc.errName != "" {
				if err == nil || taskerr.Name(err) != tc.errName || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("err = %v (%s), want %s containing %q", err, taskerr.Name(err), tc.errName, tc.errHas)
				}
				return
			}
			if err != nil || len(urls) != tc.want {
				t.Fatalf("ShardURLs = %v, %v; want %d URLs", urls, err, tc.want)
			}
		})
	}
}

func TestCopyToS3(t *testing.T) {
	srv, auth := hub(t)
	api := s3test.New(t, "bkt")
	ctx := context.Background()
	c := New(srv.URL, "sekret", srv.Client())
	shards, err := c.CopyToS3(ctx, api, "bkt", "org/ds", "train")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"s3://bkt/hf/org/ds/0000.parquet", "s3://bkt/hf/org/ds/0001.parquet"}
	bodies := []string{"shard zero", "shard one"}
	if len(shards) != 2 {
		t.Fatalf("shards = %+v", shards)
	}
	for i, s := range shards {
		if s.URI.String() != want[i] {
			t.Errorf("shard %d at %s, want %s", i, s.URI, want[i])
		}
		b, err := s3io.ReadAll(ctx, api, s.URI, 1<<20)
		if err != nil || string(b) != bodies[i] {
			t.Errorf("shard %d = %q, %v", i, b, err)
		}
	}
	for _, a := range *auth {
		if a != "Bearer sekret" {
			t.Errorf("Authorization = %q, want the bearer token on every request", a)
		}
	}
}

func TestFromEnv(t *testing.T) {
	env := map[string]string{"HF_ENDPOINT": "http://hub.local/", "HF_TOKEN": "t"}
	c := FromEnv(func(k string) string { return env[k] })
	if c.Endpoint() != "http://hub.local" || c.token != "t" {
		t.Errorf("FromEnv = %s %q", c.Endpoint(), c.token)
	}
	if New("", "", nil).Endpoint() != DefaultEndpoint {
		t.Error("empty endpoint should default to the public Hub")
	}
}

func FuzzParseShardList(f *testing.F) {
	f.Add([]byte(`["https://huggingface.co/api/datasets/ibm/duorc/parquet/ParaphraseRC/train/0.parquet"]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"a":1}`))
	f.Add([]byte(`["ftp://x"]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		urls, err := ParseShardList(data)
		if err == nil {
			for _, u := range urls {
				if checkURL(u) != nil {
					t.Fatalf("accepted bad URL %q", u)
				}
			}
		}
	})
}

func FuzzParseIndex(f *testing.F) {
	f.Add([]byte(`{"SelfRC":{"train":["https://h/0.parquet"],"test":[]}}`))
	f.Add([]byte(`{"a":{"b":"c"}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		idx, err := ParseIndex(data)
		if err != nil {
			return
		}
		for cfg := range idx {
			for split, urls := range idx[cfg] {
				if _, err := pickSplit("d", split, idx); err != nil && len(urls) > 0 {
					t.Fatalf("split %q listed but not picked: %v", split, err)
				}
				if _, err := pickSplit("d", split, idx); err != nil && taskerr.Name(err) != taskerr.InputNotFound {
					t.Fatalf("unnamed error %v", err)
				}
			}
		}
	})
}
