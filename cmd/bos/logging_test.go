package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/testwait"
)

// TestLogFormatFlag: every command that logs takes --log-format text|json and refuses
// anything else before it starts.
func TestLogFormatFlag(t *testing.T) {
	ctx := testwait.Context(t)
	for _, cmd := range []string{"serve", "sim", "up", rebootProgramName} {
		err := run(ctx, []string{cmd, "--log-format", "yaml"}, &bytes.Buffer{}, &bytes.Buffer{})
		require.Error(t, err, cmd)
		assert.Contains(t, err.Error(), `invalid argument "yaml" for "--log-format"`, cmd)
		assert.Contains(t, err.Error(), "must be text or json", cmd)
	}
}

// TestLogFormatJSON: --log-format json writes one JSON object a line; text stays key=value.
func TestLogFormatJSON(t *testing.T) {
	for _, tc := range []struct {
		format logFormat
		check  func(t *testing.T, line string)
	}{
		{logFormatJSON, func(t *testing.T, line string) {
			var rec map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
			assert.Equal(t, "INFO", rec["level"])
			assert.Equal(t, "hello", rec["msg"])
			assert.Equal(t, "x1000c0s0b0n0", rec["node"])
		}},
		{logFormatText, func(t *testing.T, line string) {
			assert.Contains(t, line, `level=INFO msg=hello node=x1000c0s0b0n0`)
		}},
	} {
		t.Run(string(tc.format), func(t *testing.T) {
			var buf bytes.Buffer
			f := rebootFlags{logFile: "-", logFormat: tc.format}
			log, closeLog := f.openLog(&buf)
			log.Debug("not at INFO")
			log.Info("hello", "node", "x1000c0s0b0n0")
			closeLog()
			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			require.Len(t, lines, 1, buf.String())
			tc.check(t, lines[0])
		})
	}
}
