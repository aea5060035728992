package taskerr

import (
	"errors"
	"fmt"
	"testing"
)

func TestName(t *testing.T) {
	base := New(Throttled, "bedrock said slow down")
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"named", base, Throttled},
		{"wrapped by fmt", fmt.Errorf("start job 3: %w", base), Throttled},
		{"rewrap keeps inner name", Wrap(Internal, fmt.Errorf("x: %w", base)), Throttled},
		{"plain error", errors.New("boom"), Internal},
		{"wrap plain", Wrap(InputNotFound, errors.New("no such key")), InputNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Name(tc.err); got != tc.want {
				t.Errorf("Name = %q, want %q", got, tc.want)
			}
		})
	}
	if Wrap(Internal, nil) != nil {
		t.Error("Wrap(nil) must stay nil")
	}
}
