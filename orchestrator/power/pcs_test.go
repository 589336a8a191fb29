package power

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/pcsapi"
)

// fakePCS records the bodies it is sent and answers power-status from states (an entry
// starting with "!" is reported as that error).
type fakePCS struct {
	mu     sync.Mutex
	states map[string]string
	sent   []string // "path body"
	refuse bool
}

func (f *fakePCS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, r.URL.Path+" "+string(raw))
	if f.refuse {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"type":"about:blank","title":"Bad Request","status":400,"detail":"invalid xnames detected"}`)
		return
	}
	switch r.URL.Path {
	case "/v1/power-status":
		var q struct{ Xname []string }
		_ = json.Unmarshal(raw, &q)
		var st []map[string]any
		for _, x := range q.Xname {
			s, ok := f.states[x]
			switch {
			case !ok:
			case s[0] == '!':
				st = append(st, map[string]any{"xname": x, "powerState": "undefined", "error": s[1:]})
			default:
				st = append(st, map[string]any{"xname": x, "powerState": s, "error": nil})
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"status": st})
	case "/v1/transitions":
		_, _ = io.WriteString(w, `{"transitionID":"3fa85f64-5717-4562-b3fc-2c963f66afa6","operation":"On"}`)
	default:
		http.NotFound(w, r)
	}
}

func TestPCSPowerStates(t *testing.T) {
	f := &fakePCS{states: map[string]string{"x1c0s0b0n0": "on", "x1c0s0b0n1": "off", "x1c0s1b0n0": "!connection refused"}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	p := NewPCS(PCSConfig{URL: srv.URL + "/v1/", ChunkSize: 2})
	got := p.PowerStates(context.Background(), []string{"x1c0s0b0n0", "x1c0s0b0n1", "x1c0s1b0n0", "x9c0s0b0n0"})
	require.Equal(t, PowerOn, got["x1c0s0b0n0"].Power)
	require.Equal(t, PowerOff, got["x1c0s0b0n1"].Power)
	require.Equal(t, PowerUnknown, got["x1c0s1b0n0"].Power)
	require.EqualError(t, got["x1c0s1b0n0"].Err, "pcs: connection refused")
	require.Equal(t, PowerNotReported, got["x9c0s0b0n0"].Power, "left out of the reply")
	require.EqualError(t, got["x9c0s0b0n0"].Err, MsgNoPCSRecord)
	require.Equal(t, []string{
		`/v1/power-status {"xname":["x1c0s0b0n0","x1c0s0b0n1"]}`,
		`/v1/power-status {"xname":["x1c0s1b0n0","x9c0s0b0n0"]}`,
	}, f.sent, "POSTs in chunks, never a long URL")
}

// TestPCSReading: an error for a node wins over its powerState (BOS uses the text as the
// state, "not off"); "undefined" or no state at all is not reported, as BOS's status
// operator takes it.
func TestPCSReading(t *testing.T) {
	text := func(s string) *string { return &s }
	for _, tc := range []struct {
		in   pcsapi.PowerStatus
		want Power
	}{
		{pcsapi.PowerStatus{PowerState: "On"}, PowerOn},
		{pcsapi.PowerStatus{PowerState: "off"}, PowerOff},
		{pcsapi.PowerStatus{PowerState: "undefined", Error: text("BMC unreachable")}, PowerUnknown},
		{pcsapi.PowerStatus{PowerState: "on", Error: text("stale")}, PowerUnknown},
		{pcsapi.PowerStatus{PowerState: "undefined"}, PowerNotReported},
		{pcsapi.PowerStatus{PowerState: ""}, PowerNotReported},
		{pcsapi.PowerStatus{PowerState: "standby"}, PowerUnknown},
	} {
		require.Equal(t, tc.want, pcsReading(tc.in).Power, "%+v", tc.in)
	}
}

func TestPCSResetSendsBOSTransitions(t *testing.T) {
	f := &fakePCS{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	p := NewPCS(PCSConfig{URL: srv.URL + "/v1"})
	ids := []string{"x1c0s0b0n0", "x1c0s0b0n1"}
	for _, k := range []ResetKind{ResetOn, ResetGracefulOff, ResetForceOff} {
		require.Empty(t, p.Reset(context.Background(), ids, k))
	}
	loc := `"location":[{"xname":"x1c0s0b0n0"},{"xname":"x1c0s0b0n1"}]}`
	require.Equal(t, []string{
		`/v1/transitions {"operation":"On","taskDeadlineMinutes":1,` + loc,
		`/v1/transitions {"operation":"Soft-Off","taskDeadlineMinutes":1,` + loc,
		`/v1/transitions {"operation":"Force-Off","taskDeadlineMinutes":1,` + loc,
	}, f.sent)

	f.mu.Lock()
	f.refuse = true
	f.mu.Unlock()
	errs := p.Reset(context.Background(), ids, ResetOn)
	require.Len(t, errs, 2)
	require.ErrorContains(t, errs["x1c0s0b0n1"], "invalid xnames detected")
	got := p.PowerStates(context.Background(), ids)
	require.ErrorContains(t, got["x1c0s0b0n0"].Err, "pcs power-status")
}
