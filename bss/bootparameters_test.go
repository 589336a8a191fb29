package bss

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bssapi"
)

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestPutBootParameters(t *testing.T) {
	for _, tc := range []struct {
		name   string
		body   string
		status int
		detail string
		token  bool
		want   map[string]bssapi.BootParams // entries that must exist afterwards
		absent []string
	}{
		{name: "OKHosts", body: `{"hosts":["` + n1 + `","` + n2 + `"],"params":"quiet","kernel":"k1","initrd":"i1"}`,
			status: 200, token: true, want: map[string]bssapi.BootParams{
				n1:          {Hosts: []string{n1}, Params: "quiet", Kernel: "k1", Initrd: "i1"},
				n2:          {Hosts: []string{n2}, Params: "quiet", Kernel: "k1", Initrd: "i1"},
				"kernel:k1": {Kernel: "k1"}, "initrd:i1": {Initrd: "i1"}}},
		{name: "HostsStoredVerbatim", body: `{"hosts":["X3000C0S1B0N0","Default"],"kernel":"k"}`, status: 200, token: true,
			want: map[string]bssapi.BootParams{"X3000C0S1B0N0": {Hosts: []string{"X3000C0S1B0N0"}, Kernel: "k"},
				"Default": {Hosts: []string{"Default"}, Kernel: "k"}}, absent: []string{n1}},
		{name: "MacsResolvedThroughHSM", body: `{"macs":["AA:BB:CC:00:00:01","02:00:00:00:00:99"],"kernel":"k"}`, status: 200, token: true,
			want: map[string]bssapi.BootParams{n1: {Hosts: []string{n1}, Kernel: "k"},
				"02:00:00:00:00:99": {Hosts: []string{"02:00:00:00:00:99"}, Kernel: "k"}}},
		{name: "NidsResolvedThroughHSM", body: `{"nids":[2,99],"kernel":"k"}`, status: 200, token: true,
			want: map[string]bssapi.BootParams{n2: {Hosts: []string{n2}, Kernel: "k"}, "nid99": {Hosts: []string{"nid99"}, Kernel: "k"}}},
		{name: "HostsWinOverMacsAndNids", body: `{"hosts":["` + n3 + `"],"macs":["` + mac1 + `"],"nids":[2],"kernel":"k"}`, status: 200, token: true,
			want: map[string]bssapi.BootParams{n3: {Hosts: []string{n3}, Kernel: "k"}}, absent: []string{n1, n2}},
		{name: "MacsWinOverNids", body: `{"macs":["` + mac1 + `"],"nids":[2],"kernel":"k"}`, status: 200, token: true,
			want: map[string]bssapi.BootParams{n1: {Hosts: []string{n1}, Kernel: "k"}}, absent: []string{n2}},
		{name: "KernelOnlySetsImageParams", body: `{"kernel":"k9","params":"kp=1"}`, status: 200,
			want: map[string]bssapi.BootParams{"kernel:k9": {Kernel: "k9", Params: "kp=1"}}},
		{name: "NothingToStore", body: `{"params":"quiet"}`, status: 400, detail: "Nothing to Store"},
		{name: "EmptyBody", body: ``, status: 400, detail: "empty"},
		{name: "MalformedJSON", body: `{"hosts":[`, status: 400, detail: "truncated"},
		{name: "UnknownField", body: `{"hosts":["a"],"kernal":"k"}`, status: 400, detail: "unknown field"},
		{name: "WrongType", body: `{"nids":["one"]}`, status: 400, detail: "field nids"},
		{name: "BadMAC", body: `{"macs":["not-a-mac"],"kernel":"k"}`, status: 400, detail: "invalid MAC"},
		{name: "EmptyHost", body: `{"hosts":[""],"kernel":"k"}`, status: 400, detail: "empty host"},
		{name: "NegativeNID", body: `{"nids":[-1],"kernel":"k"}`, status: 400, detail: "invalid nid"},
		{name: "TooLarge", body: `{"hosts":["` + strings.Repeat("x", 600) + `"]}`, status: 413, detail: "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustServer(t, Config{MaxBody: 512})
			h := s.Handler()
			w := call(t, h, http.MethodPut, "/boot/v1/bootparameters", tc.body)
			require.Equal(t, tc.status, w.Code, w.Body.String())
			if tc.status != 200 {
				assert.Contains(t, problemDetail(t, w), tc.detail)
				assert.Empty(t, w.Header().Get(bssapi.ReferralTokenHeader))
				assert.Empty(t, params(t, h), "a failed PUT stores nothing")
				return
			}
			if tc.token {
				assert.Regexp(t, uuidPattern, w.Header().Get(bssapi.ReferralTokenHeader))
			} else {
				assert.Empty(t, w.Header().Get(bssapi.ReferralTokenHeader))
			}
			got := params(t, h)
			for k, want := range tc.want {
				assert.Equal(t, want, got[k], k)
			}
			for _, k := range tc.absent {
				assert.NotContains(t, got, k)
			}
		})
	}
}

