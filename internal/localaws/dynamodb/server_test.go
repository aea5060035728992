package dynamodb_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	smithy "github.com/aws/smithy-go"

	"github.com/bbo-dev/bbo/internal/awsenv"
	local "github.com/bbo-dev/bbo/internal/localaws/dynamodb"
)

func newClient(t *testing.T, path string) (*dynamodb.Client, *local.Server) {
	t.Helper()
	srv, err := local.New(path)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	cfg := awsenv.Static(hs.URL)
	cfg.RetryMaxAttempts = 1
	return dynamodb.NewFromConfig(cfg), srv
}

func createTable(t *testing.T, c *dynamodb.Client, name string) {
	t.Helper()
	_, err := c.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatal(err)
	}
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v int) types.AttributeValue    { return &types.AttributeValueMemberN{Value: strconv.Itoa(v)} }

func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestItemLifecycle(t *testing.T) {
	ctx := context.Background()
	c, _ := newClient(t, "")
	createTable(t, c, "t")
	desc, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("t")})
	if err != nil || desc.Table.TableStatus != types.TableStatusActive || aws.ToString(desc.Table.KeySchema[0].AttributeName) != "pk" {
		t.Fatalf("DescribeTable = %+v, %v", desc, err)
	}
	put := func(cond string, names map[string]string, vals map[string]types.AttributeValue, item map[string]types.AttributeValue) error {
		in := &dynamodb.PutItemInput{TableName: aws.String("t"), Item: item, ExpressionAttributeNames: names, ExpressionAttributeValues: vals}
		if cond != "" {
			in.ConditionExpression = aws.String(cond)
		}
		_, err := c.PutItem(ctx, in)
		return err
	}
	item := map[string]types.AttributeValue{"pk": s("a"), "status": s("InProgress"), "n": n(3),
		"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"x": &types.AttributeValueMemberBOOL{Value: true}}},
		"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{}}}
	if err := put("attribute_not_exists(pk)", nil, nil, item); err != nil {
		t.Fatal(err)
	}
	if err := put("attribute_not_exists(pk)", nil, nil, item); errCode(err) != "ConditionalCheckFailedException" {
		t.Fatalf("second conditional put: %v, want ConditionalCheckFailedException", err)
	}
	var ccf *types.ConditionalCheckFailedException
	if err := put("attribute_not_exists(pk)", nil, nil, item); !errors.As(err, &ccf) {
		t.Fatalf("error %T is not *types.ConditionalCheckFailedException", err)
	}

	got, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("t"), Key: map[string]types.AttributeValue{"pk": s("a")}})
	if err != nil {
		t.Fatal(err)
	}
	if v := got.Item["n"].(*types.AttributeValueMemberN).Value; v != "3" {
		t.Errorf("n = %s", v)
	}
	if l, ok := got.Item["l"].(*types.AttributeValueMemberL); !ok || len(l.Value) != 0 {
		t.Errorf("empty list did not round-trip: %#v", got.Item["l"])
	}

	upd := func(expr, cond string, vals map[string]types.AttributeValue) (*dynamodb.UpdateItemOutput, error) {
		in := &dynamodb.UpdateItemInput{TableName: aws.String("t"), Key: map[string]types.AttributeValue{"pk": s("a")},
			UpdateExpression: aws.String(expr), ExpressionAttributeNames: map[string]string{"#s": "status"},
			ExpressionAttributeValues: vals, ReturnValues: types.ReturnValueAllNew}
		if cond != "" {
			in.ConditionExpression = aws.String(cond)
		}
		return c.UpdateItem(ctx, in)
	}
	out, err := upd("SET #s = :c REMOVE n", "NOT (#s IN (:c, :f))", map[string]types.AttributeValue{":c": s("Completed"), ":f": s("Failed")})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := out.Attributes["n"]; ok || out.Attributes["status"].(*types.AttributeValueMemberS).Value != "Completed" {
		t.Errorf("ALL_NEW = %v", out.Attributes)
	}
	if _, err := upd("SET #s = :c", "NOT (#s IN (:c, :f))", map[string]types.AttributeValue{":c": s("InProgress"), ":f": s("Completed")}); errCode(err) != "ConditionalCheckFailedException" {
		t.Fatalf("regressing update: %v", err)
	}

	if _, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("t"), Key: map[string]types.AttributeValue{"pk": s("a")},
		ConditionExpression: aws.String("attribute_exists(pk)")}); err != nil {
		t.Fatal(err)
	}
	got, err = c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("t"), Key: map[string]types.AttributeValue{"pk": s("a")}})
	if err != nil || got.Item != nil {
		t.Fatalf("after delete: %v, %v", got.Item, err)
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	c, _ := newClient(t, "")
	createTable(t, c, "t")
	key := map[string]types.AttributeValue{"pk": s("a")}
	tests := []struct {
		name string
		call func() error
		code string
		msg  string
	}{
		{"missing table", func() error {
			_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("nope"), Key: key})
			return err
		}, "ResourceNotFoundException", "nope"},
		{"duplicate table", func() error {
			_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("t"),
				KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
				AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}}})
			return err
		}, "ResourceInUseException", ""},
		{"unsupported function", func() error {
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"), Item: key, ConditionExpression: aws.String("begins_with(pk, :p)"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("a")}})
			return err
		}, "ValidationException", "begins_with"},
		{"unused value", func() error {
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"), Item: key, ConditionExpression: aws.String("attribute_not_exists(pk)"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("a")}})
			return err
		}, "ValidationException", "unused"},
		{"undefined name", func() error {
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"), Item: key, ConditionExpression: aws.String("attribute_not_exists(#x)")})
			return err
		}, "ValidationException", "#x"},
		{"update key", func() error {
			_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("t"), Key: key, UpdateExpression: aws.String("SET pk = :v"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":v": s("b")}})
			return err
		}, "ValidationException", "part of the key"},
		{"ADD clause", func() error {
			_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("t"), Key: key, UpdateExpression: aws.String("ADD c :v"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":v": n(1)}})
			return err
		}, "ValidationException", "ADD clause"},
		{"wrong key type", func() error {
			_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("t"), Key: map[string]types.AttributeValue{"pk": n(1)}})
			return err
		}, "ValidationException", "does not match the schema"},
		{"unimplemented op", func() error {
			_, err := c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("t")})
			return err
		}, "UnknownOperationException", "Query"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if errCode(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error = %v, want code %s mentioning %q", err, tc.code, tc.msg)
			}
		})
	}
}

