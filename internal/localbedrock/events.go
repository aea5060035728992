package localbedrock

import (
	"encoding/json"
	"log/slog"
	"strings"

	"github.com/google/uuid"

	"github.com/bbo-dev/bbo/internal/models"
)

// Event detail-type and source of Bedrock's batch job events.
const (
	EventSource     = "aws.bedrock"
	EventDetailType = "Batch Inference Job State Change"
)

// Event is the EventBridge envelope of a job state change.
type Event struct {
	Version    string      `json:"version"`
	ID         string      `json:"id"`
	DetailType string      `json:"detail-type"`
	Source     string      `json:"source"`
	Account    string      `json:"account"`
	Time       string      `json:"time"`
	Region     string      `json:"region"`
	Resources  []string    `json:"resources"`
	Detail     EventDetail `json:"detail"`
}

// EventDetail is the detail of a "Batch Inference Job State Change" event,
// with the fields AWS documents.
type EventDetail struct {
	Version        string `json:"version"`
	AccountID      string `json:"accountId"`
	BatchJobName   string `json:"batchJobName"`
	BatchJobArn    string `json:"batchJobArn"`
	BatchModelID   string `json:"batchModelId"`
	Status         string `json:"status"`
	FailureMessage string `json:"failureMessage"`
	CreationTime   string `json:"creationTime"`
}

// modelArn is the batchModelId of an event: the model's ARN.
func (s *Server) modelArn(id string) string {
	switch {
	case strings.HasPrefix(id, "arn:"):
		return id
	case isProfile(id):
		return "arn:aws:bedrock:" + s.cfg.Region + ":" + s.cfg.AccountID + ":inference-profile/" + id
	}
	return "arn:aws:bedrock:" + s.cfg.Region + "::foundation-model/" + id
}

// isProfile reports whether id is a cross-region inference profile id
// ("us.anthropic....").
func isProfile(id string) bool {
	base, err := models.BaseModelID(id)
	return err == nil && base != id
}

// emit sends the job's current state as an event, unless events are
// dropped or the server is closed.
func (s *Server) emit(j *job) {
	s.mu.Lock()
	if s.faults.dropEvents || s.closed || s.cfg.Events == nil {
		s.mu.Unlock()
		return
	}
	ev := Event{
		Version: "0", ID: uuid.NewString(), DetailType: EventDetailType, Source: EventSource,
		Account: s.cfg.AccountID, Time: s.cfg.Now().UTC().Format("2006-01-02T15:04:05Z"), Region: s.cfg.Region,
		Resources: []string{j.arn},
		Detail: EventDetail{
			Version: "0.0", AccountID: s.cfg.AccountID, BatchJobName: j.name, BatchJobArn: j.arn,
			BatchModelID: s.modelArn(j.req.ModelID), Status: j.status, FailureMessage: j.message,
			CreationTime: j.submit.UTC().Format("Jan 2, 2006, 3:04:05 PM"),
		},
	}
	if !Terminal(j.status) || j.status == StatusCompleted || j.status == StatusPartiallyCompleted {
		ev.Detail.FailureMessage = ""
	}
	sink := s.cfg.Events
	s.mu.Unlock()
	b, err := json.Marshal(ev)
	if err != nil {
		s.log.Error("encode job event", slog.String("job_arn", j.arn), slog.Any("error", err))
		return
	}
	sink(s.ctx, b)
}
