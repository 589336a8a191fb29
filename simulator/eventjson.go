package simulator

import (
	"encoding/json"
	"strconv"
)

// An Event's JSON, written by hand: the bytes json.Marshal gives an eventBody, for less
// work. A power change's record is the same for every subscriber but for MemberId,
// EventId and a collected POST's Context, so what lies between them (EventType through
// OriginOfCondition: eventFields) is encoded once, as the change is made, and shared by
// every subscriber's copy (eventRecord.fields).

// eventFields are the record's fields that do not depend on its POST or subscriber, in
// eventRecord's order.
type eventFields struct {
	EventType         string   `json:"EventType"` // deprecated, but still required by the schema
	EventTimestamp    string   `json:"EventTimestamp"`
	MessageSeverity   string   `json:"MessageSeverity"`
	Message           string   `json:"Message"`
	MessageID         string   `json:"MessageId"`
	MessageArgs       []string `json:"MessageArgs"`
	OriginOfCondition odataRef `json:"OriginOfCondition"`
}

// encodeFields is rec's eventFields as JSON object members, without the braces.
func encodeFields(rec *eventRecord) []byte {
	raw, _ := json.Marshal(rec.eventFields)
	return raw[1 : len(raw)-1]
}

// withFields returns rec carrying its encoded eventFields.
func withFields(rec eventRecord) eventRecord {
	rec.fields = encodeFields(&rec)
	return rec
}

// appendEventBody appends the JSON of the Event (as json.Marshal writes an eventBody).
func appendEventBody(dst []byte, id, evCtx string, events []eventRecord) []byte {
	dst = append(dst, `{"@odata.type":"#Event.v1_13_0.Event","Id":`...)
	dst = appendJSONString(dst, id)
	dst = append(dst, `,"Name":"Event Array","Context":`...)
	dst = appendJSONString(dst, evCtx)
	dst = append(dst, `,"Events":`...)
	if events == nil {
		return append(dst, "null}"...)
	}
	dst = append(dst, '[')
	for i := range events {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendEventRecord(dst, &events[i])
	}
	return append(dst, "]}"...)
}

func appendEventRecord(dst []byte, rec *eventRecord) []byte {
	dst = append(dst, `{"MemberId":`...)
	dst = appendJSONString(dst, rec.MemberID)
	dst = append(dst, `,"EventId":`...)
	dst = appendJSONString(dst, rec.EventID)
	dst = append(dst, ',')
	if rec.fields != nil {
		dst = append(dst, rec.fields...)
	} else {
		dst = append(dst, encodeFields(rec)...)
	}
	if rec.Context != "" {
		dst = append(dst, `,"Context":`...)
		dst = appendJSONString(dst, rec.Context)
	}
	return append(dst, '}')
}

// appendJSONString appends s as encoding/json quotes it: plain printable ASCII as it is,
// anything else (escapes, HTML characters, other runes) by json.Marshal itself.
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			raw, _ := json.Marshal(s)
			return append(dst, raw...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// eventIDs numbers a POST's records: EventId <id>.<i> unless one was given, MemberId <i>.
func eventIDs(id string, events []eventRecord) {
	for i := range events {
		if events[i].EventID == "" {
			events[i].EventID = id + "." + strconv.Itoa(i)
		}
		events[i].MemberID = strconv.Itoa(i)
	}
}
