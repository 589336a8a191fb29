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

// rewriteTimes returns raw with the string value of every timestamp key replaced by
// what conv appends to out for it; values that are not plain strings (null, or with
// escapes) are left alone.
func rewriteTimes(raw []byte, conv func(out []byte, key string, v []byte) ([]byte, error)) ([]byte, error) {
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
			out = append(out, rest[:j+1]...)
			var err error
			if out, err = conv(out, key, rest[j+1:j+1+end]); err != nil {
				return nil, err
			}
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
//
// It reads raw once for all the keys (rewriteTimes reads it once a key), every quote a
// possible start of one: for valid JSON, which the store holds, the same result.
func ToWire(raw []byte) []byte {
	var out []byte // raw[:copied] rewritten, once a value is
	copied := 0
	for i := 0; ; {
		q := bytes.IndexByte(raw[i:], '"')
		if q < 0 {
			break
		}
		p := i + q
		i = p + 1
		key := timeKeyAt(raw[p+1:])
		if key == "" {
			continue
		}
		j := skipSpace(raw, p+1+len(key)+1)
		if j >= len(raw) || raw[j] != ':' {
			continue
		}
		j = skipSpace(raw, j+1)
		if j >= len(raw) || raw[j] != '"' {
			continue
		}
		end := bytes.IndexAny(raw[j+1:], `"\`)
		if end < 0 || raw[j+1+end] != '"' {
			continue
		}
		v := raw[j+1 : j+1+end]
		if out == nil {
			out = make([]byte, 0, len(raw))
		}
		out = append(out, raw[copied:j+1]...)
		out = appendWireTime(out, v)
		copied = j + 1 + end // the value's closing quote, copied with what follows
		i = copied + 1
	}
	if out == nil {
		return raw
	}
	return append(out, raw[copied:]...)
}

// timeKeyAt returns the timestamp key b starts with, closing quote included, or "".
func timeKeyAt(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	switch b[0] { // the first letters of timeKeys
	case 'l', 's', 'e', 't':
	default:
		return ""
	}
	for _, k := range timeKeys {
		if len(b) > len(k) && b[len(k)] == '"' && string(b[:len(k)]) == k {
			return k
		}
	}
	return ""
}

// appendWireTime appends v (a timestamp value's text) in BOS's form; a value that is no
// timestamp is appended as it is: not ours to judge.
func appendWireTime(out, v []byte) []byte {
	if wire, ok := utcToWire(v); ok {
		return append(out, wire...)
	}
	t, err := ParseWireTime(string(v))
	if err != nil {
		return append(out, v...)
	}
	return t.AppendFormat(out, WireTimeLayout)
}

// utcToWire is FormatWireTime(ParseWireTime(v)) without either for the form the store
// keeps times in, RFC 3339 in UTC ("2006-01-02T15:04:05.999999999Z"): the date and
// time as they are, the fraction dropped (Format truncates it too). Any other form, or
// a field out of its range, is not ok (ParseWireTime then judges it).
func utcToWire(v []byte) ([]byte, bool) {
	const n = len(WireTimeLayout)
	if len(v) < n+1 || v[len(v)-1] != 'Z' || v[4] != '-' || v[7] != '-' || v[10] != 'T' || v[13] != ':' || v[16] != ':' {
		return nil, false
	}
	if frac := v[n : len(v)-1]; len(frac) > 0 {
		if len(frac) < 2 || len(frac) > 10 || frac[0] != '.' || !allDigits(frac[1:]) {
			return nil, false
		}
	}
	if !allDigits(v[0:4]) || !allDigits(v[5:7]) || !allDigits(v[8:10]) || !allDigits(v[11:13]) || !allDigits(v[14:16]) || !allDigits(v[17:19]) {
		return nil, false
	}
	num := func(b []byte) int { return int(b[0]-'0')*10 + int(b[1]-'0') }
	year, month, day := num(v[0:2])*100+num(v[2:4]), num(v[5:7]), num(v[8:10])
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || num(v[11:13]) > 23 || num(v[14:16]) > 59 || num(v[17:19]) > 59 {
		return nil, false
	}
	return v[:n], true
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// daysIn is the number of days of month in year (proleptic Gregorian, as package time).
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// FromWire rewrites incoming timestamps as RFC 3339 in UTC, which encoding/json reads; a
// value that is no timestamp is an error naming its key.
func FromWire(raw []byte) ([]byte, error) {
	return rewriteTimes(raw, func(out []byte, key string, v []byte) ([]byte, error) {
		t, err := ParseWireTime(string(v))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		return t.AppendFormat(out, time.RFC3339Nano), nil
	})
}