func TestReferralTokens(t *testing.T) {
	s := mustServer(t, Config{})
	h := s.Handler()
	tok1 := mustPut(t, h, `{"hosts":["`+n1+`","`+n2+`"],"kernel":"k1"}`)
	tok2 := mustPut(t, h, `{"hosts":["`+n2+`"],"kernel":"k2"}`)
	assert.NotEqual(t, tok1, tok2, "each PUT mints a new token")

	// Both hosts of the first PUT share its token; the second PUT replaced n2's.
	for node, tok := range map[string]string{n1: tok1, n2: tok2} {
		w := call(t, h, http.MethodGet, "/boot/v1/bootscript?name="+node, "")
		require.Equal(t, 200, w.Code, w.Body.String())
		assert.Contains(t, w.Body.String(), " bss_referral_token="+tok+" ")
	}

	// PATCH keeps the token; POST mints one.
	w := call(t, h, http.MethodPatch, "/boot/v1/bootparameters", `{"hosts":["`+n1+`"],"params":"console=ttyS0"}`)
	require.Equal(t, 200, w.Code, w.Body.String())
	assert.Empty(t, w.Header().Get(bssapi.ReferralTokenHeader))
	w = call(t, h, http.MethodGet, "/boot/v1/bootscript?name="+n1, "")
	assert.Contains(t, w.Body.String(), "console=ttyS0 xname="+n1+" nid=1 bss_referral_token="+tok1+" ")

	w = call(t, h, http.MethodPost, "/boot/v1/bootparameters", `{"hosts":["`+n3+`"],"kernel":"k3"}`)
	require.Equal(t, 201, w.Code, w.Body.String())
	assert.Regexp(t, uuidPattern, w.Header().Get(bssapi.ReferralTokenHeader))
}

func TestPostBootParameters(t *testing.T) {
	seed := `{"hosts":["` + n1 + `"],"kernel":"k1","params":"old"}`
	for _, tc := range []struct {
		name   string
		body   string
		status int
		detail string
	}{
		{"OK", `{"hosts":["` + n2 + `"],"kernel":"k2"}`, 201, ""},
		{"HostExists", `{"hosts":["` + n2 + `","` + n1 + `"],"kernel":"k2"}`, 400, "Already exists: " + n1},
		{"MacOfExistingNode", `{"macs":["` + mac1 + `"],"kernel":"k2"}`, 400, "Already exists: " + mac1},
		{"NidOfExistingNode", `{"nids":[1],"kernel":"k2"}`, 400, "Already exists: 1"},
		{"KernelImageExists", `{"kernel":"k1","params":"x"}`, 400, "Already exists: k1"},
		{"NothingToStore", `{}`, 400, "Nothing to Store"},
		{"MalformedJSON", `[`, 400, "Bad Request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := mustServer(t, Config{}).Handler()
			mustPut(t, h, seed)
			before := params(t, h)
			w := call(t, h, http.MethodPost, "/boot/v1/bootparameters", tc.body)
			require.Equal(t, tc.status, w.Code, w.Body.String())
			if tc.status != 201 {
				assert.Contains(t, problemDetail(t, w), tc.detail)
				assert.Equal(t, before, params(t, h), "a failed POST changes nothing")
				return
			}
			assert.Regexp(t, uuidPattern, w.Header().Get(bssapi.ReferralTokenHeader))
			assert.Equal(t, "k2", params(t, h)[n2].Kernel)
		})
	}
}

