package simulator

import (
	"encoding/json"
	"strconv"
)

// An Event's JSON, written by hand: the bytes json.Marshal gives an eventBody, for less
// work. A power change's record is the same for every subscriber but for MemberId,
// EventId and a collected POST's Context, so what lies between them (EventType through
// OriginOfCondition: eventFields) is encoded once, as the change is made, and shared by
// every subscriber's copy (eventFields.raw).

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

	raw []byte // the fields' JSON (withFields), shared by every subscriber's copy
}

// appendFields appends f as JSON object members, without the braces (as json.Marshal
// writes them).
func appendFields(dst []byte, f *eventFields) []byte {
	dst = append(dst, `"EventType":`...)
	dst = appendJSONString(dst, f.EventType)
	dst = append(dst, `,"EventTimestamp":`...)
	dst = appendJSONString(dst, f.EventTimestamp)
	dst = append(dst, `,"MessageSeverity":`...)
	dst = appendJSONString(dst, f.MessageSeverity)
	dst = append(dst, `,"Message":`...)
	dst = appendJSONString(dst, f.Message)
	dst = append(dst, `,"MessageId":`...)
	dst = appendJSONString(dst, f.MessageID)
	dst = append(dst, `,"MessageArgs":`...)
	if f.MessageArgs == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i, a := range f.MessageArgs {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, a)
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"OriginOfCondition":{"@odata.id":`...)
	dst = appendJSONString(dst, f.OriginOfCondition.ID)
	return append(dst, '}')
}

// withFields returns rec with its eventFields' JSON encoded, for every copy to share.
// Call it before the record is shared.
func withFields(rec eventRecord) eventRecord {
	f := rec.eventFields
	n := 160 + len(f.EventType) + len(f.EventTimestamp) + len(f.MessageSeverity) + len(f.Message) + len(f.MessageID) + len(f.OriginOfCondition.ID) // 160: the names and punctuation
	for _, a := range f.MessageArgs {
		n += len(a) + 3
	}
	f.raw = appendFields(make([]byte, 0, n), f)
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
	if rec.raw != nil {
		dst = append(dst, rec.raw...)
	} else {
		dst = appendFields(dst, rec.eventFields)
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
