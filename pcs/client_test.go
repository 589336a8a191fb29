package pcs

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/pcsapi"
)

// TestClientAgainstSimulator: pcsapi.Client's calls reach the simulator and decode its
// replies: power-status, a transition, and its read-back.
func TestClientAgainstSimulator(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const a, b = "x1000c0s0b0n0", "x1000c0s0b0n1"
		f := newFake(map[string]string{a: "off", b: "on"})
		c := pcsapi.NewClient("http://pcs/power-control/v1/", &http.Client{Transport: handlerTransport{newServer(t, f)}})
		ctx := t.Context()

		st, err := c.PowerStatus(ctx, pcsapi.PowerStatusQuery{Xname: []string{a, b}})
		require.NoError(t, err)
		got := map[string]string{}
		for _, s := range st.Status {
			got[s.Xname] = s.PowerState
		}
		require.Equal(t, map[string]string{a: pcsapi.StateOff, b: pcsapi.StateOn}, got)

		one := 1
		start, err := c.CreateTransition(ctx, pcsapi.TransitionCreate{Operation: pcsapi.OpOn, TaskDeadlineMinutes: &one, Location: []pcsapi.Location{{Xname: a}}})
		require.NoError(t, err)
		require.Equal(t, pcsapi.OpOn, start.Operation)
		for {
			tr, err := c.Transition(ctx, start.TransitionID)
			require.NoError(t, err)
			if tr.TransitionStatus == pcsapi.TransitionCompleted {
				require.Equal(t, map[string]string{a: pcsapi.TaskSucceeded}, taskStatuses(tr))
				break
			}
			time.Sleep(time.Second)
		}

		_, err = c.Transition(ctx, "no-such-transition")
		require.Error(t, err, "an unknown transition is a problem+json error")
	})
}

// handlerTransport serves a client's requests with a handler, in process.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}
