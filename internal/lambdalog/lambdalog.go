// Package lambdalog sets up the logger every bbo Lambda uses: log/slog JSON
// on stdout (CloudWatch Logs), at the level LOG_LEVEL names.
package lambdalog

import (
	"log/slog"
	"os"
)

// New returns the JSON logger at $LOG_LEVEL (DEBUG, INFO, WARN, ERROR;
// anything else or unset means INFO) and makes it slog's default.
func New() *slog.Logger {
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: Level(os.Getenv("LOG_LEVEL"))}))
	slog.SetDefault(log)
	return log
}

// Level parses a LOG_LEVEL value; an unknown or empty one is INFO.
func Level(s string) slog.Level {
	var l slog.Level
	if l.UnmarshalText([]byte(s)) != nil {
		return slog.LevelInfo
	}
	return l
}
