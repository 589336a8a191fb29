package pcs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/pcsapi"
)

// fakeBMCs is a Driver over in-memory nodes. A node's power changes delay after a reset
// (never after a graceful one, for the nodes in stuck); unreadable nodes answer every call
// with an error. A node's BMC allows allResetTypes unless resetTypes says otherwise.
type fakeBMCs struct {
	mu         sync.Mutex
	power      map[string]string
	delay      time.Duration
	stuck      map[string]bool
	unreadable map[string]bool
	resetTypes map[string][]string
	calls      []string // "action xname", in order
}

var allResetTypes = []string{"On", "ForceOff", "GracefulShutdown", "GracefulRestart", "ForceRestart", "PowerCycle"}

func newFake(power map[string]string) *fakeBMCs {
	return &fakeBMCs{power: power, delay: 10 * time.Second, stuck: map[string]bool{}, unreadable: map[string]bool{},
		resetTypes: map[string][]string{}}
}

func (f *fakeBMCs) Nodes(context.Context) ([]Node, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Node
	for x := range f.power {
		rt, ok := f.resetTypes[x]
		if !ok {
			rt = allResetTypes
		}
		out = append(out, Node{Xname: x, ResetTypes: rt})
	}
	return out, nil
}

func (f *fakeBMCs) PowerStates(_ context.Context, xnames []string) map[string]Reading {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]Reading{}
	for _, x := range xnames {
		if f.unreadable[x] {
			out[x] = Reading{Err: errors.New("connection refused")}
		} else if p, ok := f.power[x]; ok {
			out[x] = Reading{State: p}
		} else {
			out[x] = Reading{Err: errors.New("not in HSM")}
		}
	}
	return out
}

func (f *fakeBMCs) Reset(_ context.Context, xnames []string, a Action) map[string]error {
	f.mu.Lock()
	defer f.mu.Unlock()
	errs := map[string]error{}
	for _, x := range xnames {
		f.calls = append(f.calls, a.String()+" "+x)
		if f.unreadable[x] {
			errs[x] = errors.New("connection refused")
			continue
		}
		if f.stuck[x] && (a == ActionGracefulOff || a == ActionGracefulRestart) {
			continue
		}
		want := a.want()
		time.AfterFunc(f.delay, func() { f.mu.Lock(); f.power[x] = want; f.mu.Unlock() })
	}
	return errs
}

func (f *fakeBMCs) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func newServer(t *testing.T, d Driver) http.Handler {
	s, err := New(Config{Driver: d, PollInterval: 2 * time.Second})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s.Handler()
}

func do(t *testing.T, h http.Handler, method, path, body string, out any) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
	if out != nil && rec.Code/100 == 2 {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), out), rec.Body.String())
	}
	return rec
}

// transition starts one and returns its record once PCS reports it completed.
func transition(t *testing.T, h http.Handler, body string) pcsapi.Transition {
	t.Helper()
	var start pcsapi.TransitionStart
	rec := do(t, h, "POST", "/power-control/v1/transitions", body, &start)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	for {
		var tr pcsapi.Transition
		require.Equal(t, http.StatusOK, do(t, h, "GET", "/apis/power-control/v1/transitions/"+start.TransitionID, "", &tr).Code)
		if tr.TransitionStatus == pcsapi.TransitionCompleted {
			return tr
		}
		time.Sleep(time.Second)
	}
}

func taskStatuses(tr pcsapi.Transition) map[string]string {
	out := map[string]string{}
	for _, tk := range tr.Tasks {
		out[tk.Xname] = tk.TaskStatus
	}
	return out
}

