package lambdaerr

import (
	"errors"
	"testing"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/bbo-dev/bbo/internal/taskerr"
)

func TestConvert(t *testing.T) {
	if Convert(nil) != nil {
		t.Fatal("nil must stay nil")
	}
	err := Convert(taskerr.New(taskerr.Throttled, "slow down"))
	var ie messages.InvokeResponse_Error
	if !errors.As(err, &ie) || ie.Type != taskerr.Throttled || ie.Message != "slow down" {
		t.Fatalf("Convert = %#v", err)
	}
	if ie := Convert(errors.New("x")).(messages.InvokeResponse_Error); ie.Type != taskerr.Internal {
		t.Fatalf("plain error type = %q, want %q", ie.Type, taskerr.Internal)
	}
}
