package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/problem"
	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// send is a goroutine-safe raw request: header is set as given, a non-nil body is sent
// as JSON.
func send(hc *http.Client, method, url string, header http.Header, body any) (int, http.Header, []byte, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, nil, nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, raw, err
}

// TestReadModifyWriteLosesNothing: 200 clients (50 with -short; 20 for templates and
// sessions, whose path through the store is the same) each GET a record with its ETag, add one
// to a counter in it, and write it back with If-Match, retrying from the GET on 412.
// Every increment must survive. (Before entity tags the server ignored If-Match and the
// read-modify-write cycles overwrote one another: most increments were lost.)
func TestReadModifyWriteLosesNothing(t *testing.T) {
	type kind struct {
		writers int
		path    string
		seed    func(e *env)
		counter func(body []byte) (int, error)        // the counter in a GET body
		write   func(n int) (method string, body any) // the write setting the counter to n
	}
	kinds := map[string]kind{
		"component PATCH": {
			writers: 200, // the case
			path:    "/v2/components/x1000c0s0b0n0",
			seed:    func(e *env) { e.seed(orchestrator.NewComponent("x1000c0s0b0n0", t0)) },
			counter: func(body []byte) (int, error) {
				var c orchestrator.Component
				err := unmarshalWire(body, &c)
				if c.RetryPolicy == nil {
					return 0, err
				}
				return *c.RetryPolicy, err
			},
			write: func(n int) (string, any) { return http.MethodPatch, map[string]any{"retry_policy": n} },
		},
		"template PUT": {
			writers: 20,
			path:    "/v2/sessiontemplates/compute",
			seed:    func(e *env) { e.expect(200, "PUT", "/v2/sessiontemplates/compute", "", template("x1000c0s0b0n0")) },
			counter: func(body []byte) (int, error) {
				var t orchestrator.SessionTemplate
				if err := json.Unmarshal(body, &t); err != nil || t.Description == "" {
					return 0, err
				}
				return strconv.Atoi(t.Description)
			},
			write: func(n int) (string, any) {
				tpl := template("x1000c0s0b0n0")
				tpl["description"] = strconv.Itoa(n)
				return http.MethodPut, tpl
			},
		},
		"session PATCH": {
			writers: 20,
			path:    "/v2/sessions/s1",
			seed: func(e *env) {
				e.expect(200, "PUT", "/v2/sessiontemplates/compute", "", template("x1000c0s0b0n0"))
				e.expect(201, "POST", "/v2/sessions", "", map[string]any{"name": "s1", "operation": "boot", "template_name": "compute"})
			},
			counter: func(body []byte) (int, error) {
				var s orchestrator.Session
				if err := unmarshalWire(body, &s); err != nil || s.Components == "" {
					return 0, err
				}
				return strconv.Atoi(s.Components)
			},
			write: func(n int) (string, any) { return http.MethodPatch, map[string]any{"components": strconv.Itoa(n)} },
		},
	}
	storetest.Each(t, func(t *testing.T, backend string) {
		for name, k := range kinds {
			t.Run(name, func(t *testing.T) {
				e := newEnv(t, backend)
				k.seed(e)
				// The clients share 16 connections, as behind a proxy: 200 requests at once
				// would outrun the store's Redis pool (20 connections on 2 CPUs) and time out
				// with 503 on a loaded machine. Their read-modify-write cycles still
				// interleave freely.
				url := e.srv.URL + k.path
				hc := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 16, MaxIdleConnsPerHost: 16}}
				t.Cleanup(hc.CloseIdleConnections)
				// readModifyWrite adds one to the counter; it returns the number of 412s.
				readModifyWrite := func() (int, error) {
					for refused := 0; ; refused++ {
						status, h, body, err := send(hc, http.MethodGet, url, nil, nil)
						if err != nil || status != http.StatusOK {
							return refused, fmt.Errorf("GET: %d %s %v", status, body, err)
						}
						n, err := k.counter(body)
						if err != nil {
							return refused, err
						}
						method, req := k.write(n + 1)
						status, _, body, err = send(hc, method, url, http.Header{"If-Match": {h.Get("ETag")}}, req)
						switch {
						case err != nil:
							return refused, err
						case status == http.StatusPreconditionFailed:
							// Someone wrote first: back off (exponentially, jittered, as a
							// client should) and read again.
							time.Sleep(time.Duration(rand.Int64N(int64(time.Millisecond) << min(refused, 9))))
							continue
						case status != http.StatusOK:
							return refused, fmt.Errorf("%s: %d %s", method, status, body)
						}
						return refused, nil
					}
				}
				var wg sync.WaitGroup
				writers := k.writers
				if testing.Short() && writers > 50 {
					writers = 50 // -short (and -race -short): a quarter of the clients, a sixteenth of the retries
				}
				errs := make(chan error, writers)
				var mu sync.Mutex
				refusals := 0
				for range writers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						n, err := readModifyWrite()
						mu.Lock()
						refusals += n
						mu.Unlock()
						errs <- err
					}()
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					require.NoError(t, err)
				}
				t.Logf("%d writers, %d refused writes", writers, refusals)
				r := e.expect(200, "GET", k.path, "", nil)
				n, err := k.counter(r.body)
				require.NoError(t, err)
				assert.Equal(t, writers, n, "every increment survives (%d writes were refused with 412 and retried)", refusals)
			})
		}
	})
}