func TestTransitions(t *testing.T) {
	const a, b, c = "x1000c0s0b0n0", "x1000c0s0b0n1", "x1000c0s1b0n0"
	tests := []struct {
		name       string
		body       string
		power      map[string]string
		stuck      []string
		bad        []string
		want       map[string]string
		resetTypes map[string][]string
		wantCalls  []string
		wantPower  map[string]string
	}{
		{name: "on acts only on nodes that are off",
			body:  `{"operation":"on","taskDeadlineMinutes":1,"location":[{"xname":"` + a + `"},{"xname":"` + b + `"}]}`,
			power: map[string]string{a: "off", b: "on"}, want: map[string]string{a: pcsapi.TaskSucceeded, b: pcsapi.TaskSucceeded},
			wantCalls: []string{"On " + a}, wantPower: map[string]string{a: "on", b: "on"}},
		{name: "soft-off that never completes fails at the deadline",
			body:  `{"operation":"Soft-Off","taskDeadlineMinutes":1,"location":[{"xname":"` + a + `"},{"xname":"` + b + `"}]}`,
			power: map[string]string{a: "on", b: "on"}, stuck: []string{b},
			want:      map[string]string{a: pcsapi.TaskSucceeded, b: pcsapi.TaskFailed},
			wantCalls: []string{"GracefulShutdown " + a, "GracefulShutdown " + b}, wantPower: map[string]string{a: "off", b: "on"}},
		{name: "off escalates to force-off after the deadline",
			body:  `{"operation":"Off","taskDeadlineMinutes":1,"location":[{"xname":"` + a + `"}]}`,
			power: map[string]string{a: "on"}, stuck: []string{a}, want: map[string]string{a: pcsapi.TaskSucceeded},
			wantCalls: []string{"GracefulShutdown " + a, "ForceOff " + a}, wantPower: map[string]string{a: "off"}},
		{name: "hard-restart shuts down, then powers on",
			body:  `{"operation":"HARD-RESTART","location":[{"xname":"` + a + `"}]}`,
			power: map[string]string{a: "on"}, want: map[string]string{a: pcsapi.TaskSucceeded},
			wantCalls: []string{"GracefulShutdown " + a, "On " + a}, wantPower: map[string]string{a: "on"}},
		{name: "hard-restart forces off a node that does not shut down",
			body:  `{"operation":"Hard-Restart","taskDeadlineMinutes":1,"location":[{"xname":"` + a + `"}]}`,
			power: map[string]string{a: "on"}, stuck: []string{a}, want: map[string]string{a: pcsapi.TaskSucceeded},
			wantCalls: []string{"GracefulShutdown " + a, "ForceOff " + a, "On " + a}, wantPower: map[string]string{a: "on"}},
		{name: "hard-restart needs the node on",
			body:  `{"operation":"Hard-Restart","location":[{"xname":"` + a + `"}]}`,
			power: map[string]string{a: "off"}, want: map[string]string{a: pcsapi.TaskFailed}, wantPower: map[string]string{a: "off"}},
		{name: "unknown and unreachable nodes fail, the others go on",
			body:  `{"operation":"Force-Off","location":[{"xname":"` + a + `"},{"xname":"` + b + `"},{"xname":"` + c + `"}]}`,
			power: map[string]string{a: "on", b: "on"}, bad: []string{b},
			want:      map[string]string{a: pcsapi.TaskSucceeded, b: pcsapi.TaskFailed, c: pcsapi.TaskFailed},
			wantCalls: []string{"ForceOff " + a, "ForceOff " + b}, wantPower: map[string]string{a: "off", b: "on"}},
		{name: "soft-restart is a GracefulRestart",
			body:  `{"operation":"soft-restart","location":[{"xname":"` + a + `"}]}`,
			power: map[string]string{a: "on"}, want: map[string]string{a: pcsapi.TaskSucceeded},
			wantCalls: []string{"GracefulRestart " + a}, wantPower: map[string]string{a: "on"}},
		{name: "soft-restart is off then on where the BMC has no GracefulRestart",
			body:  `{"operation":"Soft-Restart","location":[{"xname":"` + a + `"}]}`,
			power: map[string]string{a: "on"}, resetTypes: map[string][]string{a: {"On", "ForceOff", "GracefulShutdown"}},
			want: map[string]string{a: pcsapi.TaskSucceeded}, wantCalls: []string{"GracefulShutdown " + a, "On " + a}, wantPower: map[string]string{a: "on"}},
		{name: "init powers on what is off and restarts what is on",
			body:  `{"operation":"Init","location":[{"xname":"` + a + `"},{"xname":"` + b + `"}]}`,
			power: map[string]string{a: "on", b: "off"}, want: map[string]string{a: pcsapi.TaskSucceeded, b: pcsapi.TaskSucceeded},
			wantCalls: []string{"GracefulShutdown " + a, "On " + a, "On " + b}, wantPower: map[string]string{a: "on", b: "on"}},
		{name: "an operation the BMC does not allow is unsupported",
			body:  `{"operation":"Force-Off","location":[{"xname":"` + a + `"}]}`,
			power: map[string]string{a: "on"}, resetTypes: map[string][]string{a: {"On"}},
			want: map[string]string{a: pcsapi.TaskUnsupported}, wantPower: map[string]string{a: "on"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFake(tt.power)
				for _, x := range tt.stuck {
					f.stuck[x] = true
				}
				for _, x := range tt.bad {
					f.unreadable[x] = true
				}
				f.resetTypes = tt.resetTypes
				if f.resetTypes == nil {
					f.resetTypes = map[string][]string{}
				}
				tr := transition(t, newServer(t, f), tt.body)
				require.Equal(t, tt.want, taskStatuses(tr))
				require.Equal(t, tt.wantCalls, f.callLog())
				require.Equal(t, tt.wantPower, f.power)
				require.Equal(t, len(tt.want), tr.TaskCounts.Total)
			})
		})
	}
}

