package dynamodb

import (
	"strconv"
	"testing"
)

func BenchmarkConditionParseEval(b *testing.B) {
	const expr = "attribute_exists(#pk) AND NOT (#st IN (:t0, :t1, :t2, :t3, :t4))"
	names := map[string]string{"#pk": "job_arn", "#st": "status"}
	vals := map[string]Value{":t0": S("Completed"), ":t1": S("PartiallyCompleted"), ":t2": S("Failed"), ":t3": S("Stopped"), ":t4": S("Expired")}
	item := Item{"job_arn": S("arn:x"), "status": S("InProgress")}
	b.ReportAllocs()
	b.SetBytes(int64(len(expr)))
	for b.Loop() {
		c, err := parseCondition(expr, newEnv(names, vals))
		if err != nil || !c.eval(item) {
			b.Fatal(err)
		}
	}
}

func BenchmarkScan1000(b *testing.B) {
	s, _ := New("")
	if _, err := s.Do("CreateTable", []byte(`{"TableName":"t","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}]}`)); err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		body := `{"TableName":"t","Item":{"pk":{"S":"arn:` + strconv.Itoa(i) + `"},"status":{"S":"InProgress"}}}`
		if _, err := s.Do("PutItem", []byte(body)); err != nil {
			b.Fatal(err)
		}
	}
	req := []byte(`{"TableName":"t","FilterExpression":"attribute_not_exists(#cb)","ExpressionAttributeNames":{"#cb":"callback"}}`)
	b.ReportAllocs()
	var n int
	for b.Loop() {
		out, err := s.Do("Scan", req)
		if err != nil {
			b.Fatal(err)
		}
		n = len(out)
	}
	b.SetBytes(int64(n))
}