func TestPatchBootParameters(t *testing.T) {
	seed := `{"hosts":["` + n1 + `","` + n2 + `"],"kernel":"k1","initrd":"i1","params":"old",` +
		`"cloud-init":{"meta-data":{"a":1,"nested":{"x":1,"y":2}},"user-data":{"u":"v"}}}`
	for _, tc := range []struct {
		name   string
		body   string
		status int
		detail string
		check  func(t *testing.T, got map[string]bssapi.BootParams)
	}{
		{name: "NonEmptyFieldsOnly", body: `{"hosts":["` + n1 + `"],"params":"new"}`, status: 200,
			check: func(t *testing.T, got map[string]bssapi.BootParams) {
				assert.Equal(t, "new", got[n1].Params)
				assert.Equal(t, "k1", got[n1].Kernel, "empty kernel does not null out")
				assert.Equal(t, "i1", got[n1].Initrd)
				assert.Equal(t, "old", got[n2].Params, "other hosts untouched")
			}},
		{name: "ByMAC", body: `{"macs":["` + mac2 + `"],"kernel":"k2"}`, status: 200,
			check: func(t *testing.T, got map[string]bssapi.BootParams) {
				assert.Equal(t, "k2", got[n2].Kernel)
				assert.Contains(t, got, "kernel:k2", "a new image is registered")
			}},
		{name: "ByNID", body: `{"nids":[1],"initrd":"i2"}`, status: 200,
			check: func(t *testing.T, got map[string]bssapi.BootParams) { assert.Equal(t, "i2", got[n1].Initrd) }},
		{name: "CloudInitMerged", body: `{"hosts":["` + n1 + `"],"cloud-init":{"meta-data":{"b":2,"nested":{"y":null,"z":3}},"phone-home":{"hostname":"nid1"}}}`, status: 200,
			check: func(t *testing.T, got map[string]bssapi.BootParams) {
				ci := got[n1].CloudInit
				assert.Equal(t, map[string]any{"a": 1.0, "b": 2.0, "nested": map[string]any{"x": 1.0, "z": 3.0}}, ci.MetaData)
				assert.Equal(t, map[string]any{"u": "v"}, ci.UserData)
				assert.Equal(t, "nid1", ci.PhoneHome.Hostname)
				assert.Equal(t, map[string]any{"a": 1.0, "nested": map[string]any{"x": 1.0, "y": 2.0}}, got[n2].CloudInit.MetaData,
					"n2's cloud-init is not aliased to n1's")
			}},
		{name: "KernelImageParams", body: `{"kernel":"k1","params":"kp=1"}`, status: 200,
			check: func(t *testing.T, got map[string]bssapi.BootParams) {
				assert.Equal(t, "kp=1", got["kernel:k1"].Params)
				assert.Equal(t, "old", got[n1].Params)
			}},
		{name: "MissingHost", body: `{"hosts":["` + n1 + `","` + n3 + `"],"params":"new"}`, status: 404, detail: "Not Found: Key /params/" + n3},
		{name: "MissingMAC", body: `{"macs":["` + mac3 + `"],"params":"new"}`, status: 404, detail: "Not Found: no boot parameters for MAC " + mac3},
		{name: "MissingNID", body: `{"nids":[7],"params":"new"}`, status: 404, detail: "NID 7"},
		{name: "MalformedJSON", body: `{`, status: 400, detail: "Bad Request"},
		{name: "BadMAC", body: `{"macs":["zz"]}`, status: 400, detail: "invalid MAC"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := mustServer(t, Config{}).Handler()
			mustPut(t, h, seed)
			before := params(t, h)
			w := call(t, h, http.MethodPatch, "/boot/v1/bootparameters", tc.body)
			require.Equal(t, tc.status, w.Code, w.Body.String())
			if tc.status != 200 {
				assert.Contains(t, problemDetail(t, w), tc.detail)
				assert.Equal(t, before, params(t, h), "a failed PATCH changes nothing")
				return
			}
			tc.check(t, params(t, h))
		})
	}
}

