package bss

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bssapi"
)

func TestBootScriptExactText(t *testing.T) {
	s := mustServer(t, Config{S3URL: "http://127.0.0.1:9000/", RetryDelay: 45 * time.Second})
	h := s.Handler()
	tok := mustPut(t, h, `{"hosts":["`+n1+`"],"params":"console=ttyS0 initrd=old.img quiet metal.server=s3://boot-images/k/rootfs",`+
		`"kernel":"s3://boot-images/k/kernel","initrd":"s3://boot-images/k/initrd"}`)

	w := call(t, h, http.MethodGet, "/boot/v1/bootscript?mac="+mac1+"&retry=2", "")
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, "text/plain; charset=UTF-8", w.Header().Get("Content-Type"))
	want := "#!ipxe\n" +
		"kernel --name kernel http://127.0.0.1:9000/boot-images/k/kernel initrd=initrd console=ttyS0 quiet" +
		" metal.server=http://127.0.0.1:9000/boot-images/k/rootfs xname=" + n1 + " nid=1 bss_referral_token=" + tok +
		" ds=nocloud-net;s=http://10.0.0.1:8888/ || goto boot_retry\n" +
		"initrd --name initrd http://127.0.0.1:9000/boot-images/k/initrd || goto boot_retry\n" +
		"imgstat || echo Could not show image information.\n" +
		"boot || goto boot_retry\n" +
		":boot_retry\n" +
		"sleep 45\n" +
		"chain https://api-gw-service-nmn.local/apis/bss/boot/v1/bootscript?mac=" + mac1 + "&retry=3\n"
	assert.Equal(t, want, w.Body.String())
}

func TestBootScriptDetails(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      Config
		puts     []string
		query    string
		contains []string
		excludes []string
	}{
		{name: "S3LeftAloneWithoutS3URL", puts: []string{`{"hosts":["` + n1 + `"],"kernel":"s3://b/k","initrd":"s3://b/i"}`},
			query: "name=" + n1, contains: []string{"kernel --name kernel s3://b/k initrd=initrd xname=", "initrd --name initrd s3://b/i ||"}},
		{name: "S3WithoutHost", cfg: Config{S3URL: "http://s3:9000"}, puts: []string{`{"hosts":["` + n1 + `"],"kernel":"s3:///b/path/k"}`},
			query: "name=" + n1, contains: []string{"kernel --name kernel http://s3:9000/b/path/k xname="}},
		{name: "NoInitrdNoInitrdParam", puts: []string{`{"hosts":["` + n1 + `"],"kernel":"k","params":"initrd=keep"}`},
			query: "name=" + n1, contains: []string{"kernel --name kernel k initrd=keep xname="}, excludes: []string{"initrd --name", "initrd=initrd"}},
		{name: "ExistingParamsNotDuplicated", puts: []string{`{"hosts":["` + n1 + `"],"kernel":"k","params":"xname=custom nid=7 ds=mine"}`},
			query: "name=" + n1, contains: []string{"kernel --name kernel k xname=custom nid=7 ds=mine bss_referral_token="},
			excludes: []string{"xname=" + n1, "nocloud"}},
		{name: "ImageParamsAppended", puts: []string{`{"hosts":["` + n1 + `"],"kernel":"k","initrd":"i","params":"p=1"}`,
			`{"kernel":"k","params":"kp=2"}`, `{"initrd":"i","params":"ip=3"}`},
			query: "name=" + n1, contains: []string{"initrd=initrd p=1 kp=2 ip=3 xname="}},
		{name: "ChainByNameWithoutMAC", puts: []string{`{"hosts":["x1c0s0b0n0"],"kernel":"k"}`},
			cfg:   Config{Inventory: StaticInventory{{ID: "x1c0s0b0n0", NID: 5, EndpointEnabled: true}}},
			query: "nid=5", contains: []string{"chain https://api-gw-service-nmn.local/apis/bss/boot/v1/bootscript?name=x1c0s0b0n0&retry=1"}},
		{name: "ChainURLConfigurable", cfg: Config{ChainURL: "http://10.1.1.1:8080/"}, puts: []string{`{"hosts":["` + n1 + `"],"kernel":"k"}`},
			query: "name=" + n1, contains: []string{"\nchain http://10.1.1.1:8080/boot/v1/bootscript?mac=" + mac1 + "&retry=1\n", "\nsleep 30\n"}},
		{name: "NIDParamOmittedWithoutNID", cfg: Config{Inventory: StaticInventory{{ID: "x1c0s0b0n0", EndpointEnabled: true}}},
			puts: []string{`{"hosts":["x1c0s0b0n0"],"kernel":"k"}`}, query: "name=x1c0s0b0n0", excludes: []string{" nid="}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := mustServer(t, tc.cfg).Handler()
			for _, p := range tc.puts {
				require.Equal(t, 200, call(t, h, http.MethodPut, "/boot/v1/bootparameters", p).Code)
			}
			w := call(t, h, http.MethodGet, "/boot/v1/bootscript?"+tc.query, "")
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			for _, c := range tc.contains {
				assert.Contains(t, w.Body.String(), c)
			}
			for _, c := range tc.excludes {
				assert.NotContains(t, w.Body.String(), c)
			}
		})
	}
}

