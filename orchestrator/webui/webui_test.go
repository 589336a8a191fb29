package webui

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/auth"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/tenant"
)

// newView opens an embedded store whose writes notify a view built on it.
func newView(t *testing.T, cfg Config) (*View, *store.Store) {
	t.Helper()
	var view *View
	st, err := store.Open(context.Background(), store.Config{EmbeddedOverPipes: true,
		OnComponentsWritten: func(ids []string) { view.Notify(ids) }})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	cfg.Store = st
	view = New(cfg)
	return view, st
}

func nodes(n int) []orchestrator.Component {
	out := make([]orchestrator.Component, n)
	for i := range out {
		out[i] = orchestrator.Component{ID: fmt.Sprintf("x1000c0s%db0n%d", i/2, i%2), Enabled: true}
	}
	return out
}

func get(t *testing.T, v *View, path string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	v.Handler().ServeHTTP(rec, req)
	return rec
}

func decodeSnapshot(t *testing.T, body []byte) map[string]uint8 {
	t.Helper()
	var snap Snapshot
	require.NoError(t, json.Unmarshal(body, &snap))
	require.Len(t, snap.Codes, len(snap.IDs))
	out := map[string]uint8{}
	for i, id := range snap.IDs {
		out[id] = snap.Codes[i]
	}
	return out
}

// TestSnapshot: every component with its status index and flags, under both roots.
func TestSnapshot(t *testing.T) {
	v, st := newView(t, Config{})
	comps := nodes(3)
	comps[0].Status = orchestrator.ComponentStatus{StatusOverride: orchestrator.StatusOnHold}
	comps[1].Enabled = false
	comps[1].StagedState.Session = "s1"
	comps[2].Error = "power_on failed: BMC answered 503"
	comps[2].Status.StatusOverride = orchestrator.StatusFailed
	_, err := st.PutComponents(t.Context(), comps)
	require.NoError(t, err)

	for _, root := range []string{Path, GatewayPath} {
		rec := get(t, v, root+"api/snapshot")
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		codes := decodeSnapshot(t, rec.Body.Bytes())
		onHold := uint8(indexOf(orchestrator.StatusOnHold))
		stable := uint8(indexOf(orchestrator.StatusStable))
		failed := uint8(indexOf(orchestrator.StatusFailed))
		assert.Equal(t, map[string]uint8{
			"x1000c0s0b0n0": onHold,
			"x1000c0s0b0n1": stable | FlagDisabled | FlagStaged,
			"x1000c0s1b0n0": failed | FlagError,
		}, codes)
	}
	rec := get(t, v, "/ui")
	assert.Equal(t, http.StatusMovedPermanently, rec.Code)
	assert.Equal(t, Path, rec.Header().Get("Location"))
	rec = get(t, v, GatewayPath)
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), `<canvas id="map">`)
	assert.Equal(t, http.StatusOK, get(t, v, Path+"app.js").Code)
}

func indexOf(status string) int {
	for i, s := range statusNames {
		if s == status {
			return i
		}
	}
	return -1
}

// event is one server-sent event.
type event struct {
	name string
	data []byte
}

// openStream runs GET /ui/events into a pipe and returns its events as they are written;
// the stream ends when the test does.
func openStream(t *testing.T, v *View) (<-chan event, *io.PipeReader) {
	t.Helper()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequest(http.MethodGet, Path+"events", nil).WithContext(ctx)
	w := &pipeWriter{header: http.Header{}, w: pw}
	done := make(chan struct{})
	go func() {
		defer close(done)
		v.Handler().ServeHTTP(w, req)
		_ = pw.Close()
	}()
	t.Cleanup(func() { cancel(); _ = pr.Close(); <-done })
	events := make(chan event, 100)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(pr)
		sc.Buffer(nil, 1<<24)
		var ev event
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = []byte(line[6:])
			case line == "" && ev.name != "":
				events <- ev
				ev = event{}
			}
		}
	}()
	return events, pr
}