// TestIfMatch: the answers to every form of If-Match on the PUT, PATCH and DELETE of a
// template, a session and a component, present and missing. A GET carries the ETag; a
// successful write answers the new one; a refused write (400, 404, 412) changes nothing.
func TestIfMatch(t *testing.T) {
	const (
		none      = "none"
		star      = "*"
		current   = "current" // the record's ETag
		stale     = "stale"   // its ETag before the last write
		weak      = "weak"    // W/ + the current ETag: If-Match compares strongly
		malformed = "malformed"
	)
	type kind struct {
		path, missing string          // a record's path, a missing record's path
		seed          func(e *env)    // create the record
		body          func(i int) any // a PUT or PATCH body changing the record
		put           bool            // the kind has a PUT
	}
	kinds := map[string]kind{
		"component": {path: "/v2/components/x1000c0s0b0n0", missing: "/v2/components/x1000c0s1b0n0", put: true,
			seed: func(e *env) { e.seed(orchestrator.NewComponent("x1000c0s0b0n0", t0)) },
			body: func(i int) any { return map[string]any{"retry_policy": i} }},
		"template": {path: "/v2/sessiontemplates/compute", missing: "/v2/sessiontemplates/nope", put: true,
			seed: func(e *env) { e.expect(200, "PUT", "/v2/sessiontemplates/compute", "", template("x1000c0s0b0n0")) },
			body: func(i int) any { tpl := template("x1000c0s0b0n0"); tpl["description"] = fmt.Sprint("d", i); return tpl }},
		"session": {path: "/v2/sessions/s1", missing: "/v2/sessions/nope",
			seed: func(e *env) {
				e.expect(200, "PUT", "/v2/sessiontemplates/compute", "", template("x1000c0s0b0n0"))
				e.expect(201, "POST", "/v2/sessions", "", map[string]any{"name": "s1", "operation": "boot", "template_name": "compute"})
			},
			body: func(i int) any { return map[string]any{"components": fmt.Sprint("c", i)} }},
	}
	tests := []struct {
		method string
		exists bool
		header string
		status int
	}{
		{"PATCH", true, none, 200},
		{"PATCH", true, star, 200},
		{"PATCH", true, current, 200},
		{"PATCH", true, stale, 412},
		{"PATCH", true, weak, 412},
		{"PATCH", true, malformed, 400},
		{"PATCH", false, stale, 404}, // 404 wins: the request fails without its precondition too
		{"PATCH", false, star, 404},
		{"PUT", true, none, 200},
		{"PUT", true, star, 200},
		{"PUT", true, current, 200},
		{"PUT", true, stale, 412},
		{"PUT", true, weak, 412},
		{"PUT", false, none, 200}, // creates
		{"PUT", false, star, 412}, // "*": only if it exists
		{"PUT", false, stale, 412},
		{"DELETE", true, current, 204},
		{"DELETE", true, star, 204},
		{"DELETE", true, stale, 412},
		{"DELETE", true, malformed, 400},
		{"DELETE", false, star, 404},
	}
	storetest.Each(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		hc := e.srv.Client()
		i := 0
		for name, k := range kinds {
			for _, tt := range tests {
				if tt.method == "PUT" && !k.put {
					continue
				}
				t.Run(fmt.Sprintf("%s/%s/exists=%v/%s", name, tt.method, tt.exists, tt.header), func(t *testing.T) {
					e.t = t
					require.NoError(t, e.st.DeleteAll(context.Background()))
					k.seed(e)
					path := k.path
					if !tt.exists {
						path = k.missing
					}
					// A stale tag: the record's, then the record moves on.
					i++
					_, h, _, err := send(hc, "GET", e.srv.URL+k.path, nil, nil)
					require.NoError(t, err)
					staleTag := h.Get("ETag")
					i++
					e.expect(200, "PATCH", k.path, "", k.body(i))
					r := e.expect(200, "GET", k.path, "", nil)
					tag := r.header.Get("ETag")
					assert.Regexp(t, `^"[A-Za-z0-9_-]{22}"$`, tag, "a GET carries a strong ETag")
					assert.NotEqual(t, staleTag, tag, "a write changes the ETag")

					header := http.Header{}
					switch tt.header {
					case star:
						header.Set("If-Match", "*")
					case current:
						header.Set("If-Match", tag)
					case stale:
						header.Set("If-Match", staleTag)
					case weak:
						header.Set("If-Match", "W/"+tag)
					case malformed:
						header.Set("If-Match", tag[1:len(tag)-1]) // unquoted
					}
					var body any
					if tt.method != "DELETE" {
						i++
						body = k.body(i)
					}
					before := e.snapshot()
					status, rh, rb, err := send(hc, tt.method, e.srv.URL+path, header, body)
					require.NoError(t, err)
					require.Equal(t, tt.status, status, "%s", rb)
					switch {
					case status >= 400:
						(response{status: status, header: rh, body: rb}).problem(t)
						assert.Equal(t, before, e.snapshot(), "a refused write changes nothing")
					case tt.method == "DELETE":
						e.expect(404, "GET", path, "", nil)
					default:
						after := e.expect(200, "GET", path, "", nil).header.Get("ETag")
						assert.Equal(t, after, rh.Get("ETag"), "the write answers the new ETag")
						assert.NotEqual(t, tag, after)
					}
				})
			}
		}
		e.t = t

		// Lists carry no ETag; If-Match on a GET is not evaluated.
		for _, path := range []string{"/v2/components", "/v2/sessiontemplates", "/v2/sessions"} {
			assert.Empty(t, e.expect(200, "GET", path, "", nil).header.Get("ETag"), path)
		}
	})
}