// kernelOf returns the kernel URL of a script, or "" for a script without a kernel line.
func kernelOf(script string) string {
	for _, line := range strings.Split(script, "\n") {
		if rest, ok := strings.CutPrefix(line, "kernel --name kernel "); ok {
			return strings.Fields(rest)[0]
		}
	}
	return ""
}

func TestBootScriptResolutionOrder(t *testing.T) {
	all := []string{
		`{"hosts":["` + n1 + `"],"kernel":"host"}`,
		`{"hosts":["` + mac1 + `"],"kernel":"alt-mac"}`,
		`{"hosts":["nid1"],"kernel":"alt-nid"}`,
		`{"hosts":["Compute"],"kernel":"role"}`,
		`{"hosts":["Default"],"kernel":"default"}`,
	}
	for _, tc := range []struct {
		name  string
		puts  []string
		query string
		want  string
		node  string
	}{
		{"HostKeyFirst", all, "mac=" + mac1, "host", n1},
		{"AlternateMACKey", all[1:], "mac=" + mac1, "alt-mac", n1},
		{"AlternateNIDKey", all[1:], "nid=1", "alt-nid", n1},
		{"RoleBeforeDefault", all[3:], "name=" + n1, "role", n1},
		{"DefaultLast", all[4:], "name=" + n1, "default", n1},
		{"OtherRoleGetsDefault", all, "name=" + n2, "default", n2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := mustServer(t, Config{}).Handler()
			for _, p := range tc.puts {
				mustPut(t, h, p)
			}
			w := call(t, h, http.MethodGet, "/boot/v1/bootscript?"+tc.query, "")
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			assert.Equal(t, tc.want, kernelOf(w.Body.String()))
			assert.Regexp(t, " xname="+tc.node+" nid=[12] bss_referral_token=", w.Body.String(), "role and Default scripts still name the node")
		})
	}
}