func TestScanPaginationAndPersistence(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.json")
	c, _ := newClient(t, path)
	createTable(t, c, "t")
	for i := range 25 {
		st := "InProgress"
		if i%5 == 0 {
			st = "Completed"
		}
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"), Item: map[string]types.AttributeValue{
			"pk": s("job" + strconv.Itoa(i)), "status": s(st), "age": n(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	scanAll := func(c *dynamodb.Client) (items, pages int) {
		p := dynamodb.NewScanPaginator(c, &dynamodb.ScanInput{TableName: aws.String("t"), Limit: aws.Int32(4),
			FilterExpression:          aws.String("#s <> :c AND age >= :min"),
			ExpressionAttributeNames:  map[string]string{"#s": "status"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":c": s("Completed"), ":min": n(2)}})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			items += len(out.Items)
		}
		return items, pages
	}
	// 25 items, 5 Completed, items 0 and 1 below min (0 is Completed): 25-5-1 = 19.
	if items, pages := scanAll(c); items != 19 || pages < 7 {
		t.Fatalf("scan: %d items in %d pages, want 19 in ≥ 7", items, pages)
	}
	c2, _ := newClient(t, path)
	if items, _ := scanAll(c2); items != 19 {
		t.Fatalf("after reload: %d items, want 19", items)
	}
}