type pipeWriter struct {
	header http.Header
	w      *io.PipeWriter
}

func (p *pipeWriter) Header() http.Header         { return p.header }
func (p *pipeWriter) WriteHeader(int)             {}
func (p *pipeWriter) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p *pipeWriter) Flush()                      {}

func changesOf(t *testing.T, ev event) map[string]uint8 {
	t.Helper()
	require.Equal(t, "changes", ev.name)
	var ch Changes
	require.NoError(t, json.Unmarshal(ev.data, &ch))
	require.Len(t, ch.Codes, len(ch.IDs))
	out := map[string]uint8{}
	for i, id := range ch.IDs {
		out[id] = ch.Codes[i]
	}
	return out
}

// pending returns the events written so far, without waiting.
func pending(events <-chan event) []event {
	var out []event
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return out
			}
			out = append(out, ev)
		default:
			return out
		}
	}
}

// TestEventsBatchOneMessagePerTick: the stream opens with a snapshot; 50 writes to 50
// components within one tick reach the browser as one message naming each once, with
// its latest code; a deleted component comes as Deleted.
func TestEventsBatchOneMessagePerTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v, st := newView(t, Config{})
		_, err := st.PutComponents(t.Context(), nodes(60))
		require.NoError(t, err)
		events, _ := openStream(t, v)
		synctest.Wait()
		first := pending(events)
		require.Len(t, first, 1)
		assert.Equal(t, "snapshot", first[0].name)
		assert.Len(t, decodeSnapshot(t, first[0].data), 60)

		ids := make([]string, 50)
		for i := range ids {
			ids[i] = nodes(60)[i].ID
		}
		for range 3 { // each component written three times, the last to failed
			for _, override := range []string{orchestrator.StatusOnHold, "", orchestrator.StatusFailed} {
				_, err := st.UpdateComponents(t.Context(), ids, func(c *orchestrator.Component) error {
					c.Status.StatusOverride = override
					return nil
				})
				require.NoError(t, err)
			}
		}
		require.NoError(t, st.DeleteComponent(t.Context(), "x1000c0s29b0n1"))
		synctest.Wait()
		assert.Empty(t, pending(events), "nothing before the tick")
		time.Sleep(Tick)
		synctest.Wait()
		got := pending(events)
		require.Len(t, got, 1, "one message for the tick")
		codes := changesOf(t, got[0])
		assert.Len(t, codes, 51)
		for _, id := range ids {
			assert.Equal(t, uint8(indexOf(orchestrator.StatusFailed)), codes[id], id)
		}
		assert.Equal(t, Deleted, codes["x1000c0s29b0n1"])

		time.Sleep(10 * Tick)
		synctest.Wait()
		assert.Empty(t, pending(events), "no message without changes")
	})
}

// TestSlowBrowserCoalesces: a browser that reads nothing for 400 ticks while 10
// components change at every tick holds up at most one code per component, not 400
// messages; once it reads, it gets one message with the latest codes.
func TestSlowBrowserCoalesces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v, st := newView(t, Config{})
		comps := nodes(10)
		_, err := st.PutComponents(t.Context(), comps)
		require.NoError(t, err)
		ids := make([]string, len(comps))
		for i, c := range comps {
			ids[i] = c.ID
		}
		// The first write blocks (nobody reads the pipe) until events is read below.
		pr, pw := io.Pipe()
		ctx, cancel := context.WithCancel(context.Background())
		req := httptest.NewRequest(http.MethodGet, Path+"events", nil).WithContext(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			v.Handler().ServeHTTP(&pipeWriter{header: http.Header{}, w: pw}, req)
			_ = pw.Close()
		}()
		defer func() { cancel(); _ = pr.Close(); <-done }()
		synctest.Wait()
		overrides := []string{orchestrator.StatusOnHold, orchestrator.StatusFailed}
		for i := range 400 {
			_, err := st.UpdateComponents(t.Context(), ids, func(c *orchestrator.Component) error {
				c.Status.StatusOverride = overrides[i%2]
				return nil
			})
			require.NoError(t, err)
			time.Sleep(Tick)
			synctest.Wait()
		}
		v.hub.mu.Lock()
		require.Len(t, v.hub.streams, 1)
		for s := range v.hub.streams {
			assert.LessOrEqual(t, s.backlog(), len(ids), "what waits is one code per component")
		}
		v.hub.mu.Unlock()

		var mu sync.Mutex
		var raw strings.Builder
		go func() {
			buf := make([]byte, 1<<16)
			for {
				n, err := pr.Read(buf)
				mu.Lock()
				raw.Write(buf[:n])
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
		synctest.Wait()
		mu.Lock()
		text := raw.String()
		mu.Unlock()
		assert.Equal(t, 1, strings.Count(text, "event: snapshot"))
		assert.Equal(t, 1, strings.Count(text, "event: changes"), "one message for 400 ticks of changes")
		last := text[strings.LastIndex(text, "data: ")+6:]
		var ch Changes
		require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(last)), &ch))
		assert.Len(t, ch.IDs, len(ids))
		for _, code := range ch.Codes {
			assert.Equal(t, uint8(indexOf(orchestrator.StatusFailed)), code, "the latest code")
		}
	})
}