func TestBootScriptUnknownNodes(t *testing.T) {
	const ts = "&ts=1700000000"
	// askArch is the real BSS's answer to any unknown node that did not say its arch: its
	// "refreshing HSM data" script (sleep 10), chaining back with ${buildarch}.
	askArch := func(sel string) string {
		return "#!ipxe\nsleep 10\nchain https://api-gw-service-nmn.local/apis/bss/boot/v1/bootscript?" + sel + "&arch=${buildarch}" + ts + "\n"
	}
	for _, tc := range []struct {
		name   string
		puts   []string
		query  string
		status int
		want   string // exact script, or the 404 detail
		kernel string // instead of want: the kernel the script boots
	}{
		{name: "NotInHSMNoDiscovery", query: "name=x9c0s0b0n0", status: 200, want: askArch("name=x9c0s0b0n0")},
		{name: "NotInHSMAsksForArch", puts: []string{`{"hosts":["Unknown-X86"],"kernel":"disc"}`}, query: "name=x9c0s0b0n0", status: 200,
			want: askArch("name=x9c0s0b0n0")},
		{name: "UnknownMACAsksForArch", puts: []string{`{"hosts":["Unknown-X86"],"kernel":"disc"}`}, query: "mac=02:00:00:00:00:99", status: 200,
			want: askArch("mac=02:00:00:00:00:99")},
		{name: "UnknownNIDAsksForArch", query: "nid=99", status: 200, want: askArch("nid=99")},
		{name: "NotInHSMWithArchBootsDiscovery", puts: []string{`{"hosts":["Unknown-X86"],"kernel":"disc","params":"discovery"}`},
			query: "nid=99&arch=X86", status: 200,
			want: "#!ipxe\nkernel --name kernel disc discovery ds=nocloud-net;s=http://10.0.0.1:8888/ || goto boot_retry\n" +
				"imgstat || echo Could not show image information.\nboot || goto boot_retry\n:boot_retry\nsleep 30\n" +
				"chain https://api-gw-service-nmn.local/apis/bss/boot/v1/bootscript?nid=99&arch=${buildarch}" + ts + "\n"},
		{name: "NotInHSMWithUnconfiguredArch", puts: []string{`{"hosts":["Unknown-X86"],"kernel":"disc"}`}, query: "name=x9c0s0b0n0&arch=ARM", status: 404,
			want: "Unknown x9c0s0b0n0 architecture ARM: this host not configured for booting."},
		{name: "NotInHSMIgnoresDefault", puts: []string{`{"hosts":["Default"],"kernel":"default"}`}, query: "name=x9c0s0b0n0", status: 200,
			want: askArch("name=x9c0s0b0n0")},
		{name: "NotInHSMWithArchIgnoresDefault", puts: []string{`{"hosts":["Default"],"kernel":"default"}`}, query: "name=x9c0s0b0n0&arch=X86", status: 404,
			want: "Unknown x9c0s0b0n0 architecture X86: this host not configured for booting."},
		{name: "DisabledEndpointGetsDiscovery", puts: []string{`{"hosts":["Unknown-X86"],"kernel":"disc"}`, `{"hosts":["` + n3 + `"],"kernel":"own"}`},
			query: "name=" + n3 + "&arch=X86", status: 200, kernel: "disc"},
		{name: "DisabledEndpointWithoutArchAsksForArch", puts: []string{`{"hosts":["` + n3 + `"],"kernel":"own"}`},
			query: "name=" + n3, status: 200, want: askArch("mac=" + mac3)},
		{name: "DisabledEndpointFallsBackToOwnScript", puts: []string{`{"hosts":["` + n3 + `"],"kernel":"own"}`},
			query: "name=" + n3 + "&arch=X86", status: 200, kernel: "own"},
		{name: "KnownNodeWithoutKernel", query: "name=" + n1, status: 200, want: askArch("mac=" + mac1)},
		{name: "KnownNodeByMACWithoutKernel", query: "mac=" + mac2, status: 200, want: askArch("mac=" + mac2)},
		{name: "KnownNodeWithArchWithoutKernel", query: "name=" + n1 + "&arch=X86", status: 404,
			want: "Unknown " + n1 + " architecture X86: this host not configured for booting."},
		{name: "KnownNodeByMACWithArchWithoutKernel", query: "mac=" + mac2 + "&arch=X86", status: 404,
			want: "Unknown MAC " + mac2 + " (" + n2 + ") architecture X86: this host not configured for booting."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			h := mustServer(t, Config{Now: clock.Now}).Handler()
			for _, p := range tc.puts {
				mustPut(t, h, p)
			}
			w := call(t, h, http.MethodGet, "/boot/v1/bootscript?"+tc.query, "")
			require.Equal(t, tc.status, w.Code, w.Body.String())
			switch {
			case tc.status != 200:
				assert.Equal(t, tc.want, problemDetail(t, w))
			case tc.kernel != "":
				assert.Equal(t, tc.kernel, kernelOf(w.Body.String()))
			default:
				assert.Equal(t, tc.want, w.Body.String())
			}
		})
	}
}

func TestBootScriptBadRequests(t *testing.T) {
	h := mustServer(t, Config{}).Handler()
	for _, tc := range []struct{ query, detail string }{
		{"", "Need a mac=, name=, or nid= parameter"},
		{"arch=X86", "Need a mac=, name=, or nid= parameter"},
		{"nid=abc", "Invalid nid 'abc'"},
		{"nid=-4", "Invalid nid '-4'"},
		{"name=" + n1 + "&retry=x", "Invalid retry 'x'"},
		{"name=" + n1 + "&ts=soon", "Invalid ts 'soon'"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			w := call(t, h, http.MethodGet, "/boot/v1/bootscript?"+tc.query, "")
			require.Equal(t, http.StatusBadRequest, w.Code)
			assert.Contains(t, problemDetail(t, w), tc.detail)
		})
	}
}

