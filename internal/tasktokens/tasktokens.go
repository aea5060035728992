// Package tasktokens stores the Step Functions task token of every running
// Bedrock batch job in DynamoDB, keyed by job ARN, so the job-state handler
// can answer the waiting execution exactly once.
package tasktokens

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attribute names of a task item.
const (
	AttrJobArn    = "job_arn"
	AttrTaskToken = "task_token"
	AttrJob       = "job"
	AttrStatus    = "status"
	AttrMessage   = "message"
	AttrUpdatedAt = "updated_at"
	AttrExpiresAt = "expires_at"
	// AttrCallback records what was sent to the execution: CallbackSending
	// while one handler holds the claim, then CallbackSent or CallbackGone.
	AttrCallback = "callback"
	// AttrClaimedAt is when the current claim was taken (epoch seconds).
	AttrClaimedAt = "claimed_at"
)

// Callback states.
const (
	CallbackSending = "sending"
	CallbackSent    = "sent"
	CallbackGone    = "gone"
)

// TTLGrace is how long an item outlives its job's timeout before DynamoDB's
// TTL deletes it.
const TTLGrace = 48 * time.Hour

// StaleClaim is how old a "sending" claim must be before another handler may
// take it over: the claimant died between claiming and answering.
const StaleClaim = 5 * time.Minute

// terminal lists Bedrock's final job statuses.
var terminal = []string{"Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired"}

// IsTerminal reports whether a Bedrock batch job status is final.
func IsTerminal(status string) bool {
	for _, s := range terminal {
		if s == status {
			return true
		}
	}
	return false
}

// ErrNotFound is returned by Get for a job ARN with no item.
var ErrNotFound = errors.New("no task item for this job")

// Client is the part of the DynamoDB client the store uses.
type Client interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// Item is one running (or finished) job's record.
type Item struct {
	JobArn    string
	TaskToken string
	// Job is the JSON of the job's configuration, as the start task got it.
	Job     json.RawMessage
	Status  string
	Message string
	// Callback is "", CallbackSending, CallbackSent or CallbackGone.
	Callback  string
	ClaimedAt time.Time
	UpdatedAt time.Time
	ExpiresAt time.Time
}

// Store reads and writes task items in one table.
type Store struct {
	client Client
	table  string
	// Now is the clock; tests may replace it.
	Now func() time.Time
}

// New returns a store on table.
func New(client Client, table string) *Store {
	return &Store{client: client, table: table, Now: time.Now}
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func num(t time.Time) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(t.Unix(), 10)}
}

func (s *Store) key(arn string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrJobArn: str(arn)}
}

// Put stores a new item for a submitted job (replacing any item with the
// same ARN, as a retried start brings a new task token). It expires
// jobTimeout + TTLGrace from now.
func (s *Store) Put(ctx context.Context, it Item, jobTimeout time.Duration) error {
	if it.JobArn == "" || it.TaskToken == "" {
		return fmt.Errorf("put task item: job ARN and task token are required")
	}
	now := s.Now()
	av := map[string]types.AttributeValue{
		AttrJobArn:    str(it.JobArn),
		AttrTaskToken: str(it.TaskToken),
		AttrStatus:    str(it.Status),
		AttrUpdatedAt: num(now),
		AttrExpiresAt: num(now.Add(jobTimeout + TTLGrace)),
	}
	if len(it.Job) > 0 {
		av[AttrJob] = str(string(it.Job))
	}
	if it.Message != "" {
		av[AttrMessage] = str(it.Message)
	}
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: av})
	if err != nil {
		return fmt.Errorf("put task item for %s in table %s: %w", it.JobArn, s.table, err)
	}
	return nil
}

// Get returns the item of a job, or ErrNotFound.
func (s *Store) Get(ctx context.Context, arn string) (Item, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: s.key(arn), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Item{}, fmt.Errorf("get task item for %s from table %s: %w", arn, s.table, err)
	}
	if out.Item == nil {
		return Item{}, fmt.Errorf("job %s: %w", arn, ErrNotFound)
	}
	return decodeItem(out.Item)
}

func decodeItem(av map[string]types.AttributeValue) (Item, error) {
	var it Item
	getS := func(name string) string {
		if v, ok := av[name].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	getT := func(name string) time.Time {
		if v, ok := av[name].(*types.AttributeValueMemberN); ok {
			if n, err := strconv.ParseInt(v.Value, 10, 64); err == nil {
				return time.Unix(n, 0)
			}
		}
		return time.Time{}
	}
	it.JobArn = getS(AttrJobArn)
	if it.JobArn == "" {
		return Item{}, fmt.Errorf("task item has no %s string attribute", AttrJobArn)
	}
	it.TaskToken = getS(AttrTaskToken)
	if j := getS(AttrJob); j != "" {
		it.Job = json.RawMessage(j)
	}
	it.Status = getS(AttrStatus)
	it.Message = getS(AttrMessage)
	it.Callback = getS(AttrCallback)
	it.ClaimedAt = getT(AttrClaimedAt)
	it.UpdatedAt = getT(AttrUpdatedAt)
	it.ExpiresAt = getT(AttrExpiresAt)
	return it, nil
}

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// terminalValues returns the placeholders and values of the terminal
// statuses for an IN list.
func terminalValues(vals map[string]types.AttributeValue) string {
	list := ""
	for i, t := range terminal {
		p := ":t" + strconv.Itoa(i)
		vals[p] = str(t)
		if i > 0 {
			list += ", "
		}
		list += p
	}
	return list
}

// UpdateStatus records a job's status and message. An item whose status is
// already terminal keeps it (events arrive out of order; Bedrock's final
// status never changes), and so does a missing item: updated is false then.
func (s *Store) UpdateStatus(ctx context.Context, arn, status, message string) (updated bool, err error) {
	vals := map[string]types.AttributeValue{":s": str(status), ":m": str(message), ":u": num(s.Now())}
	in := &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       s.key(arn),
		UpdateExpression:          aws.String("SET #st = :s, #msg = :m, #up = :u"),
		ConditionExpression:       aws.String("attribute_exists(#pk) AND NOT (#st IN (" + terminalValues(vals) + "))"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrJobArn, "#st": AttrStatus, "#msg": AttrMessage, "#up": AttrUpdatedAt},
		ExpressionAttributeValues: vals,
	}
	if _, err := s.client.UpdateItem(ctx, in); err != nil {
		if isConditionFailed(err) {
			return false, nil
		}
		return false, fmt.Errorf("update status of %s to %s in table %s: %w", arn, status, s.table, err)
	}
	return true, nil
}

