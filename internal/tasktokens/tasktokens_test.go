package tasktokens_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/bbo-dev/bbo/internal/awsenv"
	localddb "github.com/bbo-dev/bbo/internal/localaws/dynamodb"
	"github.com/bbo-dev/bbo/internal/tasktokens"
)

func newStore(t *testing.T) (*tasktokens.Store, *time.Time) {
	t.Helper()
	srv, err := localddb.New("")
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	cfg := awsenv.Static(hs.URL)
	cfg.RetryMaxAttempts = 1
	c := dynamodb.NewFromConfig(cfg)
	if _, err := c.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String("tasks"),
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("job_arn"), KeyType: types.KeyTypeHash}},
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("job_arn"), AttributeType: types.ScalarAttributeTypeS}},
	}); err != nil {
		t.Fatal(err)
	}
	st := tasktokens.New(c, "tasks")
	now := time.Unix(1_700_000_000, 0)
	st.Now = func() time.Time { return now }
	return st, &now
}

func TestPutGet(t *testing.T) {
	ctx := context.Background()
	st, now := newStore(t)
	if _, err := st.Get(ctx, "arn:x"); !errors.Is(err, tasktokens.ErrNotFound) {
		t.Fatalf("Get missing = %v, want ErrNotFound", err)
	}
	err := st.Put(ctx, tasktokens.Item{JobArn: "arn:x", TaskToken: "tok", Job: []byte(`{"job_name":"j"}`), Status: "Submitted"}, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	it, err := st.Get(ctx, "arn:x")
	if err != nil {
		t.Fatal(err)
	}
	if it.TaskToken != "tok" || string(it.Job) != `{"job_name":"j"}` || it.Status != "Submitted" || it.Callback != "" {
		t.Errorf("item = %+v", it)
	}
	if want := now.Add(72 * time.Hour); !it.ExpiresAt.Equal(want) {
		t.Errorf("expires_at = %v, want %v (timeout + 2 days)", it.ExpiresAt, want)
	}
	if err := st.Put(ctx, tasktokens.Item{JobArn: "arn:x"}, 0); err == nil {
		t.Error("Put without a token succeeded")
	}
}

func TestStatusNeverLeavesTerminal(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	if err := st.Put(ctx, tasktokens.Item{JobArn: "arn:x", TaskToken: "tok", Status: "Submitted"}, 0); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		status  string
		updated bool
		want    string
	}{
		{"InProgress", true, "InProgress"},
		{"Completed", true, "Completed"},
		{"InProgress", false, "Completed"},
		{"Failed", false, "Completed"},
	}
	for _, s := range steps {
		t.Run(s.status, func(t *testing.T) {
			ok, err := st.UpdateStatus(ctx, "arn:x", s.status, "")
			if err != nil || ok != s.updated {
				t.Fatalf("UpdateStatus = %v, %v; want %v", ok, err, s.updated)
			}
			it, _ := st.Get(ctx, "arn:x")
			if it.Status != s.want {
				t.Errorf("status = %s, want %s", it.Status, s.want)
			}
		})
	}
	if ok, err := st.UpdateStatus(ctx, "arn:unknown", "InProgress", ""); ok || err != nil {
		t.Errorf("update of unknown job = %v, %v; want false, nil", ok, err)
	}
}

func TestMarkSentOnce(t *testing.T) {
	ctx := context.Background()
	st, now := newStore(t)
	if err := st.Put(ctx, tasktokens.Item{JobArn: "arn:x", TaskToken: "tok", Status: "InProgress"}, 0); err != nil {
		t.Fatal(err)
	}
	won, err := st.MarkSent(ctx, "arn:x", "Completed", "")
	if err != nil || !won {
		t.Fatalf("first MarkSent = %v, %v", won, err)
	}
	if won, err := st.MarkSent(ctx, "arn:x", "Completed", ""); err != nil || won {
		t.Fatalf("duplicate MarkSent = %v, %v; want false", won, err)
	}
	// A claim abandoned longer than StaleClaim can be taken over.
	*now = now.Add(tasktokens.StaleClaim + time.Second)
	if items, err := st.ListPending(ctx, 10); err != nil || len(items) != 1 {
		t.Fatalf("stale claim not pending: %v, %v", items, err)
	}
	if won, err := st.MarkSent(ctx, "arn:x", "Completed", ""); err != nil || !won {
		t.Fatalf("takeover of stale claim = %v, %v", won, err)
	}
	if err := st.ConfirmSent(ctx, "arn:x"); err != nil {
		t.Fatal(err)
	}
	*now = now.Add(time.Hour)
	if won, _ := st.MarkSent(ctx, "arn:x", "Completed", ""); won {
		t.Fatal("MarkSent won after ConfirmSent")
	}
	if won, err := st.MarkSent(ctx, "arn:unknown", "Completed", ""); won || err != nil {
		t.Fatalf("MarkSent on unknown job = %v, %v", won, err)
	}
}

func TestUnmarkAndGone(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	for _, arn := range []string{"arn:a", "arn:b"} {
		if err := st.Put(ctx, tasktokens.Item{JobArn: arn, TaskToken: "tok", Status: "InProgress"}, 0); err != nil {
			t.Fatal(err)
		}
	}
	if won, _ := st.MarkSent(ctx, "arn:a", "Failed", "boom"); !won {
		t.Fatal("claim failed")
	}
	if err := st.Unmark(ctx, "arn:a"); err != nil {
		t.Fatal(err)
	}
	if won, _ := st.MarkSent(ctx, "arn:a", "Failed", "boom"); !won {
		t.Fatal("claim after Unmark failed")
	}
	if err := st.MarkGone(ctx, "arn:b", "execution gone"); err != nil {
		t.Fatal(err)
	}
	it, _ := st.Get(ctx, "arn:b")
	if it.Callback != tasktokens.CallbackGone || it.Message != "execution gone" {
		t.Errorf("gone item = %+v", it)
	}
	items, err := st.ListPending(ctx, 1)
	if err != nil || len(items) != 0 {
		t.Fatalf("pending = %v, %v; want none", items, err)
	}
}

func TestListPendingPaginates(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	for i := range 12 {
		arn := fmt.Sprintf("arn:%02d", i)
		if err := st.Put(ctx, tasktokens.Item{JobArn: arn, TaskToken: "tok", Status: "InProgress"}, 0); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			st.MarkSent(ctx, arn, "Completed", "")
			st.ConfirmSent(ctx, arn)
		}
	}
	items, err := st.ListPending(ctx, 5)
	if err != nil || len(items) != 8 {
		t.Fatalf("pending = %d, %v; want 8", len(items), err)
	}
}

func TestIsTerminal(t *testing.T) {
	for s, want := range map[string]bool{"Completed": true, "PartiallyCompleted": true, "Failed": true, "Stopped": true,
		"Expired": true, "InProgress": false, "Stopping": false, "Submitted": false, "": false} {
		if IsTerminal := tasktokens.IsTerminal(s); IsTerminal != want {
			t.Errorf("IsTerminal(%q) = %v", s, IsTerminal)
		}
	}
}