func TestDeleteBootParameters(t *testing.T) {
	seed := `{"hosts":["` + n1 + `","` + n2 + `","nid9"],"kernel":"k1","initrd":"i1"}`
	for _, tc := range []struct {
		name   string
		body   string
		status int
		detail string
		gone   []string
		check  func(t *testing.T, got map[string]bssapi.BootParams)
	}{
		{name: "Hosts", body: `{"hosts":["` + n1 + `"]}`, status: 200, gone: []string{n1}},
		{name: "MAC", body: `{"macs":["` + mac2 + `"]}`, status: 200, gone: []string{n2}},
		{name: "NIDResolvedAndLiteral", body: `{"nids":[1,9]}`, status: 200, gone: []string{n1, "nid9"}},
		{name: "KernelImage", body: `{"kernel":"k1"}`, status: 200, gone: []string{"kernel:k1"},
			check: func(t *testing.T, got map[string]bssapi.BootParams) {
				assert.Equal(t, bssapi.BootParams{Hosts: []string{n1}, Initrd: "i1"}, got[n1], "references to the image are cleared")
			}},
		{name: "MissingHost", body: `{"hosts":["` + n1 + `","` + n3 + `"]}`, status: 400, detail: "Key /params/" + n3 + " does not exist"},
		// The real BSS removes nothing and answers 200 for images it does not have.
		{name: "MissingInitrdImage", body: `{"initrd":"nope"}`, status: 200},
		{name: "MissingKernelImage", body: `{"kernel":"nope"}`, status: 200},
		{name: "HostAndMissingImage", body: `{"hosts":["` + n1 + `"],"kernel":"nope"}`, status: 200, gone: []string{n1}},
		{name: "NothingSelected", body: `{}`, status: 400, detail: "no hosts"},
		{name: "NoBody", body: ``, status: 400, detail: "empty"},
		{name: "UnknownField", body: `{"host":["a"]}`, status: 400, detail: "unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := mustServer(t, Config{}).Handler()
			mustPut(t, h, seed)
			before := params(t, h)
			w := call(t, h, http.MethodDelete, "/boot/v1/bootparameters", tc.body)
			require.Equal(t, tc.status, w.Code, w.Body.String())
			got := params(t, h)
			if tc.status != 200 {
				assert.Contains(t, problemDetail(t, w), tc.detail)
				assert.Equal(t, before, got, "a failed DELETE removes nothing")
				return
			}
			for _, k := range tc.gone {
				assert.NotContains(t, got, k)
			}
			assert.Len(t, got, len(before)-len(tc.gone))
			if tc.check != nil {
				tc.check(t, got)
			}
		})
	}
}

