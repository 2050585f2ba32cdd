package server

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// NewLogger returns crmbot's JSON logger at the given level (debug, info, warn, error).
func NewLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(strings.TrimSpace(level)))); err != nil && level != "" {
		return nil, fmt.Errorf("CRMBOT_LOG_LEVEL: %q is not one of debug, info, warn, error", level)
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})), nil
}