// TestNoStreamNoWork: without a browser the hub keeps nothing and runs no ticker.
func TestNoStreamNoWork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v, st := newView(t, Config{})
		_, err := st.PutComponents(t.Context(), nodes(20))
		require.NoError(t, err)
		v.hub.mu.Lock()
		assert.Empty(t, v.hub.dirty)
		assert.Nil(t, v.hub.stop)
		v.hub.mu.Unlock()
	})
}

// fakeAuth accepts the tokens it maps.
type fakeAuth map[string]auth.Identity

func (f fakeAuth) Authenticate(_ context.Context, token string) (auth.Identity, error) {
	if id, ok := f[token]; ok {
		return id, nil
	}
	return auth.Identity{}, errors.New("unknown token")
}

// TestAuthFollowsComponents: with authentication the data endpoints need a token, as
// GET /v2/components does; a tenant's token sees only its nodes; the page itself loads.
func TestAuthFollowsComponents(t *testing.T) {
	blue := tenant.New("blue", []string{"x1000c0s0b0n1"})
	v, st := newView(t, Config{
		Tenants: tenant.NewMemory(blue),
		Auth:    fakeAuth{"admin": {Admin: true}, "blue": {Tenants: []string{"blue"}}, "none": {}},
	})
	_, err := st.PutComponents(t.Context(), nodes(4))
	require.NoError(t, err)

	assert.Equal(t, http.StatusOK, get(t, v, Path).Code, "the page needs no token")
	for _, p := range []string{"api/snapshot", "api/sessions", "api/components/x1000c0s0b0n0", "events"} {
		rec := get(t, v, Path+p)
		assert.Equal(t, http.StatusUnauthorized, rec.Code, p)
		assert.Equal(t, `Bearer realm="bos"`, rec.Header().Get("WWW-Authenticate"), p)
		assert.Contains(t, rec.Header().Get("Content-Type"), "application/problem+json", p)
	}
	assert.Equal(t, http.StatusUnauthorized, get(t, v, Path+"api/snapshot", "Authorization", "Bearer nope").Code)
	assert.Equal(t, http.StatusForbidden, get(t, v, Path+"api/snapshot", "Authorization", "Bearer none").Code)

	rec := get(t, v, Path+"api/snapshot", "Authorization", "Bearer admin")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Len(t, decodeSnapshot(t, rec.Body.Bytes()), 4)

	rec = get(t, v, Path+"api/snapshot", "Authorization", "Bearer blue")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, []string{"x1000c0s0b0n1"}, keys(decodeSnapshot(t, rec.Body.Bytes())))
	assert.Equal(t, http.StatusNotFound, get(t, v, Path+"api/components/x1000c0s0b0n0", "Authorization", "Bearer blue").Code)
	assert.Equal(t, http.StatusOK, get(t, v, Path+"api/components/x1000c0s0b0n1", "Authorization", "Bearer blue").Code)
	assert.Equal(t, http.StatusBadRequest, get(t, v, Path+"api/snapshot", "Authorization", "Bearer admin", "Cray-Tenant-Name", "red").Code)
}