// MarkSent claims the right to answer the execution of a finished job and
// records its final status. Only the first caller wins (won is true); a
// duplicate or late event gets false. A claim older than StaleClaim is
// taken over, so a handler that died mid-answer does not strand the job.
// The winner calls ConfirmSent after answering, or Unmark if answering
// failed and should be retried.
func (s *Store) MarkSent(ctx context.Context, arn, status, message string) (won bool, err error) {
	now := s.Now()
	in := &dynamodb.UpdateItemInput{
		TableName:        aws.String(s.table),
		Key:              s.key(arn),
		UpdateExpression: aws.String("SET #cb = :sending, #ca = :now, #st = :s, #msg = :m, #up = :now"),
		ConditionExpression: aws.String("attribute_exists(#pk) AND (attribute_not_exists(#cb) OR " +
			"(#cb = :sending AND #ca < :stale))"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrJobArn, "#cb": AttrCallback, "#ca": AttrClaimedAt,
			"#st": AttrStatus, "#msg": AttrMessage, "#up": AttrUpdatedAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{":sending": str(CallbackSending), ":now": num(now),
			":stale": num(now.Add(-StaleClaim)), ":s": str(status), ":m": str(message)},
	}
	if _, err := s.client.UpdateItem(ctx, in); err != nil {
		if isConditionFailed(err) {
			return false, nil
		}
		return false, fmt.Errorf("claim answer for %s in table %s: %w", arn, s.table, err)
	}
	return true, nil
}

// ConfirmSent records that the execution was answered.
func (s *Store) ConfirmSent(ctx context.Context, arn string) error {
	return s.setCallback(ctx, arn, CallbackSent, "")
}

// MarkGone records that the execution no longer waits for this job (it
// timed out, was stopped, or the token is invalid); reason is kept as the
// item's message. The poller skips the item from then on.
func (s *Store) MarkGone(ctx context.Context, arn, reason string) error {
	return s.setCallback(ctx, arn, CallbackGone, reason)
}

func (s *Store) setCallback(ctx context.Context, arn, state, message string) error {
	expr := "SET #cb = :cb, #up = :u REMOVE #ca"
	names := map[string]string{"#pk": AttrJobArn, "#cb": AttrCallback, "#up": AttrUpdatedAt, "#ca": AttrClaimedAt}
	vals := map[string]types.AttributeValue{":cb": str(state), ":u": num(s.Now())}
	if message != "" {
		expr = "SET #cb = :cb, #up = :u, #msg = :m REMOVE #ca"
		names["#msg"] = AttrMessage
		vals[":m"] = str(message)
	}
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: s.key(arn), UpdateExpression: aws.String(expr),
		ConditionExpression:      aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames: names, ExpressionAttributeValues: vals,
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("mark %s as %s in table %s: %w", arn, state, s.table, err)
	}
	return nil
}

// Unmark releases a claim taken by MarkSent so a later event or poll can
// answer again.
func (s *Store) Unmark(ctx context.Context, arn string) error {
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: s.key(arn),
		UpdateExpression:          aws.String("REMOVE #cb, #ca"),
		ConditionExpression:       aws.String("#cb = :sending"),
		ExpressionAttributeNames:  map[string]string{"#cb": AttrCallback, "#ca": AttrClaimedAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{":sending": str(CallbackSending)},
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("release claim on %s in table %s: %w", arn, s.table, err)
	}
	return nil
}

// ListPending returns, page by page, the items whose execution still waits
// for an answer: never answered, or claimed by a handler longer than
// StaleClaim ago. Terminal items not yet answered are included on purpose:
// the poller finishes what a crashed handler started.
func (s *Store) ListPending(ctx context.Context, pageSize int32) ([]Item, error) {
	now := s.Now()
	in := &dynamodb.ScanInput{
		TableName:                aws.String(s.table),
		FilterExpression:         aws.String("attribute_not_exists(#cb) OR (#cb = :sending AND #ca < :stale)"),
		ExpressionAttributeNames: map[string]string{"#cb": AttrCallback, "#ca": AttrClaimedAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{":sending": str(CallbackSending),
			":stale": num(now.Add(-StaleClaim))},
		ConsistentRead: aws.Bool(true),
	}
	if pageSize > 0 {
		in.Limit = aws.Int32(pageSize)
	}
	var items []Item
	for {
		out, err := s.client.Scan(ctx, in)
		if err != nil {
			return items, fmt.Errorf("scan table %s for pending jobs: %w", s.table, err)
		}
		for _, av := range out.Items {
			it, err := decodeItem(av)
			if err != nil {
				return items, fmt.Errorf("scan table %s: %w", s.table, err)
			}
			items = append(items, it)
		}
		if len(out.LastEvaluatedKey) == 0 {
			return items, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
