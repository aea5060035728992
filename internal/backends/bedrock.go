package backends

import (
	"context"
	"errors"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// InvokeModelAPI is the one bedrockruntime method the Bedrock backend
// uses; *bedrockruntime.Client implements it.
type InvokeModelAPI interface {
	InvokeModel(ctx context.Context, in *bedrockruntime.InvokeModelInput, optFns ...func(*bedrockruntime.Options)) (*bedrockruntime.InvokeModelOutput, error)
}

// Bedrock forwards each record to real on-demand Bedrock (InvokeModel)
// with the caller's AWS credentials: body in, body out. The SDK client
// does its own retries.
type Bedrock struct {
	client InvokeModelAPI
}

// NewBedrock returns the backend over a bedrockruntime client.
func NewBedrock(client InvokeModelAPI) *Bedrock { return &Bedrock{client: client} }

// Invoke calls InvokeModel; API errors keep their HTTP status (400
// validation, 429 throttling, 5xx).
func (b *Bedrock) Invoke(ctx context.Context, modelID string, body []byte) ([]byte, error) {
	out, err := b.client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{
		ModelId:     aws.String(modelID),
		Body:        body,
		ContentType: aws.String("application/json"),
		Accept:      aws.String("application/json"),
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &Error{Code: statusOf(err), Message: err.Error()}
	}
	return out.Body, nil
}

// statusOf finds the HTTP status of an SDK error.
func statusOf(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() >= 400 {
		return re.HTTPStatusCode()
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "ValidationException", "ResourceNotFoundException", "AccessDeniedException":
			return http.StatusBadRequest
		case "ThrottlingException", "ServiceQuotaExceededException":
			return http.StatusTooManyRequests
		}
	}
	return http.StatusInternalServerError
}
