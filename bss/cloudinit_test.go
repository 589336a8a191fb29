package bss

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bssapi"
)

const (
	ip1, ip2 = "10.252.0.11", "10.252.0.12"
	// cloudSeed stores Global meta-data, a Worker role entry (the key the real BSS reads from
	// shasta-role, i.e. the SubRole), Default, and n1's own data.
	cloudSeed = `{"hosts":["Global"],"cloud-init":{"meta-data":{"region":"r1","ntp":{"server":"ntp1"}}}}`
	roleSeed  = `{"hosts":["Worker"],"cloud-init":{"meta-data":{"role-key":"w","nested":{"a":1,"b":1}},` +
		`"user-data":{"packages":["vim"],"runcmd":["role"]}}}`
	defaultSeed = `{"hosts":["Default"],"kernel":"kd","cloud-init":{"meta-data":{"d":1},"user-data":{"local-hostname":"anon"}}}`
	nodeSeed    = `{"hosts":["` + n1 + `"],"kernel":"k","cloud-init":{"meta-data":{"own":"x","nested":{"b":2}},"user-data":{"runcmd":["echo hi"]}}}`
)

// cloudServer has n1 (Compute/Worker) at ip1 and n2 at ip2, and the seeds above.
func cloudServer(t *testing.T) (*Server, http.Handler) {
	t.Helper()
	inv := testInventory()
	inv[0].SubRole, inv[0].IPs = "Worker", []string{ip1}
	inv[1].IPs = []string{ip2}
	s := mustServer(t, Config{Inventory: inv})
	h := s.Handler()
	for _, b := range []string{cloudSeed, roleSeed, defaultSeed, nodeSeed} {
		mustPut(t, h, b)
	}
	return s, h
}

// from sends a request as the node at ip (the connection's address), or through the API
// gateway when xff is set.
func from(t *testing.T, h http.Handler, ip, xff, method, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.RemoteAddr = ip + ":40000"
	if xff != "" {
		r.Header.Set("X-Forwarded-For", xff)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func decodeMap(t *testing.T, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var m map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &m), w.Body.String())
	return m
}

func TestMetaData(t *testing.T) {
	_, h := cloudServer(t)
	global := map[string]any{"region": "r1", "ntp": map[string]any{"server": "ntp1"}}
	for _, prefix := range []string{"", "/apis/bss"} {
		got := decodeMap(t, from(t, h, ip1, "", http.MethodGet, prefix+"/meta-data", ""))
		assert.Regexp(t, `^`+n1+`-[0-9a-f]{12}$`, got["instance-id"])
		delete(got, "instance-id")
		assert.Equal(t, map[string]any{
			"local-hostname": n1, "shasta-type": "Compute", "shasta-role": "Worker", // from HSM
			"own": "x", "role-key": "w", "nested": map[string]any{"a": 1.0, "b": 2.0}, // node over role
			"Global": global,
		}, got, prefix)
	}

	// An unknown caller gets Default's meta-data and a default- instance-id. Behind the
	// gateway the last X-Forwarded-For entry is the caller.
	got := decodeMap(t, from(t, h, ip1, "10.1.1.1, 10.9.9.9", http.MethodGet, "/meta-data", ""))
	assert.Regexp(t, `^default-[0-9a-f]{12}$`, got["instance-id"])
	delete(got, "instance-id")
	assert.Equal(t, map[string]any{"d": 1.0, "Global": global}, got)
	got = decodeMap(t, from(t, h, "10.9.9.9", "10.9.9.9, "+ip1, http.MethodGet, "/meta-data", ""))
	assert.Equal(t, n1, got["local-hostname"])

	for _, tc := range []struct {
		key    string
		status int
		want   string
	}{
		{"nested.b", 200, `2`},
		{"local-hostname", 200, `"` + n1 + `"`},
		{"Global.ntp.server", 200, `"ntp1"`},
		{"Global.ntp", 200, `{"server":"ntp1"}`},
		{"Global", 404, "Not Found"}, // no sub key: a miss, as real
		{"Global.nope", 404, "Not Found"},
		{"own.deeper", 404, "Not Found"},
		{"missing", 404, "Not Found"},
	} {
		w := from(t, h, ip1, "", http.MethodGet, "/meta-data?key="+tc.key, "")
		require.Equal(t, tc.status, w.Code, tc.key)
		if tc.status == 200 {
			assert.JSONEq(t, tc.want, w.Body.String(), tc.key)
		} else {
			assert.Equal(t, tc.want, problemDetail(t, w), tc.key)
		}
	}
}