func TestTransitionDeadlineIsHonoured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(map[string]string{"x1c0s0b0n0": "on"})
		f.stuck["x1c0s0b0n0"] = true
		start := time.Now()
		tr := transition(t, newServer(t, f), `{"operation":"Soft-Off","taskDeadlineMinutes":3,"location":[{"xname":"x1c0s0b0n0"}]}`)
		require.Equal(t, pcsapi.TaskFailed, tr.Tasks[0].TaskStatus)
		require.Equal(t, "Timeout waiting for transition, gracefulshutdown.", tr.Tasks[0].Error)
		require.Equal(t, "Failed to achieve transition", tr.Tasks[0].TaskStatusDescription)
		took := time.Since(start)
		require.True(t, took >= 3*time.Minute && took < 3*time.Minute+5*time.Second, "took %s", took)
	})
}

func TestTransitionsListedWithoutTasks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newServer(t, newFake(map[string]string{"x1c0s0b0n0": "off"}))
		tr := transition(t, h, `{"operation":"On","location":[{"xname":"x1c0s0b0n0"}]}`)
		var list pcsapi.TransitionList
		require.Equal(t, http.StatusOK, do(t, h, "GET", "/power-control/v1/transitions", "", &list).Code)
		require.Len(t, list.Transitions, 1)
		require.Equal(t, tr.TransitionID, list.Transitions[0].TransitionID)
		require.Nil(t, list.Transitions[0].Tasks)
		require.Equal(t, 1, list.Transitions[0].TaskCounts.Succeeded)
	})
}

func TestPowerStatus(t *testing.T) {
	f := newFake(map[string]string{"x1c0s0b0n0": "on", "x1c0s0b0n1": "off", "x1c0s1b0n0": "on"})
	f.unreadable["x1c0s1b0n0"] = true
	h := newServer(t, f)
	var all pcsapi.PowerStatusAll
	require.Equal(t, http.StatusOK, do(t, h, "POST", "/power-control/v1/power-status", `{"xname":["x1c0s0b0n0","x1c0s0b0n1","x1c0s1b0n0","x9c0s0b0n0"]}`, &all).Code)
	got := map[string]string{}
	for _, s := range all.Status {
		e := ""
		if s.Error != nil {
			e = " " + *s.Error
		}
		got[s.Xname] = s.PowerState + " " + s.ManagementState + e
	}
	require.Equal(t, map[string]string{
		"x1c0s0b0n0": "on available", "x1c0s0b0n1": "off available",
		"x1c0s1b0n0": "undefined unavailable connection refused", "x9c0s0b0n0": "undefined unavailable not in HSM",
	}, got)

	var off pcsapi.PowerStatusAll
	require.Equal(t, http.StatusOK, do(t, h, "GET", "/apis/power-control/v1/power-status?powerStateFilter=off", "", &off).Code)
	require.Len(t, off.Status, 1)
	require.Equal(t, "x1c0s0b0n1", off.Status[0].Xname)

	var one pcsapi.PowerStatusAll
	require.Equal(t, http.StatusOK, do(t, h, "GET", "/power-control/v1/power-status?xname=x1c0s0b0n0&managementStateFilter=available", "", &one).Code)
	require.Len(t, one.Status, 1)
}

