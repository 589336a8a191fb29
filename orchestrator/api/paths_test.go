package api

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// TestEmptyIDIsNotTheCollection: a path with an empty id (a trailing slash) is a 404
// problem (400 where the route matched with an empty id), never redirected to the collection: DELETE /v2/sessions/ was answered 307 to
// /v2/sessions, which a client followed into a bulk delete of every complete session.
func TestEmptyIDIsNotTheCollection(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.expect(200, "PUT", "/v2/sessiontemplates/compute", "", template("x1000c0s0b0n0"))
		e.expect(201, "POST", "/v2/sessions", "", map[string]any{"name": "done", "operation": "boot", "template_name": "compute"})
		e.clock.Advance(time.Minute)
		e.expect(200, "PATCH", "/v2/sessions/done", "", map[string]any{"status": map[string]any{"status": "complete", "end_time": e.clock.Now()}})
		before := e.snapshot()
		for _, r := range []struct{ method, path string }{
			{"DELETE", "/v2/sessions/"}, {"GET", "/v2/sessions/"}, {"PATCH", "/v2/sessions/"},
			{"DELETE", "/v2/sessiontemplates/"}, {"GET", "/v2/sessiontemplates/"}, {"PUT", "/v2/sessiontemplates/"},
			{"PATCH", "/v2/components/"}, {"DELETE", "/v2/components/"}, {"GET", "/v2/components/"},
			{"DELETE", "/v1/session/"}, {"DELETE", "/v1/sessiontemplate/"},
			{"GET", "/v2/sessions//status"}, {"GET", "/v2/"}, {"GET", "/V2/sessions"},
		} {
			resp := e.do(r.method, r.path, "", map[string]any{"enabled": false})
			assert.Contains(t, []int{400, 404}, resp.status, "%s %s: %s", r.method, r.path, resp.body)
			assert.Equal(t, "application/problem+json", resp.header.Get("Content-Type"), "%s %s", r.method, r.path)
		}
		assert.Equal(t, before, e.snapshot(), "nothing changed")
		e.expect(200, "GET", "/v2/sessions/done", "", nil)
	})
}
