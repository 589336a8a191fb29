package simulator

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAppendEventBody: the hand-written Event is byte for byte what json.Marshal makes of
// the eventBody, whether a record's fields were encoded as it was queued or not, and
// whatever its strings hold (quotes, HTML characters, control characters, non-ASCII,
// invalid UTF-8).
func TestAppendEventBody(t *testing.T) {
	odd := []string{"", "plain", `quo"te\back`, "<tag>&amp;", "tab\tnew\nline\x01", "é ü — 🙂", "bad\xffutf8", "sep\u2028\u2029"}
	var events []eventRecord
	for i, s := range odd {
		rec := eventRecord{EventID: s, Context: s, eventFields: &eventFields{EventType: "Alert", EventTimestamp: "2024-01-02T03:04:05Z",
			MessageSeverity: s, Message: "The power state of " + s, MessageID: "ResourceEvent.1.0.ResourcePowerStateChanged",
			MessageArgs: []string{"/redfish/v1/Systems/" + s, s}, OriginOfCondition: odataRef{s}}}
		if i%2 == 0 {
			rec = withFields(rec)
		}
		if i == 3 {
			rec.MessageArgs = nil
		}
		events = append(events, rec)
	}
	eventIDs("17", events)
	for _, evCtx := range odd {
		for _, evs := range [][]eventRecord{events, events[:1], nil} {
			want, err := json.Marshal(eventBody{ODataType: "#Event.v1_13_0.Event", ID: "17", Name: "Event Array", Context: evCtx, Events: evs})
			require.NoError(t, err)
			assert.Equal(t, string(want), string(appendEventBody(nil, "17", evCtx, evs)))
		}
	}
	assert.Equal(t, "17.0", events[0].EventID, "a record without an EventId is numbered")
	assert.Equal(t, "plain", events[1].EventID, "one with an EventId keeps it")
	assert.Equal(t, "1", events[1].MemberID)
}