func TestBadRequestsAreProblems(t *testing.T) {
	f := newFake(map[string]string{"x1c0s0b0n0": "on"})
	h := newServer(t, f)
	for _, tc := range []struct{ method, path, body, detail string }{
		{"POST", "/power-control/v1/transitions", `{"operation":"explode","location":[{"xname":"x1c0s0b0n0"}]}`, "invalid Operation type explode"},
		{"POST", "/power-control/v1/transitions", `{"operation":"On","location":[{"xname":"node7"}]}`, `invalid xnames detected: "node7"`},
		{"POST", "/power-control/v1/transitions", `{"operation":"On","location":[]}`, "at least one xname"},
		{"POST", "/power-control/v1/transitions", `{"operation":"On","taskDeadlineMinutes":-2,"location":[{"xname":"x1c0s0b0n0"}]}`, "taskDeadlineMinutes"},
		{"POST", "/power-control/v1/transitions", `{"operation":"On","colour":"red"}`, "colour"},
		{"POST", "/power-control/v1/transitions", `null`, "null"},
		{"GET", "/power-control/v1/transitions/3fa85f64-5717-4562-b3fc-2c963f66afa6", ``, "TransitionID does not exist"},
		{"DELETE", "/power-control/v1/transitions/3fa85f64-5717-4562-b3fc-2c963f66afa6", ``, "TransitionID does not exist"},
		{"GET", "/power-control/v1/transitions/42", ``, "invalid UUID length: 2"},
		{"DELETE", "/power-control/v1/transitions/3fa85f64+5717-4562-b3fc-2c963f66afa6", ``, "invalid UUID format"},
		{"POST", "/power-control/v1/power-status", `{"xname":[],"extra":1}`, "extra"},
		{"POST", "/power-control/v1/power-status", `{"powerStateFilter":"sideways"}`, "powerStateFilter"},
		{"GET", "/power-control/v1/power-status?xname=bogus", ``, "invalid xnames"},
		{"GET", "/power-control/v1/power-status?colour=red", ``, "colour"},
		{"DELETE", "/power-control/v1/power-status", ``, "not allowed"},
	} {
		rec := do(t, h, tc.method, tc.path, tc.body, nil)
		require.Contains(t, []int{400, 404, 405}, rec.Code, "%s %s %s", tc.method, tc.path, tc.body)
		require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
		var p struct{ Detail string }
		require.NoError(t, json.NewDecoder(bytes.NewReader(rec.Body.Bytes())).Decode(&p))
		require.Contains(t, p.Detail, tc.detail)
	}
	require.Empty(t, f.callLog(), "a refused request must not act")
}

// A task counts a state any reading saw, a client's power-status included: BOS reads a
// node off and powers it on again before the Soft-Off task's next poll.
func TestTaskSeesStateAClientSaw(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const x = "x1c0s0b0n0"
		f := newFake(map[string]string{x: "on"})
		f.delay = time.Second
		h := newServer(t, f)
		var start pcsapi.TransitionStart
		require.Equal(t, http.StatusOK, do(t, h, "POST", "/power-control/v1/transitions", `{"operation":"Soft-Off","taskDeadlineMinutes":1,"location":[{"xname":"`+x+`"}]}`, &start).Code)
		time.Sleep(1500 * time.Millisecond)
		var st pcsapi.PowerStatusAll
		do(t, h, "POST", "/power-control/v1/power-status", `{"xname":["`+x+`"]}`, &st)
		require.Equal(t, "off", st.Status[0].PowerState)
		f.mu.Lock()
		f.power[x] = "on" // the client's next step, before PCS polls again
		f.mu.Unlock()
		time.Sleep(2 * time.Minute)
		var tr pcsapi.Transition
		do(t, h, "GET", "/power-control/v1/transitions/"+start.TransitionID, "", &tr)
		require.Equal(t, pcsapi.TransitionCompleted, tr.TransitionStatus)
		require.Equal(t, pcsapi.TaskSucceeded, tr.Tasks[0].TaskStatus)
	})
}
