// Package dynamodb is a small in-process DynamoDB-compatible HTTP server
// (JSON 1.0 protocol) implementing the operations bbo's task-token store
// uses, so the real AWS SDK client runs against it in tests and in the
// local runtime. State lives in memory and, optionally, in a JSON file.
package dynamodb

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// targetPrefix is the X-Amz-Target prefix of every DynamoDB operation.
const targetPrefix = "DynamoDB_20120810."

// maxBody bounds a request body; DynamoDB items are at most 400 KB.
const maxBody = 16 << 20

// Server is a DynamoDB-compatible http.Handler. The zero value is not
// usable; create one with New.
type Server struct {
	mu     sync.Mutex
	tables map[string]*table
	path   string
}

type keyElem struct {
	AttributeName string `json:"AttributeName"`
	KeyType       string `json:"KeyType"`
}

type attrDef struct {
	AttributeName string `json:"AttributeName"`
	AttributeType string `json:"AttributeType"`
}

type table struct {
	Name      string          `json:"name"`
	KeySchema []keyElem       `json:"key_schema"`
	AttrDefs  []attrDef       `json:"attribute_definitions"`
	Created   float64         `json:"created"`
	Items     map[string]Item `json:"items"`
}

// New returns a server. If path is not empty, tables are loaded from that
// JSON file when it exists and saved to it after every change.
func New(path string) (*Server, error) {
	s := &Server{tables: map[string]*table{}, path: path}
	if path == "" {
		return s, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("local dynamodb: open state %s: %w", path, err)
	}
	defer f.Close()
	if err := json.NewDecoder(f).Decode(&s.tables); err != nil {
		return nil, fmt.Errorf("local dynamodb: read state %s: %w (delete the file to start empty)", path, err)
	}
	for name, t := range s.tables {
		if t == nil || len(t.KeySchema) == 0 {
			return nil, fmt.Errorf("local dynamodb: state %s: table %q has no key schema (delete the file to start empty)", path, name)
		}
		if t.Items == nil {
			t.Items = map[string]Item{}
		}
	}
	return s, nil
}

// save writes the state file atomically; the caller holds s.mu.
func (s *Server) save() error {
	if s.path == "" {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".dynamodb-*.json")
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	err = json.NewEncoder(tmp).Encode(s.tables)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), s.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save state %s: %w", s.path, err)
	}
	return nil
}

// apiError is an error with a DynamoDB error code.
type apiError struct {
	code   string
	msg    string
	status int
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func validation(format string, args ...any) error {
	return &apiError{code: "ValidationException", msg: fmt.Sprintf(format, args...), status: http.StatusBadRequest}
}

var errConditionFailed = &apiError{code: "ConditionalCheckFailedException", msg: "The conditional request failed", status: http.StatusBadRequest}

func notFound(name string) error {
	return &apiError{code: "ResourceNotFoundException", msg: fmt.Sprintf("Requested resource not found: Table: %s not found", name), status: http.StatusBadRequest}
}

// ServeHTTP implements the DynamoDB JSON 1.0 protocol.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, &apiError{code: "UnknownOperationException", msg: "DynamoDB requests are POST", status: http.StatusBadRequest})
		return
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	if !ok {
		writeError(w, &apiError{code: "UnknownOperationException", msg: fmt.Sprintf("X-Amz-Target %q is not a DynamoDB_20120810 operation", r.Header.Get("X-Amz-Target")), status: http.StatusBadRequest})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		writeError(w, validation("read request body: %v", err))
		return
	}
	if len(body) > maxBody {
		writeError(w, validation("request body is larger than %d bytes", maxBody))
		return
	}
	out, err := s.Do(op, body)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Write(out)
}