func TestEndpointHistory(t *testing.T) {
	clock := newFakeClock()
	s := mustServer(t, Config{Now: clock.Now})
	h := s.Handler()
	mustPut(t, h, `{"hosts":["`+n1+`","`+n2+`"],"kernel":"k"}`)
	require.Equal(t, 200, call(t, h, http.MethodGet, "/boot/v1/bootscript?name="+n1, "").Code)
	clock.Advance(time.Minute)
	require.Equal(t, 200, call(t, h, http.MethodGet, "/boot/v1/bootscript?mac="+mac2, "").Code)
	require.Equal(t, 404, call(t, h, http.MethodGet, "/boot/v1/bootscript?name="+n3+"&arch=X86", "").Code, "failures are not recorded")
	require.Equal(t, 200, call(t, h, http.MethodGet, "/boot/v1/bootscript?name="+n3, "").Code, "nor requests asked for their arch")

	for _, tc := range []struct {
		query  string
		status int
		want   []bssapi.EndpointAccess
	}{
		{"", 200, []bssapi.EndpointAccess{{Name: n1, Endpoint: bssapi.EndpointBootscript, LastEpoch: 1_700_000_000}, {Name: n2, Endpoint: bssapi.EndpointBootscript, LastEpoch: 1_700_000_060}}},
		{"?name=" + n2, 200, []bssapi.EndpointAccess{{Name: n2, Endpoint: bssapi.EndpointBootscript, LastEpoch: 1_700_000_060}}},
		{"?name=" + n1 + "&endpoint=bootscript", 200, []bssapi.EndpointAccess{{Name: n1, Endpoint: bssapi.EndpointBootscript, LastEpoch: 1_700_000_000}}},
		// A known endpoint never fetched is a record with epoch 0; an unknown one is nothing.
		{"?name=" + n1 + "&endpoint=user-data", 200, []bssapi.EndpointAccess{{Name: n1, Endpoint: bssapi.EndpointUserData, LastEpoch: 0}}},
		{"?name=" + n1 + "&endpoint=BOOTSCRIPT", 200, []bssapi.EndpointAccess{{Name: n1, Endpoint: "BOOTSCRIPT", LastEpoch: 0}}},
		{"?name=" + n1 + "&endpoint=bogus", 200, []bssapi.EndpointAccess{}},
		{"?name=nobody", 200, []bssapi.EndpointAccess{}},
		// An endpoint without a name is a search the real BSS cannot make.
		{"?endpoint=bogus", 500, nil},
		{"?endpoint=user-data", 500, nil},
	} {
		w := call(t, h, http.MethodGet, "/boot/v1/endpoint-history"+tc.query, "")
		require.Equal(t, tc.status, w.Code, tc.query)
		if tc.status == 500 {
			assert.Equal(t, "Failed to search for name: , endpoint: "+strings.TrimPrefix(tc.query, "?endpoint="), problemDetail(t, w))
		}
		if tc.status == 200 {
			var got []bssapi.EndpointAccess
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
			assert.Equal(t, tc.want, got, tc.query)
		}
	}
}

func TestUnknownNodeRefreshesInventory(t *testing.T) {
	clock := newFakeClock()
	inv := &mutableInventory{hosts: testInventory()}
	s := mustServer(t, Config{Inventory: inv, Now: clock.Now, RefreshInterval: 5 * time.Second})
	h := s.Handler()
	const n4 = "x3000c0s4b0n0"
	mustPut(t, h, `{"hosts":["`+n4+`"],"kernel":"k4"}`)
	require.EqualValues(t, 1, inv.calls.Load(), "New reads HSM once")

	// HSM learns about n4; within the interval BSS does not re-read it.
	inv.set(append(testInventory(), bssapi.Host{ID: n4, NID: 4, Role: "Compute", EndpointEnabled: true}), nil)
	assertAsksForArch(t, call(t, h, http.MethodGet, "/boot/v1/bootscript?name="+n4, ""))
	assert.EqualValues(t, 1, inv.calls.Load())

	clock.Advance(5 * time.Second)
	w := call(t, h, http.MethodGet, "/boot/v1/bootscript?name="+n4, "")
	require.Equal(t, 200, w.Code, w.Body.String())
	assert.Contains(t, w.Body.String(), "xname="+n4+" nid=4 ")
	assert.EqualValues(t, 2, inv.calls.Load())

	// Known nodes never trigger a refresh, however much time passes.
	clock.Advance(time.Hour)
	require.Equal(t, 200, call(t, h, http.MethodGet, "/boot/v1/bootscript?name="+n4, "").Code)
	assert.EqualValues(t, 2, inv.calls.Load())

	// A failing HSM keeps the old data and is reported by /service/hsm.
	inv.set(nil, errors.New("hsm down"))
	assertAsksForArch(t, call(t, h, http.MethodGet, "/boot/v1/bootscript?name=x9c0s0b0n0", ""))
	assert.EqualValues(t, 3, inv.calls.Load())
	w = call(t, h, http.MethodGet, "/boot/v1/service/hsm", "")
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.JSONEq(t, `{"bss-status-hsm":"error"}`, w.Body.String())
	require.Equal(t, 200, call(t, h, http.MethodGet, "/boot/v1/bootscript?name="+n4, "").Code)

	// Negative interval: no refresh on misses at all.
	s2 := mustServer(t, Config{Inventory: inv, Now: clock.Now, RefreshInterval: -1})
	before := inv.calls.Load()
	clock.Advance(time.Hour)
	assertAsksForArch(t, call(t, s2.Handler(), http.MethodGet, "/boot/v1/bootscript?name=x9c0s0b0n0", ""))
	assert.Equal(t, before, inv.calls.Load())
}