func TestGetBootParameters(t *testing.T) {
	h := mustServer(t, Config{}).Handler()
	mustPut(t, h, `{"hosts":["`+n1+`"],"kernel":"k1","params":"p1"}`)
	mustPut(t, h, `{"hosts":["`+n2+`"],"kernel":"k2","params":"p2"}`)
	mustPut(t, h, `{"hosts":["nid42","Default"],"kernel":"kd"}`)
	require.Equal(t, 200, call(t, h, http.MethodPut, "/boot/v1/bootparameters", `{"kernel":"k1","params":"kp"}`).Code)

	hostsOf := func(bps []bssapi.BootParams) []string {
		var out []string
		for _, bp := range bps {
			out = append(out, strings.Join(bp.Hosts, "+")+"|"+bp.Kernel)
		}
		return out
	}
	for _, tc := range []struct {
		name, query, body string
		status            int
		want              []string
		detail            string
	}{
		{name: "All", status: 200, want: []string{"|k1", "|k2", "|kd", "Default|kd", "nid42|kd", n1 + "|k1", n2 + "|k2"}},
		{name: "ByName", query: "name=" + n1, status: 200, want: []string{n1 + "|k1"}},
		{name: "CommaList", query: "name=" + n2 + "," + n1, status: 200, want: []string{n2 + "|k2", n1 + "|k1"}},
		{name: "RepeatedParams", query: "name=" + n2 + "&name=" + n1, status: 200, want: []string{n2 + "|k2", n1 + "|k1"}},
		{name: "ByFQDN", query: "name=" + n1 + ".hmn", status: 200, want: []string{n1 + "|k1"}},
		{name: "ByMAC", query: "mac=AA:BB:CC:00:00:02", status: 200, want: []string{n2 + "|k2"}},
		{name: "ByNID", query: "nid=1", status: 200, want: []string{n1 + "|k1"}},
		{name: "ByUnresolvedNID", query: "nid=42", status: 200, want: []string{"nid42|kd"}},
		{name: "Mixed", query: "name=" + n1 + "&mac=" + mac2 + "&nid=42", status: 200, want: []string{n1 + "|k1", n2 + "|k2", "nid42|kd"}},
		{name: "Deduplicated", query: "name=" + n1 + "&nid=1", status: 200, want: []string{n1 + "|k1"}},
		{name: "SomeFound", query: "name=" + n1 + "," + n3, status: 200, want: []string{n1 + "|k1"}},
		{name: "JSONBody", body: `{"hosts":["` + n2 + `"],"kernel":"k1"}`, status: 200, want: []string{"|k1", n2 + "|k2"}},
		{name: "BadBodyIgnoredWithQuery", query: "name=" + n1, body: `nope`, status: 200, want: []string{n1 + "|k1"}},
		{name: "NotFound", query: "name=" + n3, status: 404, detail: "Cannot find boot parameters for requested Hosts"},
		{name: "NotFoundSeveral", query: "name=" + n3 + "&nid=77", status: 404, detail: "requested Hosts or NIDs"},
		{name: "BadNID", query: "nid=one", status: 400, detail: "Invalid nid 'one'"},
		{name: "BadBody", body: `{"hosts":`, status: 400, detail: "Failed to interpret request body"},
		{name: "EmptySelection", body: `{}`, status: 400, detail: "No specified data requested"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := "/boot/v1/bootparameters"
			if tc.query != "" {
				target += "?" + tc.query
			}
			w := call(t, h, http.MethodGet, target, tc.body)
			require.Equal(t, tc.status, w.Code, w.Body.String())
			if tc.status != 200 {
				assert.Contains(t, problemDetail(t, w), tc.detail)
				return
			}
			var got []bssapi.BootParams
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
			assert.Equal(t, tc.want, hostsOf(got))
		})
	}
}

func TestGatewayPrefix(t *testing.T) {
	h := mustServer(t, Config{}).Handler()
	w := call(t, h, http.MethodPut, "/apis/bss/boot/v1/bootparameters", `{"hosts":["`+n1+`"],"kernel":"k"}`)
	require.Equal(t, 200, w.Code)
	w = call(t, h, http.MethodGet, "/apis/bss/boot/v1/bootscript?name="+n1, "")
	require.Equal(t, 200, w.Code)
	assert.Contains(t, w.Body.String(), "kernel --name kernel k ")
}
