package cfs

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/cfsapi"
)

// clock is a settable Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func listSessions(t *testing.T, h http.Handler, query string) SessionsPage {
	t.Helper()
	var page SessionsPage
	mustCall(t, h, http.MethodGet, "/v3/sessions"+query, "", 200, &page)
	return page
}

func sessionNames(page SessionsPage) []string {
	out := []string{}
	for _, s := range page.Sessions {
		out = append(out, s.Name)
	}
	return out
}

func TestBatchesAreSessions(t *testing.T) {
	nodes := nodeIDs(4)
	s := mustServer(t, Config{Components: nodes, FailComponents: nodes[3:]})
	h := s.Handler()
	putConfig(t, h, "cfg")
	mustCall(t, h, http.MethodPatch, "/v3/components",
		`{"patch":{"desired_config":"cfg","retry_policy":1},"filters":{"ids":"`+strings.Join(nodes, ",")+`"}}`, 200, nil)
	waitIdle(t, s)

	page := listSessions(t, h, "")
	require.Len(t, page.Sessions, 1, "one bulk write, one batch, one session")
	sess := page.Sessions[0]
	assert.Equal(t, getComponent(t, h, nodes[0]).State[0].SessionName, sess.Name, "components name the batch's session")
	assert.Equal(t, SessionConfiguration{Name: "cfg"}, sess.Configuration)
	assert.Equal(t, strings.Join(nodes, ","), sess.Ansible.Limit)
	assert.Equal(t, "dynamic", sess.Target.Definition)
	assert.Equal(t, SessionStatusState{Job: "cfs-" + sess.Name, StartTime: "2026-03-01T12:00:00Z", CompletionTime: "2026-03-01T12:00:00Z",
		Status: "complete", Succeeded: "false"}, sess.Status.Session, "a member failed")
	assert.Nil(t, page.Next)

	assert.Equal(t, []string{sess.Name}, sessionNames(listSessions(t, h, "?succeeded=false&status=complete")))
	assert.Empty(t, listSessions(t, h, "?succeeded=true").Sessions)
	assert.Empty(t, listSessions(t, h, "?status=running").Sessions)
}

func TestCreateSessionAppliesItsConfiguration(t *testing.T) {
	nodes := nodeIDs(3)
	s := mustServer(t, Config{Components: nodes})
	h := s.Handler()
	putConfig(t, h, "cfg")
	mustCall(t, h, http.MethodPatch, "/v3/components", `{"patch":{"desired_config":"cfg","enabled":false},"filters":{}}`, 200, nil)

	var sess Session
	mustCall(t, h, http.MethodPost, "/v3/sessions",
		`{"name":"fix-n1","configuration_name":"cfg","ansible_limit":"`+nodes[1]+`,nid-unknown","tags":{"who":"me"}}`, 201, &sess)
	assert.Equal(t, Session{
		Name: "fix-n1", Configuration: SessionConfiguration{Name: "cfg"},
		Ansible: SessionAnsible{Config: "cfs-default-ansible-cfg", Limit: nodes[1] + ",nid-unknown"},
		Target:  SessionTarget{Definition: "dynamic", Groups: []SessionGroup{}, ImageMap: []SessionImage{}},
		Status: SessionStatus{Artifacts: []any{}, Session: SessionStatusState{Job: "cfs-fix-n1",
			StartTime: "2026-03-01T12:00:00Z", CompletionTime: "2026-03-01T12:00:00Z", Status: "complete", Succeeded: "true"}},
		Tags: map[string]string{"who": "me"},
	}, sess)
	assert.Equal(t, cfsapi.StatusConfigured, getComponent(t, h, nodes[1]).ConfigurationStatus, "the limit's node got every layer")
	assert.Equal(t, "fix-n1", getComponent(t, h, nodes[1]).State[1].SessionName)
	assert.Equal(t, cfsapi.StatusPending, getComponent(t, h, nodes[0]).ConfigurationStatus, "outside the limit")

	var got Session
	mustCall(t, h, http.MethodGet, "/apis/cfs/v3/sessions/fix-n1", "", 200, &got)
	assert.Equal(t, sess, got)
	assert.Equal(t, []string{"fix-n1"}, sessionNames(listSessions(t, h, "?tags=who=me&name_contains=fix")))
	assert.Empty(t, listSessions(t, h, "?tags=who=you").Sessions)

	// No limit: every component.
	mustCall(t, h, http.MethodPost, "/v3/sessions", `{"name":"all","configuration_name":"cfg"}`, 201, nil)
	for _, id := range nodes {
		assert.Equal(t, cfsapi.StatusConfigured, getComponent(t, h, id).ConfigurationStatus, id)
	}
}

