package lambdalog

import (
	"log/slog"
	"testing"
)

func TestLevel(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want slog.Level
	}{{"", slog.LevelInfo}, {"DEBUG", slog.LevelDebug}, {"warn", slog.LevelWarn}, {"ERROR", slog.LevelError}, {"loud", slog.LevelInfo}} {
		t.Run(tc.in, func(t *testing.T) {
			if got := Level(tc.in); got != tc.want {
				t.Errorf("Level(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}