// Do runs one operation on a JSON request body and returns the JSON
// response body; errors carry the DynamoDB error code.
func (s *Server) Do(op string, body []byte) ([]byte, error) {
	var (
		out any
		err error
	)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch op {
	case "CreateTable":
		out, err = s.createTable(body)
	case "DescribeTable":
		out, err = s.describeTable(body)
	case "PutItem":
		out, err = s.putItem(body)
	case "GetItem":
		out, err = s.getItem(body)
	case "UpdateItem":
		out, err = s.updateItem(body)
	case "DeleteItem":
		out, err = s.deleteItem(body)
	case "Scan":
		out, err = s.scan(body)
	default:
		return nil, &apiError{code: "UnknownOperationException", msg: fmt.Sprintf("operation %s is not implemented by the local DynamoDB (supported: CreateTable, DescribeTable, PutItem, GetItem, UpdateItem, DeleteItem, Scan)", op), status: http.StatusBadRequest}
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

func writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{code: "InternalServerError", msg: err.Error(), status: http.StatusInternalServerError}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-ErrorType", ae.code)
	w.WriteHeader(ae.status)
	json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.dynamodb.v20120810#" + ae.code, "message": ae.msg})
}

func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return validation("malformed request: %v", err)
	}
	return nil
}

func (s *Server) table(name string) (*table, error) {
	if name == "" {
		return nil, validation("TableName is required")
	}
	t, ok := s.tables[name]
	if !ok {
		return nil, notFound(name)
	}
	return t, nil
}

func (t *table) description() map[string]any {
	return map[string]any{
		"TableName":            t.Name,
		"TableStatus":          "ACTIVE",
		"KeySchema":            t.KeySchema,
		"AttributeDefinitions": t.AttrDefs,
		"ItemCount":            len(t.Items),
		"CreationDateTime":     t.Created,
		"TableArn":             "arn:aws:dynamodb:us-east-1:000000000000:table/" + t.Name,
	}
}

