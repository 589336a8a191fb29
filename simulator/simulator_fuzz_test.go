package simulator

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/cray-bos/bos/internal/fuzzcheck"
)

// fuzzRoutes are the body-taking Redfish routes a fuzz input picks from.
var fuzzRoutes = []struct{ method, path string }{
	{"POST", resetPath},
	{"POST", "/redfish/v1/SessionService/Sessions"},
	{"POST", "/redfish/v1/EventService/Subscriptions"},
	{"PATCH", "/redfish/v1/EventService/Subscriptions/1"},
}

// fuzzPassword is the BMC password of the fuzzed simulator.
const fuzzPassword = "fuzz-bmc-pw-7"

// FuzzRedfishBodies: any body on a reset action, a login or an event subscription gets a
// 2xx or a Redfish error body, never a 5xx; a refused body changes neither power, sessions
// nor subscriptions; no reply ever holds the BMC password, a password the body sent, a
// subscription's HttpHeaders values, or (but in the login's own X-Auth-Token) a token.
func FuzzRedfishBodies(f *testing.F) {
	for i, body := range []string{
		resetBody("On"), `{"UserName":"root","Password":"` + fuzzPassword + `"}`,
		`{"Destination":"http://10.0.0.1/events","Protocol":"Redfish","Context":"hmcollector","EventTypes":["Alert"],` +
			`"HttpHeaders":[{"Authorization":"Bearer header-secret-1"}]}`,
		`{"Context":"ctx2","DeliveryRetryPolicy":"RetryForever"}`,
		resetBody("ForceOff"), `{"UserName":"root","Password":"wrong-password"}`,
		`{"Destination":"https://x/y","RegistryPrefixes":["Base"],"HttpHeaders":{"X-Key":"header-secret-2"}}`,
		`{"ResetType":7}`, `{"ResetType":"On","Extra":1}`, `null`, `{"UserName":"root","Password":null}`,
	} {
		f.Add(uint8(i), body)
	}
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		s := newSim(t, func(c *Config) { c.Password = fuzzPassword; c.Timing.Scale = 1000 })
		h := s.Handler(bladeBMC)
		auth := []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("root:"+fuzzPassword))}
		setup := fuzzcheck.Do(h, "POST", "/redfish/v1/EventService/Subscriptions", "application/json",
			[]byte(`{"Destination":"http://10.0.0.1/e","Protocol":"Redfish","HttpHeaders":[{"Authorization":"Bearer setup-secret-9"}]}`), auth...)
		if setup.Code != http.StatusCreated {
			t.Fatalf("setup subscription: %d %s", setup.Code, setup.Body)
		}
		secrets := append([]string{fuzzPassword, "setup-secret-9"}, bodySecrets(body)...)
		rt := fuzzRoutes[int(route)%len(fuzzRoutes)]
		before := redfishState(t, h, auth, secrets)
		w := fuzzcheck.Do(h, rt.method, rt.path, "application/json", []byte(body), auth...)
		tokens := secrets
		if tok := w.Header().Get("X-Auth-Token"); tok != "" {
			tokens = append(tokens, tok)
			w.Header().Del("X-Auth-Token") // the login's own answer is where the token belongs
		}
		fuzzcheck.Reply(t, fuzzcheck.Redfish, w, tokens...)
		after := redfishState(t, h, auth, tokens)
		if w.Code >= 400 && before != after {
			t.Fatalf("%s %s refused (%d: %s) but changed the BMC:\nbefore %s\nafter  %s", rt.method, rt.path, w.Code, w.Body, before, after)
		}
	})
}

// bodySecrets are the password and header values a body sends that are long enough to be
// told apart from other text.
func bodySecrets(body string) []string {
	var v struct {
		Password    any
		HttpHeaders any
	}
	_ = json.Unmarshal([]byte(body), &v)
	var out []string
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case string:
			if len(x) >= 8 && strings.TrimSpace(x) == x {
				out = append(out, x)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v.Password)
	walk(v.HttpHeaders)
	return out
}

// redfishState is what a write can change: the node's power, sessions, subscriptions.
func redfishState(t *testing.T, h http.Handler, auth, secrets []string) string {
	t.Helper()
	var b strings.Builder
	for _, p := range []string{"/redfish/v1/Systems/Node0", "/redfish/v1/SessionService/Sessions", "/redfish/v1/EventService/Subscriptions",
		"/redfish/v1/EventService/Subscriptions/1", "/redfish/v1/EventService/Subscriptions/2"} {
		w := fuzzcheck.Do(h, http.MethodGet, p, "", nil, auth...)
		fuzzcheck.Reply(t, fuzzcheck.Redfish, w, secrets...)
		b.WriteString(w.Body.String())
	}
	return b.String()
}
