package store

import (
	"encoding/binary"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/cray-bos/bos/orchestrator"
)

// encodeComponent returns c encoded as json.Marshal encodes it, byte for byte, without
// reflection: every record write encodes the record, and json.Marshal of it was about 5%
// of BOS's CPU in a 10,000-node boot. A field this encoder does not know (the struct
// grew) fails TestEncodeComponentAsJSONMarshal, which compares the two on random records.
func encodeComponent(c *orchestrator.Component) ([]byte, error) {
	if !encodableTimes(c) { // json.Marshal's error for a year outside [0, 9999]
		return json.Marshal(c)
	}
	b := make([]byte, 0, encodedSize(c))
	b = append(b, `{"id":`...)
	b = appendJSONString(b, c.ID)

	b = append(b, `,"actual_state":{"boot_artifacts":`...)
	b = appendArtifacts(b, c.ActualState.BootArtifacts)
	b = append(b, `,"bss_token":`...)
	b = appendJSONString(b, c.ActualState.BSSToken)
	b = appendTimeField(b, `,"last_updated":`, c.ActualState.LastUpdated)

	b = append(b, `},"desired_state":{"boot_artifacts":`...)
	b = appendArtifacts(b, c.DesiredState.BootArtifacts)
	b = append(b, `,"configuration":`...)
	b = appendJSONString(b, c.DesiredState.Configuration)
	b = append(b, `,"bss_token":`...)
	b = appendJSONString(b, c.DesiredState.BSSToken)
	b = appendTimeField(b, `,"last_updated":`, c.DesiredState.LastUpdated)

	b = append(b, `},"staged_state":{"boot_artifacts":`...)
	b = appendArtifacts(b, c.StagedState.BootArtifacts)
	b = append(b, `,"configuration":`...)
	b = appendJSONString(b, c.StagedState.Configuration)
	b = append(b, `,"session":`...)
	b = appendJSONString(b, c.StagedState.Session)
	b = appendTimeField(b, `,"last_updated":`, c.StagedState.LastUpdated)
	b = append(b, '}')

	if a := c.LastAction; a != (orchestrator.LastAction{}) { // omitzero
		b = append(b, `,"last_action":{"action":`...)
		b = appendJSONString(b, a.Action)
		b = append(b, `,"failed":`...)
		b = strconv.AppendBool(b, a.Failed)
		b = appendTimeField(b, `,"last_updated":`, a.LastUpdated)
		b = appendJSONField(b, `,"in_flight":`, a.InFlight)
		b = append(b, '}')
	}

	b = append(b, `,"event_stats":{"power_on_attempts":`...)
	b = strconv.AppendInt(b, int64(c.EventStats.PowerOnAttempts), 10)
	b = append(b, `,"power_off_graceful_attempts":`...)
	b = strconv.AppendInt(b, int64(c.EventStats.PowerOffGracefulAttempts), 10)
	b = append(b, `,"power_off_forceful_attempts":`...)
	b = strconv.AppendInt(b, int64(c.EventStats.PowerOffForcefulAttempts), 10)

	b = append(b, `},"status":{"phase":`...)
	b = appendJSONString(b, c.Status.Phase)
	b = appendJSONField(b, `,"status":`, c.Status.Status)
	b = append(b, `,"status_override":`...)
	b = appendJSONString(b, c.Status.StatusOverride)

	b = append(b, `},"enabled":`...)
	b = strconv.AppendBool(b, c.Enabled)
	b = append(b, `,"error":`...)
	b = appendJSONString(b, c.Error)
	b = append(b, `,"session":`...)
	b = appendJSONString(b, c.Session)
	if c.RetryPolicy != nil {
		b = append(b, `,"retry_policy":`...)
		b = strconv.AppendInt(b, int64(*c.RetryPolicy), 10)
	}
	return append(b, '}'), nil
}

// encodedKeysSize bounds what encodeComponent writes besides the strings' contents:
// keys, punctuation, quotes, times (35 bytes at most each), numbers and booleans.
const encodedKeysSize = 1024

// encodedSize is the size encodeComponent's bytes of c have when no string needs an
// escape, so that it allocates them once and no more than they need.
func encodedSize(c *orchestrator.Component) int {
	n := encodedKeysSize
	for _, s := range stringFields(c) {
		n += len(*s)
	}
	return n
}

