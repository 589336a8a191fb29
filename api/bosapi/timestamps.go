package bosapi

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// Timestamps on the wire. BOS writes naive timestamps, YYYY-MM-DDTHH:MM:SS (Python's
// isoformat(timespec='seconds'), the pod's local time, which is UTC on CSM), and reads any
// form dateutil understands. The domain types keep time.Time at full precision (the store
// and the reconciler's timeouts need it), so the API converts at its edge only:
//
//   - every answer writes the values of the timestamp keys as naive UTC, whole seconds;
//   - every request body may use that form or RFC 3339 (fraction and zone optional); a
//     zone is converted to UTC (BOS's dateutil drops it and keeps the wall-clock time), a
//     naive time is taken as UTC, and anything else is 400 naming the key;
//   - the Client reads either form back.
//
// The keys are found in the JSON text: `"last_updated":` can only be a key, since a quote
// inside a JSON string is escaped.

// WireTimeLayout is BOS's timestamp format: naive, whole seconds.
const WireTimeLayout = "2006-01-02T15:04:05"

// timeKeys are the JSON keys whose values are timestamps in the v1 and v2 APIs.
// "time" is a component history entry's (our extension).
var timeKeys = []string{"last_updated", "start_time", "end_time", "stop_time", "time"}

// ParseWireTime parses a timestamp as BOS accepts one: naive (taken as UTC) or RFC 3339,
// each with or without a fraction of a second. The result is in UTC.
func ParseWireTime(s string) (time.Time, error) {
	layout := WireTimeLayout
	if len(s) > len(WireTimeLayout) && strings.ContainsAny(s[len(WireTimeLayout):], "Z+-") {
		layout = time.RFC3339 // a zone follows the seconds (and fraction)
	}
	t, err := time.Parse(layout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a timestamp (YYYY-MM-DDTHH:MM:SS or RFC 3339)", s)
	}
	return t.UTC(), nil
}

// FormatWireTime is t as BOS writes it: UTC, naive, whole seconds.
func FormatWireTime(t time.Time) string { return t.UTC().Format(WireTimeLayout) }

// rewriteTimes returns raw with conv applied to the string value of every timestamp key;
// values that are not plain strings (null, or with escapes) are left alone.
func rewriteTimes(raw []byte, conv func(key, v string) (string, error)) ([]byte, error) {
	for _, key := range timeKeys {
		needle := []byte(`"` + key + `"`)
		if !bytes.Contains(raw, needle) {
			continue
		}
		out := make([]byte, 0, len(raw))
		rest := raw
		for {
			i := bytes.Index(rest, needle)
			if i < 0 {
				out = append(out, rest...)
				break
			}
			j := i + len(needle)
			j = skipSpace(rest, j)
			if j >= len(rest) || rest[j] != ':' {
				out = append(out, rest[:j]...)
				rest = rest[j:]
				continue
			}
			j = skipSpace(rest, j+1)
			if j >= len(rest) || rest[j] != '"' {
				out = append(out, rest[:j]...)
				rest = rest[j:]
				continue
			}
			end := bytes.IndexAny(rest[j+1:], `"\`)
			if end < 0 || rest[j+1+end] != '"' {
				out = append(out, rest[:j+1]...)
				rest = rest[j+1:]
				continue
			}
			v, err := conv(key, string(rest[j+1:j+1+end]))
			if err != nil {
				return nil, err
			}
			out = append(out, rest[:j+1]...)
			out = append(out, v...)
			out = append(out, '"')
			rest = rest[j+1+end+1:]
		}
		raw = out
	}
	return raw, nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// ToWire rewrites our JSON's timestamps in BOS's form.
func ToWire(raw []byte) []byte {
	out, _ := rewriteTimes(raw, func(_, v string) (string, error) {
		t, err := ParseWireTime(v)
		if err != nil {
			return v, nil // not ours to judge
		}
		return FormatWireTime(t), nil
	})
	return out
}

// FromWire rewrites incoming timestamps as RFC 3339 in UTC, which encoding/json reads; a
// value that is no timestamp is an error naming its key.
func FromWire(raw []byte) ([]byte, error) {
	return rewriteTimes(raw, func(key, v string) (string, error) {
		t, err := ParseWireTime(v)
		if err != nil {
			return "", fmt.Errorf("%s: %w", key, err)
		}
		return t.Format(time.RFC3339Nano), nil
	})
}