// TestIfMatchOnUntaggedRoutes: writes to routes without entity tags refuse an If-Match
// naming tags with 412 (none can match) rather than ignore it; "*" is accepted.
func TestIfMatchOnUntaggedRoutes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.seed(orchestrator.NewComponent("x1000c0s0b0n0", t0))
		hc := e.srv.Client()
		bulk := []map[string]any{{"id": "x1000c0s0b0n0", "enabled": true}}
		tests := []struct {
			name, method, path, ifMatch string
			body                        any
			status                      int
		}{
			{"BulkPatchTag", "PATCH", "/v2/components", `"abc"`, bulk, 412},
			{"BulkPutTag", "PUT", "/v2/components", `"abc"`, bulk, 412},
			{"OptionsTag", "PATCH", "/v2/options", `"abc"`, map[string]any{"logging_level": "DEBUG"}, 412},
			{"BulkPatchMalformed", "PATCH", "/v2/components", `abc`, bulk, 400},
			{"BulkPatchStar", "PATCH", "/v2/components", `*`, bulk, 200},
			{"UnknownRoute", "PATCH", "/v2/nothing", `"abc"`, bulk, 404},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := e.snapshot()
				status, h, body, err := send(hc, tt.method, e.srv.URL+tt.path, http.Header{"If-Match": {tt.ifMatch}}, tt.body)
				require.NoError(t, err)
				require.Equal(t, tt.status, status, "%s", body)
				if status >= 400 {
					(response{status: status, header: h, body: body}).problem(t)
					assert.Equal(t, before, e.snapshot())
				}
			})
		}
	})
}

