package main

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/pflag"
)

// Log formats --log-format accepts.
const (
	logFormatText = "text"
	logFormatJSON = "json"
)

// logFormat is the --log-format flag of every command that logs.
type logFormat string

func (f *logFormat) register(fs *pflag.FlagSet) {
	*f = logFormatText
	fs.Var(f, "log-format", `log lines as "text" (key=value) or "json" (one object a line)`)
}

func (f *logFormat) String() string { return string(*f) }
func (f *logFormat) Type() string   { return "format" }

func (f *logFormat) Set(v string) error {
	switch v {
	case logFormatText, logFormatJSON:
		*f = logFormat(v)
		return nil
	}
	return fmt.Errorf("must be %s or %s", logFormatText, logFormatJSON)
}

// newLogger is the one place a command builds its logger: w in the chosen format, from
// level (nil = INFO).
func newLogger(w io.Writer, format logFormat, level slog.Leveler) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == logFormatJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