func keys(m map[string]uint8) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestComponentDetail: the record, the power as the reader says, the history newest
// first; an unknown id is a 404 problem.
func TestComponentDetail(t *testing.T) {
	v, st := newView(t, Config{Power: func(_ context.Context, id string) (string, error) {
		if id == "x1000c0s0b0n1" {
			return "unknown", errors.New("BMC answered 503")
		}
		return "on", nil
	}})
	comps := nodes(2)
	comps[1].Error = "power_on failed"
	_, err := st.PutComponents(t.Context(), comps)
	require.NoError(t, err)

	rec := get(t, v, Path+"api/components/x1000c0s0b0n0")
	require.Equal(t, http.StatusOK, rec.Code)
	var d struct {
		Component orchestrator.Component      `json:"component"`
		Power     powerReading                `json:"power"`
		History   []orchestrator.HistoryEntry `json:"history"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &d))
	assert.Equal(t, "x1000c0s0b0n0", d.Component.ID)
	assert.Equal(t, powerReading{State: "on"}, d.Power)
	require.NotEmpty(t, d.History)
	assert.Equal(t, orchestrator.HistoryCreated, d.History[len(d.History)-1].Kind)

	_, err = st.UpdateComponent(t.Context(), "x1000c0s0b0n0", func(c *orchestrator.Component) error { c.Error = "later"; return nil })
	require.NoError(t, err)
	rec = get(t, v, Path+"api/components/x1000c0s0b0n0")
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &d))
	require.NotEmpty(t, d.History)
	assert.Equal(t, orchestrator.HistoryEntry{Kind: orchestrator.HistoryError, To: "later"}, orchestrator.HistoryEntry{Kind: d.History[0].Kind, To: d.History[0].To}, "newest first")

	rec = get(t, v, Path+"api/components/x1000c0s0b0n1")
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &d))
	assert.Equal(t, "power_on failed", d.Component.Error)
	assert.Equal(t, powerReading{State: "unknown", Error: "BMC answered 503"}, d.Power)

	rec = get(t, v, Path+"api/components/x9c0s0b0n0")
	assert.Equal(t, http.StatusNotFound, rec.Code)
	assert.Contains(t, rec.Body.String(), "could not be found")
}

// TestSessions: the newest sessions first, each with its extended status.
func TestSessions(t *testing.T) {
	v, st := newView(t, Config{})
	comps := nodes(2)
	for i := range comps {
		comps[i].Session = "boot1"
		comps[i].Status.StatusOverride = orchestrator.StatusFailed
		comps[i].Error = "no boot"
	}
	_, err := st.PutComponents(t.Context(), comps)
	require.NoError(t, err)
	now := time.Now().UTC()
	require.NoError(t, st.CreateSession(t.Context(), orchestrator.Session{Name: "boot0", Operation: "boot", TemplateName: "t",
		Status: orchestrator.SessionStatus{Status: "complete", StartTime: now.Add(-time.Hour)}}))
	require.NoError(t, st.CreateSession(t.Context(), orchestrator.Session{Name: "boot1", Operation: "boot", TemplateName: "t",
		Status: orchestrator.SessionStatus{Status: "running", StartTime: now}}))

	rec := get(t, v, Path+"api/sessions")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var rows []sessionRow
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &rows))
	require.Len(t, rows, 2)
	assert.Equal(t, "boot1", rows[0].Session.Name)
	assert.Equal(t, 2, rows[0].Extended.ManagedComponentsCount)
	assert.Equal(t, 2, rows[0].Extended.ErrorSummary["no boot"].Count)
	assert.Equal(t, "boot0", rows[1].Session.Name)
}