// TestClientETags: the Go client reads ETags and sends If-Match; a stale tag comes back
// as a 412 *problem.Details and writes nothing.
func TestClientETags(t *testing.T) {
	e := newEnv(t, storetest.Mini)
	ctx := context.Background()
	id := "x1000c0s0b0n0"
	e.seed(orchestrator.NewComponent(id, t0))
	_, err := e.c.PutTemplate(ctx, "compute", orchestrator.SessionTemplate{EnableCFS: true, CFS: &orchestrator.CFS{Configuration: "c"},
		BootSets: map[string]orchestrator.BootSet{"compute": {Path: "s3://b/m.json", Type: "s3", NodeList: []string{id}}}})
	require.NoError(t, err)
	_, err = e.c.CreateSession(ctx, orchestrator.SessionCreate{Name: "s1", Operation: "boot", TemplateName: "compute"})
	require.NoError(t, err)

	_, compTag, err := e.c.GetComponentTagged(ctx, id)
	require.NoError(t, err)
	_, tplTag, err := e.c.GetTemplateTagged(ctx, "compute")
	require.NoError(t, err)
	_, sessTag, err := e.c.GetSessionTagged(ctx, "s1")
	require.NoError(t, err)
	for _, tag := range []string{compTag, tplTag, sessTag} {
		assert.Regexp(t, `^"[A-Za-z0-9_-]{22}"$`, tag)
	}

	// The current tag lets the write through; the tag it replaced is then refused.
	_, err = e.c.WithIfMatch(compTag).PatchComponent(ctx, id, orchestrator.ComponentPatch{Enabled: ptr(true)})
	require.NoError(t, err)
	_, err = e.c.WithIfMatch(compTag).PatchComponent(ctx, id, orchestrator.ComponentPatch{Enabled: ptr(false)})
	assert.Equal(t, http.StatusPreconditionFailed, problem.StatusOf(err), "err: %v", err)
	assert.True(t, e.component(id).Enabled, "the refused PATCH wrote nothing")

	_, err = e.c.WithIfMatch(tplTag).PatchTemplate(ctx, "compute", map[string]any{"description": "d"})
	require.NoError(t, err)
	assert.Equal(t, http.StatusPreconditionFailed, problem.StatusOf(e.c.WithIfMatch(tplTag).DeleteTemplate(ctx, "compute")))

	_, err = e.c.WithIfMatch(sessTag).PatchSession(ctx, "s1", orchestrator.SessionPatch{Components: ptr("x")})
	require.NoError(t, err)
	assert.Equal(t, http.StatusPreconditionFailed, problem.StatusOf(e.c.WithIfMatch(sessTag).DeleteSession(ctx, "s1")))
	_, sessTag, err = e.c.GetSessionTagged(ctx, "s1")
	require.NoError(t, err)
	require.NoError(t, e.c.WithIfMatch(sessTag).DeleteSession(ctx, "s1"))

	// "*" creates nothing: a PUT of a missing component with it is refused.
	_, err = e.c.WithIfMatch("*").PutComponent(ctx, "x1000c0s1b0n0", orchestrator.ComponentPatch{Enabled: ptr(true)})
	assert.Equal(t, http.StatusPreconditionFailed, problem.StatusOf(err))
}

// BenchmarkIfMatch: one component PATCH without and with If-Match (each conditional PATCH
// sends the tag the previous one answered), beside the floor of a bare keep-alive
// loopback HTTP round trip, with the process's CPU time per request.
func BenchmarkIfMatch(b *testing.B) {
	floor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("{}")) }))
	b.Cleanup(floor.Close)
	for _, backend := range storetest.Backends {
		st := storetest.Open(b, backend, store.Config{})
		if _, err := st.PutComponent(context.Background(), orchestrator.NewComponent("x1000c0s0b0n0", t0)); err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(New(Config{Store: st}))
		b.Cleanup(srv.Close)
		url := srv.URL + "/v2/components/x1000c0s0b0n0"
		run := func(name, method, url string, ifMatch bool) {
			b.Run(backend+"/"+name, func(b *testing.B) {
				hc := srv.Client()
				_, h, _, err := send(hc, "GET", url, nil, nil)
				if err != nil {
					b.Fatal(err)
				}
				tag := h.Get("ETag")
				cpu0 := cpuTime()
				for i := 0; b.Loop(); i++ {
					header := http.Header{}
					if ifMatch {
						header.Set("If-Match", tag)
					}
					var body any
					if method == "PATCH" {
						body = map[string]any{"retry_policy": i % 1000}
					}
					status, h, rb, err := send(hc, method, url, header, body)
					if err != nil || status != 200 {
						b.Fatalf("%d %s %v", status, rb, err)
					}
					tag = h.Get("ETag")
				}
				b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
			})
		}
		run("floor", "GET", floor.URL, false)
		run("patch", "PATCH", url, false)
		run("patch-if-match", "PATCH", url, true)
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
