package cfs

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cray-bos/bos/internal/fuzzcheck"
)

// fuzzRoutes are the body-taking CFS routes a fuzz input picks from.
var fuzzRoutes = []struct{ method, path string }{
	{"PUT", "/v3/components"},
	{"PATCH", "/v3/components"},
	{"PUT", "/v3/components/x1000c0s0b0n0"},
	{"PATCH", "/v3/components/x1000c0s0b0n1"},
	{"PUT", "/v3/configurations/compute"},
	{"PATCH", "/v3/configurations/compute"},
	{"PUT", "/v3/configurations/new"},
}

// FuzzCFSBodies: any body on any body-taking route gets a 2xx or a problem+json 4xx, and
// a refused body changes neither components nor configurations.
func FuzzCFSBodies(f *testing.F) {
	for i, body := range []string{
		`[{"id":"x1000c0s0b0n0","desired_config":"compute","enabled":true}]`,
		`{"patch":{"enabled":false},"filters":{"ids":"x1000c0s0b0n0,x1000c0s0b0n1"}}`,
		`{"desired_config":"compute","error_count":0,"retry_policy":3,"tags":{"k":"v"}}`,
		`{"state":[{"clone_url":"` + repoA + `","playbook":"site.yml","commit":"` + commit1 + `","status":"applied"}]}`,
		`{"layers":[{"name":"csm","clone_url":"` + repoA + `","playbook":"site.yml","commit":"` + commit1 + `"}]}`,
		`{"layers":[{"name":"cos","source":"cos","playbook":"cos.yml","branch":"main"}]}`,
		`{"layers":[]}`, `null`, `[null]`, `{"patch":{"desired_config":"missing"},"filters":{}}`,
	} {
		f.Add(uint8(i), body)
	}
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		s := mustServer(t, Config{Components: nodeIDs(4), Sources: map[string]string{"cos": repoB},
			Timing: Timing{BatchWindow: time.Hour}})
		h := s.Handler()
		putConfig(t, h, "compute")
		rt := fuzzRoutes[int(route)%len(fuzzRoutes)]
		before := cfsState(t, h)
		w := fuzzcheck.Do(h, rt.method, rt.path, "application/json", []byte(body))
		fuzzcheck.Reply(t, fuzzcheck.Problem, w)
		if after := cfsState(t, h); w.Code >= 400 && before != after {
			t.Fatalf("%s %s refused (%d: %s) but changed the state:\nbefore %s\nafter  %s", rt.method, rt.path, w.Code, w.Body, before, after)
		}
	})
}

// cfsState is every component and configuration, as GET shows them.
func cfsState(t *testing.T, h http.Handler) string {
	t.Helper()
	var b strings.Builder
	for _, p := range []string{"/v3/components?state_details=true", "/v3/configurations"} {
		w := fuzzcheck.Do(h, http.MethodGet, p, "", nil)
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", p, w.Code, w.Body)
		}
		b.WriteString(w.Body.String())
	}
	return b.String()
}
