package bosapi

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// referenceToWire is ToWire as it was: a pass per key, every value parsed and formatted.
func referenceToWire(raw []byte) []byte {
	out, _ := rewriteTimes(raw, func(out []byte, _ string, v []byte) ([]byte, error) {
		t, err := ParseWireTime(string(v))
		if err != nil {
			return append(out, v...), nil
		}
		return append(out, FormatWireTime(t)...), nil
	})
	return out
}

// ToWire's one pass and its shortcut for UTC times write what a pass per key with
// ParseWireTime and FormatWireTime writes, for every form of value and key placement.
func TestToWireIsThePassPerKeyItReplaces(t *testing.T) {
	values := []string{
		"2026-03-01T12:00:00Z", "2026-03-01T12:00:00.5Z", "2026-03-01T12:00:00.123456789Z", "2026-03-01T12:00:00.1234567891Z",
		"2026-03-01T12:00:00.Z", "2026-03-01T12:00:00,5Z", "2026-03-01T12:00:00z", "2026-03-01t12:00:00Z", "2026-03-01T12:00:00+02:00",
		"2026-03-01T12:00:00.25-07:30", "2026-03-01T12:00:00", "2026-03-01T12:00:00.5", "2026-03-01 12:00:00Z",
		"2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "2000-02-29T23:59:59Z", "1900-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
		"2026-12-31T23:59:59.999999999Z", "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z", "2026-01-00T00:00:00Z",
		"2026-01-01T24:00:00Z", "2026-01-01T23:60:00Z", "2026-01-01T23:59:60Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
		"2026-1-01T00:00:00Z", "2026-01-01T00:00:0aZ", "20260101T000000Z", "", "Z", "yesterday", "2026-03-01T12:00:00Z ",
	}
	for _, v := range values {
		for _, doc := range []string{
			`{"last_updated":"` + v + `"}`,
			`{"id":"x","actual_state":{"last_updated" : "` + v + `","bss_token":"t"},"last_action":{"last_updated":"` + v + `"}}`,
			`[{"start_time":"` + v + `","end_time":null,"stop_time":"` + v + `"},{"time":"` + v + `","x":"last_updated"}]`,
			`{"description":"\"last_updated\":\"` + v + `\"","time":` + "\n\t" + `"` + v + `","start_time":"a\u005a","end_time":"` + v + `"}`,
			`{"time":"` + v + `","timer":"` + v + `","last_updated_x":"` + v + `","xtime":"` + v + `"}`,
		} {
			if !json.Valid([]byte(doc)) {
				continue
			}
			if got, want := string(ToWire([]byte(doc))), string(referenceToWire([]byte(doc))); got != want {
				t.Errorf("ToWire(%s)\n = %s\nwant %s", doc, got, want)
			}
		}
	}
	for i := range 2000 { // times of every month, day and hour at odd fractions, in UTC
		at := time.Date(1999+i%30, time.Month(1+i%12), 1, i%24, i%60, i%60, i*7919, time.UTC).AddDate(0, 0, i%31)
		doc := fmt.Sprintf(`{"last_updated":%q,"time":%q}`, at.Format(time.RFC3339Nano), at.Format(time.RFC3339))
		if got, want := string(ToWire([]byte(doc))), string(referenceToWire([]byte(doc))); got != want {
			t.Errorf("ToWire(%s) = %s, want %s", doc, got, want)
		}
	}
}

// A body with no timestamp key comes back as it is.
func TestToWireLeavesBodiesWithoutTimestampsAlone(t *testing.T) {
	for _, doc := range []string{`{}`, `{"id":"x1000c0s0b0n0","enabled":true}`, `["last_updated"]`, `{"last_updated":null}`} {
		if got := string(ToWire([]byte(doc))); got != doc {
			t.Errorf("ToWire(%s) = %s", doc, got)
		}
	}
}
