package store

import (
	"encoding/json"
	"strconv"
	"time"

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
	b := make([]byte, 0, 2048)
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