func TestUserData(t *testing.T) {
	s, h := cloudServer(t)
	for _, prefix := range []string{"", "/apis/bss"} {
		w := from(t, h, ip1, "", http.MethodGet, prefix+"/user-data", "")
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		assert.Equal(t, "text/yaml", w.Header().Get("Content-Type"))
		assert.Equal(t, "#cloud-config\nlocal-hostname: "+n1+"\npackages:\n  - vim\nruncmd:\n  - echo hi\n", w.Body.String(),
			"node user-data over the role's, local-hostname from meta-data")
	}
	w := from(t, h, "10.9.9.9", "", http.MethodGet, "/user-data", "")
	require.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "#cloud-config\nlocal-hostname: anon\n", w.Body.String(), "an unknown caller gets Default's")

	hist := decodeList(t, call(t, h, http.MethodGet, "/boot/v1/endpoint-history", ""))
	assert.Equal(t, []bssapi.EndpointAccess{{Name: "", Endpoint: bssapi.EndpointUserData, LastEpoch: s.now().Unix()}, {Name: n1, Endpoint: bssapi.EndpointUserData, LastEpoch: s.now().Unix()}}, hist,
		"user-data fetches are recorded, an unknown caller's under an empty name as real")
}

func decodeList(t *testing.T, w *httptest.ResponseRecorder) []bssapi.EndpointAccess {
	t.Helper()
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var out []bssapi.EndpointAccess
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &out))
	return out
}

func TestPhoneHome(t *testing.T) {
	_, h := cloudServer(t)
	const body = `{"pub_key_rsa":"ssh-rsa AAAA","instance_id":"i-1","hostname":"nid000001","fqdn":"nid000001.local","extra":"ignored"}`
	w := from(t, h, ip1, "", http.MethodPost, "/apis/bss/phone-home", body)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.JSONEq(t, `{"hosts":["`+n1+`"],"cloud-init":{"meta-data":{"own":"x","nested":{"b":2}},"user-data":{"runcmd":["echo hi"]},`+
		`"phone-home":{"pub_key_rsa":"ssh-rsa AAAA","instance_id":"i-1","hostname":"nid000001","fqdn":"nid000001.local"}}}`, w.Body.String())
	stored := params(t, h)[n1]
	assert.Equal(t, bssapi.PhoneHome{PublicKeyRSA: "ssh-rsa AAAA", InstanceID: "i-1", Hostname: "nid000001", FQDN: "nid000001.local"},
		stored.CloudInit.PhoneHome)
	assert.Equal(t, map[string]any{"own": "x", "nested": map[string]any{"b": 2.0}}, stored.CloudInit.MetaData, "the rest is kept")

	for _, tc := range []struct{ name, ip, body, detail string }{
		{"UnknownIP", "10.9.9.9", body, "XName not found for IP"},
		{"NodeWithoutEntry", ip2, body, "Not Found: Error looking up " + n2 + ": Key /params/" + n2 + " does not exist"},
	} {
		w := from(t, h, tc.ip, "", http.MethodPost, "/phone-home", tc.body)
		require.Equal(t, http.StatusNotFound, w.Code, tc.name)
		assert.Equal(t, tc.detail, problemDetail(t, w), tc.name)
	}
	w = from(t, h, ip1, "", http.MethodPost, "/phone-home", `pub_key_rsa=ssh-rsa`)
	require.Equal(t, http.StatusBadRequest, w.Code)
	assert.Equal(t, "Bad Request", problemDetail(t, w))
}