func TestCreateSessionRefusesBadRequests(t *testing.T) {
	s := mustServer(t, Config{Components: nodeIDs(1)})
	h := s.Handler()
	putConfig(t, h, "cfg")
	mustCall(t, h, http.MethodPost, "/v3/sessions", `{"name":"s1","configuration_name":"cfg"}`, 201, nil)
	for _, tc := range []struct {
		body   string
		status int
		detail string
	}{
		{`{"name":"s1","configuration_name":"cfg"}`, 409, "A session with the name s1 already exists"},
		{`{"name":"s2","configuration_name":"nope"}`, 400, "Configuration nope does not exist"},
		{`{"name":"S2","configuration_name":"cfg"}`, 400, `name "S2" must be`},
		{`{"name":"` + strings.Repeat("a", 46) + `","configuration_name":"cfg"}`, 400, "must be 1 to 45"},
		{`{"name":"s2"}`, 400, "configuration_name must be 1 to 60 characters"},
		{`{"name":"s2","configuration_name":"cfg","ansible_limit":"a b"}`, 400, "ansible_limit must not contain spaces"},
		{`{"name":"s2","configuration_name":"cfg","ansible_verbosity":5}`, 400, "ranges from 0 to 4"},
		{`{"name":"s2","configuration_name":"cfg","target":{"definition":"image","groups":[{"name":"g","members":["img"]}]}}`, 400, "image customization"},
		{`{"name":"s2","configuration_name":"cfg","target":{"definition":"spec","groups":[{"name":"g"}]}}`, 400, "name and members"},
		{`{"name":"s2","configuration_name":"cfg","colour":"red"}`, 400, "unknown field"},
		{`null`, 400, "null"},
	} {
		w := call(t, h, http.MethodPost, "/v3/sessions", tc.body)
		require.Equal(t, tc.status, w.Code, tc.body)
		_, detail := problemOf(t, w)
		assert.Contains(t, detail, tc.detail, tc.body)
	}
	assert.Equal(t, []string{"s1"}, sessionNames(listSessions(t, h, "")), "nothing refused was stored")
}

func TestDeleteSessionsAndTTL(t *testing.T) {
	clk := &clock{now: testNow}
	s := mustServer(t, Config{Components: nodeIDs(1), Now: clk.Now})
	h := s.Handler()
	putConfig(t, h, "cfg")
	for i := range 3 {
		mustCall(t, h, http.MethodPost, "/v3/sessions", fmt.Sprintf(`{"name":"s%d","configuration_name":"cfg"}`, i), 201, nil)
		clk.Add(time.Hour)
	}
	// Now s0 is 3 h old, s1 2 h, s2 1 h.
	assert.Equal(t, []string{"s0", "s1"}, sessionNames(listSessions(t, h, "?min_age=2h")))
	assert.Equal(t, []string{"s2"}, sessionNames(listSessions(t, h, "?max_age=90m")))
	page := listSessions(t, h, "?limit=2")
	assert.Equal(t, []string{"s0", "s1"}, sessionNames(page))
	assert.Equal(t, &SessionNext{Limit: 2, AfterID: "s1"}, page.Next)
	assert.Equal(t, []string{"s2"}, sessionNames(listSessions(t, h, "?limit=2&after_id=s1")))

	for _, q := range []string{"?min_age=3538066w", "?min_age=107000w", "?max_age=1y", "?status=done", "?succeeded=yes", "?tags=novalue"} {
		w := call(t, h, http.MethodDelete, "/v3/sessions"+q, "")
		assert.Equal(t, 400, w.Code, q)
	}
	var deleted SessionIDs
	mustCall(t, h, http.MethodDelete, "/v3/sessions?min_age=150m", "", 200, &deleted)
	assert.Equal(t, []string{"s0"}, deleted.SessionIDs, "complete by default, older than 2.5 h")
	mustCall(t, h, http.MethodDelete, "/v3/sessions/s1", "", 204, nil)
	w := call(t, h, http.MethodDelete, "/v3/sessions/s1", "")
	assert.Equal(t, 404, w.Code)
	_, detail := problemOf(t, w)
	assert.Equal(t, "Session s1 could not be found", detail)

	// session_ttl drops completed sessions older than it.
	mustCall(t, h, http.MethodPatch, "/v3/options", `{"session_ttl":"2h"}`, 200, nil)
	assert.Equal(t, []string{"s2"}, sessionNames(listSessions(t, h, "")))
	clk.Add(90 * time.Minute)
	assert.Empty(t, listSessions(t, h, "").Sessions)
	assert.Equal(t, 404, call(t, h, http.MethodGet, "/v3/sessions/s2", "").Code)
}

func TestUnroutedRequestsGetProblems(t *testing.T) {
	h := mustServer(t, Config{}).Handler()
	w := call(t, h, http.MethodGet, "/v3/nothing", "")
	assert.Equal(t, 404, w.Code)
	assert.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
	w = call(t, h, http.MethodPost, "/v3/components/x1", "{}")
	assert.Equal(t, 405, w.Code)
	assert.Contains(t, w.Header().Get("Allow"), "PATCH")
	title, _ := problemOf(t, w)
	assert.Equal(t, "Method Not Allowed", title)
}