func appendArtifacts(b []byte, a orchestrator.BootArtifacts) []byte {
	b = append(b, `{"kernel":`...)
	b = appendJSONString(b, a.Kernel)
	b = append(b, `,"kernel_parameters":`...)
	b = appendJSONString(b, a.KernelParameters)
	b = append(b, `,"initrd":`...)
	b = appendJSONString(b, a.Initrd)
	return append(b, '}')
}

// appendTimeField appends name and t as time.Time's MarshalJSON writes it, unless t is
// zero (omitzero).
func appendTimeField(b []byte, name string, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	b = append(b, name...)
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// encodableTimes reports whether every time c holds encodes: time.Time's MarshalJSON
// refuses years outside [0, 9999].
func encodableTimes(c *orchestrator.Component) bool {
	for _, t := range [...]time.Time{c.ActualState.LastUpdated, c.DesiredState.LastUpdated,
		c.StagedState.LastUpdated, c.LastAction.LastUpdated} {
		if y := t.Year(); !t.IsZero() && (y < 0 || y > 9999) {
			return false
		}
	}
	return true
}

// asDecoded returns c as decodeComponent would decode encodeComponent's bytes of it, or
// false when it cannot tell cheaply (a string that is not valid UTF-8, which the encoder
// replaces; a time with a zone offset, which decodes in a zone of the decoder's choosing).
func asDecoded(c *orchestrator.Component) (orchestrator.Component, bool) {
	d := c.Clone()
	for _, t := range timeFields(&d) {
		if t.IsZero() {
			*t = time.Time{} // omitted
			continue
		}
		if _, offset := t.Zone(); offset != 0 {
			return d, false
		}
		*t = t.Round(0).UTC() // written with a Z: read back in UTC, no monotonic reading
	}
	for _, s := range stringFields(&d) {
		if !utf8.ValidString(*s) {
			return d, false
		}
	}
	return d, true
}

const stringFieldCount = 22

// stringFields points at c's strings, in the order encodeComponent writes them.
func stringFields(c *orchestrator.Component) [stringFieldCount]*string {
	a, d, s := &c.ActualState, &c.DesiredState, &c.StagedState
	return [...]*string{&c.ID,
		&a.BootArtifacts.Kernel, &a.BootArtifacts.KernelParameters, &a.BootArtifacts.Initrd, &a.BSSToken,
		&d.BootArtifacts.Kernel, &d.BootArtifacts.KernelParameters, &d.BootArtifacts.Initrd, &d.Configuration, &d.BSSToken,
		&s.BootArtifacts.Kernel, &s.BootArtifacts.KernelParameters, &s.BootArtifacts.Initrd, &s.Configuration, &s.Session,
		&c.LastAction.Action, &c.LastAction.InFlight,
		&c.Status.Phase, &c.Status.Status, &c.Status.StatusOverride,
		&c.Error, &c.Session}
}

// appendJSONField appends name and the string v, unless v is empty (omitempty).
func appendJSONField(dst []byte, name, v string) []byte {
	if v == "" {
		return dst
	}
	return appendJSONString(append(dst, name...), v)
}

// appendJSONString appends s as a JSON string as encoding/json writes it: as is when it
// holds only printable ASCII that needs no escape, else through json.Marshal.
func appendJSONString(dst []byte, s string) []byte {
	if !plainJSONString(s) {
		b, _ := json.Marshal(s)
		return append(dst, b...)
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// plainJSONString reports whether encoding/json writes s as it is: printable ASCII but
// the quote, the backslash and the HTML characters it escapes. It looks at 8 bytes at a
// time: every record write encodes some 2 KB of strings.
func plainJSONString(s string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	less := func(x uint64, n byte) uint64 { return (x - ones*uint64(n)) &^ x & highs } // a byte < n (n <= 128)
	is := func(x uint64, b byte) uint64 { return less(x^(ones*uint64(b)), 1) }
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s[i:]), 8))
		if less(x, 0x20)|x&highs|is(x, 0x7f)|is(x, '"')|is(x, '\\')|is(x, '<')|is(x, '>')|is(x, '&') != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}
