// Package sns is an in-process, SNS-compatible HTTP server for tests and the
// local runtime: it speaks the AWS query protocol that the SDK's sns client
// uses (CreateTopic, ListTopics, Publish) and, instead of delivering
// messages, writes each published message to an outbox directory as one
// text file, so a person or a test can read what would have been sent.
//
// Request signatures are not checked: the server is for loopback use only.
package sns

import (
	"bufio"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Limits SNS enforces on Publish, enforced here too so local runs catch
// what AWS would reject.
const (
	// MaxMessageBytes is the largest message body SNS accepts (256 KiB).
	MaxMessageBytes = 256 * 1024
	// MaxSubjectChars is one more than the longest subject SNS accepts
	// ("less than 100 characters").
	MaxSubjectChars = 100
)

// maxRequestBytes bounds a request body: a form-encoded maximal message
// can triple in size, plus attributes.
const maxRequestBytes = 4 * MaxMessageBytes

const xmlns = "http://sns.amazonaws.com/doc/2010-03-31/"

// topicName is what SNS allows in a topic name (".fifo" suffix included).
var topicName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}(\.fifo)?$`)

// Server is an SNS endpoint that writes published messages to files. Its
// zero value is not usable; call New.
type Server struct {
	outbox  string
	region  string
	account string
	now     func() time.Time

	mu     sync.Mutex
	topics []string // ARNs in creation order
}

// Option configures a Server.
type Option func(*Server)

// WithRegion sets the region in topic ARNs (default us-east-1).
func WithRegion(region string) Option { return func(s *Server) { s.region = region } }

// WithAccount sets the account id in topic ARNs (default 000000000000).
func WithAccount(account string) Option { return func(s *Server) { s.account = account } }

// WithClock sets the clock used for message timestamps (tests).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// New returns a server writing to outbox, creating the directory if needed.
func New(outbox string, opts ...Option) (*Server, error) {
	if err := os.MkdirAll(outbox, 0o755); err != nil {
		return nil, fmt.Errorf("sns outbox: %w", err)
	}
	s := &Server{outbox: outbox, region: "us-east-1", account: "000000000000", now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// Outbox returns the directory messages are written to.
func (s *Server) Outbox() string { return s.outbox }

// CreateTopic creates the topic (idempotently, as SNS does) and returns its
// ARN. It is the Go-side equivalent of the CreateTopic action, for setting
// up a local runtime without a client.
func (s *Server) CreateTopic(name string) (string, error) {
	if !topicName.MatchString(name) {
		return "", fmt.Errorf("invalid topic name %q: use 1-256 letters, digits, '-' or '_'", name)
	}
	arn := fmt.Sprintf("arn:aws:sns:%s:%s:%s", s.region, s.account, name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.topics, arn) {
		s.topics = append(s.topics, arn)
	}
	return arn, nil
}

func (s *Server) hasTopic(arn string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Contains(s.topics, arn)
}

// apiError is an error in the query protocol's XML error format.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func invalidParameter(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidParameter", "Invalid parameter: " + fmt.Sprintf(format, args...)}
}

// ServeHTTP handles one query-protocol request (POST form or GET query).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := uuid.NewString()
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBytes)
	if err := r.ParseForm(); err != nil {
		writeError(w, requestID, &apiError{http.StatusBadRequest, "MalformedQueryString", "cannot parse the request: " + err.Error()})
		return
	}
	action := r.Form.Get("Action")
	var (
		result any
		err    error
	)
	switch action {
	case "CreateTopic":
		result, err = s.createTopic(r)
	case "ListTopics":
		result = s.listTopics()
	case "Publish":
		result, err = s.publish(r)
	case "":
		err = &apiError{http.StatusBadRequest, "MissingAction", "the request has no Action parameter"}
	default:
		err = &apiError{http.StatusBadRequest, "InvalidAction", fmt.Sprintf("the action %s is not supported by the local SNS server (CreateTopic, ListTopics, Publish)", action)}
	}
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = &apiError{http.StatusInternalServerError, "InternalError", err.Error()}
		}
		writeError(w, requestID, ae)
		return
	}
	writeXML(w, http.StatusOK, response{
		XMLName:  xml.Name{Local: action + "Response"},
		Xmlns:    xmlns,
		Result:   result,
		Metadata: metadata{RequestID: requestID},
	})
}

type response struct {
	XMLName  xml.Name
	Xmlns    string   `xml:"xmlns,attr"`
	Result   any      // each result type names its own element
	Metadata metadata `xml:"ResponseMetadata"`
}

type metadata struct {
	RequestID string `xml:"RequestId"`
}

type createTopicResult struct {
	XMLName  xml.Name `xml:"CreateTopicResult"`
	TopicArn string   `xml:"TopicArn"`
}

type listTopicsResult struct {
	XMLName xml.Name `xml:"ListTopicsResult"`
	Topics  []topic  `xml:"Topics>member"`
}

type topic struct {
	TopicArn string `xml:"TopicArn"`
}

type publishResult struct {
	XMLName   xml.Name `xml:"PublishResult"`
	MessageID string   `xml:"MessageId"`
}

type errorResponse struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Xmlns     string   `xml:"xmlns,attr"`
	Error     errorBody
	RequestID string `xml:"RequestId"`
}

type errorBody struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

func writeError(w http.ResponseWriter, requestID string, e *apiError) {
	kind := "Sender"
	if e.status >= 500 {
		kind = "Receiver"
	}
	writeXML(w, e.status, errorResponse{Xmlns: xmlns, Error: errorBody{Type: kind, Code: e.code, Message: e.message}, RequestID: requestID})
}

func writeXML(w http.ResponseWriter, status int, v any) {
	body, err := xml.Marshal(v)
	if err != nil {
		// Only our own fixed types are marshalled; failing here is a bug.
		http.Error(w, "marshal response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(body)
}

func (s *Server) createTopic(r *http.Request) (any, error) {
	name := r.Form.Get("Name")
	arn, err := s.CreateTopic(name)
	if err != nil {
		return nil, invalidParameter("Topic Name: %v", err)
	}
	return createTopicResult{TopicArn: arn}, nil
}

func (s *Server) listTopics() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	res := listTopicsResult{Topics: make([]topic, len(s.topics))}
	for i, arn := range s.topics {
		res.Topics[i] = topic{arn}
	}
	return res
}

func (s *Server) publish(r *http.Request) (any, error) {
	f := r.Form
	arn := f.Get("TopicArn")
	if arn == "" {
		arn = f.Get("TargetArn")
	}
	switch {
	case f.Get("PhoneNumber") != "":
		return nil, invalidParameter("PhoneNumber: SMS is not supported by the local SNS server")
	case arn == "":
		return nil, invalidParameter("TopicArn or TargetArn Reason: no value for required parameter")
	case !s.hasTopic(arn):
		return nil, &apiError{http.StatusNotFound, "NotFound", "Topic does not exist: " + arn}
	}
	msg := Message{TopicArn: arn, Subject: f.Get("Subject"), Body: f.Get("Message")}
	if err := checkMessage(msg); err != nil {
		return nil, err
	}
	msg.ID = uuid.NewString()
	msg.Time = s.now().UTC()
	if err := s.write(msg); err != nil {
		return nil, err
	}
	return publishResult{MessageID: msg.ID}, nil
}

// checkMessage applies SNS's Publish constraints.
func checkMessage(m Message) error {
	switch {
	case m.Body == "":
		return invalidParameter("Empty message")
	case len(m.Body) > MaxMessageBytes:
		return invalidParameter("Message too long: %d bytes, at most %d", len(m.Body), MaxMessageBytes)
	case !utf8.ValidString(m.Body):
		return invalidParameter("Message: not valid UTF-8")
	}
	if m.Subject == "" {
		return nil
	}
	if !utf8.ValidString(m.Subject) || utf8.RuneCountInString(m.Subject) >= MaxSubjectChars {
		return invalidParameter("Subject: must be UTF-8 and less than %d characters", MaxSubjectChars)
	}
	if strings.ContainsFunc(m.Subject, unicode.IsControl) {
		return invalidParameter("Subject: must not contain line breaks or control characters")
	}
	return nil
}

// Message is one published message as stored in the outbox.
type Message struct {
	// ID is the MessageId returned to the publisher.
	ID string
	// Time is when the message was published (UTC).
	Time time.Time
	// TopicArn is the topic the message was published to.
	TopicArn string
	// Subject is the optional subject line.
	Subject string
	// Body is the message text.
	Body string
}

// timeLayout sorts lexically in time order, so ls lists messages in order.
const timeLayout = "20060102T150405.000000000Z"

func (s *Server) write(m Message) error {
	name := m.Time.Format(timeLayout) + "-" + m.ID + ".txt"
	var b strings.Builder
	b.WriteString("Message-Id: " + m.ID + "\n")
	b.WriteString("Date: " + m.Time.Format(time.RFC3339Nano) + "\n")
	b.WriteString("Topic-Arn: " + m.TopicArn + "\n")
	if m.Subject != "" {
		b.WriteString("Subject: " + m.Subject + "\n")
	}
	b.WriteString("\n")
	b.WriteString(m.Body)
	path := filepath.Join(s.outbox, name)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write outbox message: %w", err)
	}
	// Rename so a reader polling the outbox never sees half a message.
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write outbox message: %w", err)
	}
	return nil
}

// ReadOutbox returns the messages in dir, oldest first.
func ReadOutbox(dir string) ([]Message, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		return nil, err
	}
	slices.Sort(files) // names start with a sortable timestamp
	msgs := make([]Message, 0, len(files))
	for _, f := range files {
		m, err := ReadMessage(f)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// ReadMessage reads one outbox file.
func ReadMessage(path string) (Message, error) {
	fh, err := os.Open(path)
	if err != nil {
		return Message{}, err
	}
	defer fh.Close()
	m, err := parseMessage(fh)
	if err != nil {
		return Message{}, fmt.Errorf("outbox message %s: %w", path, err)
	}
	return m, nil
}

func parseMessage(r io.Reader) (Message, error) {
	tr := textproto.NewReader(bufio.NewReader(io.LimitReader(r, maxRequestBytes)))
	h, err := tr.ReadMIMEHeader()
	if err != nil {
		return Message{}, fmt.Errorf("read headers: %w", err)
	}
	body, err := io.ReadAll(tr.R)
	if err != nil {
		return Message{}, fmt.Errorf("read body: %w", err)
	}
	m := Message{ID: h.Get("Message-Id"), TopicArn: h.Get("Topic-Arn"), Subject: h.Get("Subject"), Body: string(body)}
	if d := h.Get("Date"); d != "" {
		if m.Time, err = time.Parse(time.RFC3339Nano, d); err != nil {
			return Message{}, fmt.Errorf("the Date header: %w", err)
		}
	}
	return m, nil
}
