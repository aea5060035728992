// Package lambdaerr converts handler errors into the form the Lambda runtime
// reports to Step Functions, so a state machine sees bbo's error names
// (taskerr) rather than Go type names.
package lambdaerr

import (
	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/bbo-dev/bbo/internal/taskerr"
)

// Convert returns err as a Lambda invoke error whose type is the taskerr
// name; nil stays nil.
func Convert(err error) error {
	if err == nil {
		return nil
	}
	return messages.InvokeResponse_Error{Type: taskerr.Name(err), Message: err.Error()}
}