func (s *Server) createTable(body []byte) (any, error) {
	var in struct {
		TableName            string
		KeySchema            []keyElem
		AttributeDefinitions []attrDef
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.TableName == "" {
		return nil, validation("TableName is required")
	}
	if _, ok := s.tables[in.TableName]; ok {
		return nil, &apiError{code: "ResourceInUseException", msg: "Table already exists: " + in.TableName, status: http.StatusBadRequest}
	}
	if len(in.KeySchema) == 0 || len(in.KeySchema) > 2 || in.KeySchema[0].KeyType != "HASH" || (len(in.KeySchema) == 2 && in.KeySchema[1].KeyType != "RANGE") {
		return nil, validation("KeySchema must be one HASH key, optionally followed by one RANGE key")
	}
	for _, k := range in.KeySchema {
		found := false
		for _, d := range in.AttributeDefinitions {
			if d.AttributeName == k.AttributeName {
				found = true
				if d.AttributeType != "S" && d.AttributeType != "N" && d.AttributeType != "B" {
					return nil, validation("key attribute %s has type %q: use S, N or B", k.AttributeName, d.AttributeType)
				}
			}
		}
		if !found {
			return nil, validation("key attribute %s has no AttributeDefinitions entry", k.AttributeName)
		}
	}
	t := &table{Name: in.TableName, KeySchema: in.KeySchema, AttrDefs: in.AttributeDefinitions,
		Created: float64(time.Now().UnixMilli()) / 1000, Items: map[string]Item{}}
	s.tables[in.TableName] = t
	if err := s.save(); err != nil {
		return nil, err
	}
	return map[string]any{"TableDescription": t.description()}, nil
}

func (s *Server) describeTable(body []byte) (any, error) {
	var in struct{ TableName string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	t, err := s.table(in.TableName)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Table": t.description()}, nil
}

// keyOf returns the storage key of an item (or a Key map): the key
// attributes' JSON, which also orders Scan results deterministically.
func (t *table) keyOf(it Item, exact bool) (string, error) {
	if exact && len(it) != len(t.KeySchema) {
		return "", validation("the provided key element does not match the schema")
	}
	parts := make([]string, 0, len(t.KeySchema))
	for _, k := range t.KeySchema {
		v, ok := it[k.AttributeName]
		if !ok {
			return "", validation("the provided key element does not match the schema: missing key attribute %s", k.AttributeName)
		}
		want := t.attrType(k.AttributeName)
		if v.kind != want {
			return "", validation("the provided key element does not match the schema: %s is %s, want %s", k.AttributeName, v.kind, want)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return "", validation("key %s: %v", k.AttributeName, err)
		}
		parts = append(parts, string(b))
	}
	return strings.Join(parts, "\x00"), nil
}

func (t *table) attrType(name string) string {
	for _, d := range t.AttrDefs {
		if d.AttributeName == name {
			return d.AttributeType
		}
	}
	return ""
}

func (t *table) isKey(name string) bool {
	for _, k := range t.KeySchema {
		if k.AttributeName == name {
			return true
		}
	}
	return false
}

type exprInput struct {
	ExpressionAttributeNames  map[string]string
	ExpressionAttributeValues map[string]Value
}

func checkCondition(src *string, e *env, it Item) error {
	if src == nil {
		return nil
	}
	c, err := parseCondition(*src, e)
	if err != nil {
		return validation("ConditionExpression: %v", err)
	}
	if err := e.unused(); err != nil {
		return validation("%v", err)
	}
	if !c.eval(it) {
		return errConditionFailed
	}
	return nil
}

func rejectLegacy(raw []byte) error {
	var legacy struct {
		Expected             json.RawMessage
		ConditionalOperator  json.RawMessage
		AttributeUpdates     json.RawMessage
		ScanFilter           json.RawMessage
		AttributesToGet      json.RawMessage
		ProjectionExpression *string
		Segment              *int
	}
	if err := decode(raw, &legacy); err != nil {
		return err
	}
	switch {
	case legacy.Expected != nil, legacy.ConditionalOperator != nil:
		return validation("unsupported parameter Expected/ConditionalOperator: use ConditionExpression")
	case legacy.AttributeUpdates != nil:
		return validation("unsupported parameter AttributeUpdates: use UpdateExpression")
	case legacy.ScanFilter != nil:
		return validation("unsupported parameter ScanFilter: use FilterExpression")
	case legacy.AttributesToGet != nil, legacy.ProjectionExpression != nil:
		return validation("unsupported parameter ProjectionExpression/AttributesToGet: the local DynamoDB returns whole items")
	case legacy.Segment != nil:
		return validation("unsupported parameter Segment: parallel scans are not implemented")
	}
	return nil
}

func returnValues(rv string, old, cur Item, allowNew bool) (any, error) {
	switch rv {
	case "", "NONE":
		return map[string]any{}, nil
	case "ALL_OLD":
		if old == nil {
			return map[string]any{}, nil
		}
		return map[string]any{"Attributes": old}, nil
	case "ALL_NEW":
		if allowNew {
			return map[string]any{"Attributes": cur}, nil
		}
	}
	return nil, validation("unsupported ReturnValues %q", rv)
}

func (s *Server) putItem(body []byte) (any, error) {
	if err := rejectLegacy(body); err != nil {
		return nil, err
	}
	var in struct {
		exprInput
		TableName           string
		Item                Item
		ConditionExpression *string
		ReturnValues        string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	t, err := s.table(in.TableName)
	if err != nil {
		return nil, err
	}
	k, err := t.keyOf(in.Item, false)
	if err != nil {
		return nil, err
	}
	old := t.Items[k]
	e := newEnv(in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	if err := checkCondition(in.ConditionExpression, e, old); err != nil {
		return nil, err
	}
	if in.ConditionExpression == nil {
		if err := e.unused(); err != nil {
			return nil, validation("%v", err)
		}
	}
	out, err := returnValues(in.ReturnValues, old, nil, false)
	if err != nil {
		return nil, err
	}
	t.Items[k] = in.Item
	return out, s.save()
}

func (s *Server) getItem(body []byte) (any, error) {
	if err := rejectLegacy(body); err != nil {
		return nil, err
	}
	var in struct {
		TableName string
		Key       Item
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	t, err := s.table(in.TableName)
	if err != nil {
		return nil, err
	}
	k, err := t.keyOf(in.Key, true)
	if err != nil {
		return nil, err
	}
	if it, ok := t.Items[k]; ok {
		return map[string]any{"Item": it}, nil
	}
	return map[string]any{}, nil
}

func (s *Server) updateItem(body []byte) (any, error) {
	if err := rejectLegacy(body); err != nil {
		return nil, err
	}
	var in struct {
		exprInput
		TableName           string
		Key                 Item
		UpdateExpression    *string
		ConditionExpression *string
		ReturnValues        string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	t, err := s.table(in.TableName)
	if err != nil {
		return nil, err
	}
	k, err := t.keyOf(in.Key, true)
	if err != nil {
		return nil, err
	}
	if in.UpdateExpression == nil {
		return nil, validation("UpdateExpression is required")
	}
	e := newEnv(in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	u, err := parseUpdate(*in.UpdateExpression, e)
	if err != nil {
		return nil, validation("UpdateExpression: %v", err)
	}
	for _, a := range u.set {
		if t.isKey(a.path) {
			return nil, validation("cannot update attribute %s: this attribute is part of the key", a.path)
		}
	}
	for _, r := range u.remove {
		if t.isKey(r) {
			return nil, validation("cannot update attribute %s: this attribute is part of the key", r)
		}
	}
	old, existed := t.Items[k]
	if err := checkCondition(in.ConditionExpression, e, old); err != nil {
		return nil, err
	}
	if err := e.unused(); err != nil {
		return nil, validation("%v", err)
	}
	cur := Item{}
	for n, v := range old {
		cur[n] = v
	}
	for n, v := range in.Key {
		cur[n] = v
	}
	u.apply(cur)
	if !existed {
		old = nil
	}
	out, err := returnValues(in.ReturnValues, old, cur, true)
	if err != nil {
		return nil, err
	}
	t.Items[k] = cur
	return out, s.save()
}

func (s *Server) deleteItem(body []byte) (any, error) {
	if err := rejectLegacy(body); err != nil {
		return nil, err
	}
	var in struct {
		exprInput
		TableName           string
		Key                 Item
		ConditionExpression *string
		ReturnValues        string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	t, err := s.table(in.TableName)
	if err != nil {
		return nil, err
	}
	k, err := t.keyOf(in.Key, true)
	if err != nil {
		return nil, err
	}
	old, existed := t.Items[k]
	e := newEnv(in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	if err := checkCondition(in.ConditionExpression, e, old); err != nil {
		return nil, err
	}
	if in.ConditionExpression == nil {
		if err := e.unused(); err != nil {
			return nil, validation("%v", err)
		}
	}
	if !existed {
		old = nil
	}
	out, err := returnValues(in.ReturnValues, old, nil, false)
	if err != nil {
		return nil, err
	}
	if !existed {
		return out, nil
	}
	delete(t.Items, k)
	return out, s.save()
}

func (s *Server) scan(body []byte) (any, error) {
	if err := rejectLegacy(body); err != nil {
		return nil, err
	}
	var in struct {
		exprInput
		TableName         string
		FilterExpression  *string
		ExclusiveStartKey Item
		Limit             *int
		Select            string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	t, err := s.table(in.TableName)
	if err != nil {
		return nil, err
	}
	if in.Select != "" && in.Select != "ALL_ATTRIBUTES" && in.Select != "COUNT" {
		return nil, validation("unsupported Select %q", in.Select)
	}
	if in.Limit != nil && *in.Limit < 1 {
		return nil, validation("Limit must be at least 1")
	}
	e := newEnv(in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	var filter cond
	if in.FilterExpression != nil {
		filter, err = parseCondition(*in.FilterExpression, e)
		if err != nil {
			return nil, validation("FilterExpression: %v", err)
		}
	}
	if err := e.unused(); err != nil {
		return nil, validation("%v", err)
	}
	start := ""
	if in.ExclusiveStartKey != nil {
		start, err = t.keyOf(in.ExclusiveStartKey, true)
		if err != nil {
			return nil, validation("ExclusiveStartKey: %v", err)
		}
	}
	keys := make([]string, 0, len(t.Items))
	for k := range t.Items {
		if start == "" || k > start {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	items := []Item{}
	scanned := 0
	var last Item
	for i, k := range keys {
		if in.Limit != nil && scanned == *in.Limit {
			last = keyItem(t, t.Items[keys[i-1]])
			break
		}
		scanned++
		it := t.Items[k]
		if filter == nil || filter.eval(it) {
			items = append(items, it)
		}
	}
	out := map[string]any{"Count": len(items), "ScannedCount": scanned}
	if in.Select != "COUNT" {
		out["Items"] = items
	}
	if last != nil {
		out["LastEvaluatedKey"] = last
	}
	return out, nil
}

func keyItem(t *table, it Item) Item {
	k := Item{}
	for _, e := range t.KeySchema {
		k[e.AttributeName] = it[e.AttributeName]
	}
	return k
}