// assertAsksForArch checks w is the unknown-node script: no kernel, sleep, chain with ${buildarch}.
func assertAsksForArch(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Regexp(t, `^#!ipxe\nsleep 10\nchain \S+&arch=\$\{buildarch\}&ts=\d+\n$`, w.Body.String())
}

// The kernel line's words are the stored params', the images' and the added ones, each
// once, whatever white space separated them; a parameter already given is not added
// again, and a rewritten s3:// value stays one word.
func TestRenderKernelWords(t *testing.T) {
	s := mustServer(t, Config{S3URL: "http://s3:9000"})
	bd := bootData{kernel: "s3://b/k", initrd: "s3://b/i",
		params:       " quiet\txname=kept  initrd=old metal.server=s3://b/r ",
		kernelParams: "a=1\n b=2", initrdParams: "root=live:s3://b/squash"}
	script, err := s.render(bd, scriptVars{xname: "x1", nid: "7", token: "tok"}, "chain c", "d")
	require.NoError(t, err)
	kernel, _, _ := strings.Cut(strings.SplitN(script, "\n", 3)[1], " || ")
	assert.Equal(t, "kernel --name kernel http://s3:9000/b/k initrd=initrd quiet xname=kept"+
		" metal.server=http://s3:9000/b/r a=1 b=2 root=live:http://s3:9000/b/squash nid=7 bss_referral_token=tok"+
		" ds=nocloud-net;s=http://10.0.0.1:8888/", kernel)

	script, err = s.render(bootData{kernel: "k", params: "nid=1"}, scriptVars{xname: "x2", nid: "9"}, "chain c", "d")
	require.NoError(t, err)
	assert.Contains(t, script, "kernel --name kernel k nid=1 xname=x2 ds=nocloud-net;s=http://10.0.0.1:8888/ || goto boot_retry\n")
}

// BootScript, for a caller in this process, answers as GET /bootscript?name= does: the
// same script, 404 for a node without one, 400 for a bad name, and the fetch recorded
// in the endpoint history.
func TestBootScriptInProcessAnswersAsTheHandler(t *testing.T) {
	s := mustServer(t, Config{S3URL: "http://127.0.0.1:9000/"})
	h := s.Handler()
	mustPut(t, h, `{"hosts":["`+n1+`"],"params":"console=ttyS0 metal.server=s3://boot-images/k/rootfs","kernel":"s3://boot-images/k/kernel"}`)
	for _, name := range []string{n1, "x9c0s0b0n0", "bad name"} {
		w := call(t, h, http.MethodGet, "/boot/v1/bootscript?name="+strings.ReplaceAll(name, " ", "%20"), "")
		status, script := s.BootScript(t.Context(), name)
		assert.Equal(t, w.Code, status, name)
		if w.Code == http.StatusOK {
			assert.Equal(t, w.Body.String(), script, name)
		}
	}
	s.histMu.Lock()
	clear(s.history)
	s.histMu.Unlock()
	status, _ := s.BootScript(t.Context(), n1)
	require.Equal(t, http.StatusOK, status)
	var hist []bssapi.EndpointAccess
	w := call(t, h, http.MethodGet, "/boot/v1/endpoint-history?name="+n1, "")
	require.Equal(t, http.StatusOK, w.Code)
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &hist))
	assert.Len(t, hist, 1)
}
