package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/hsmapi"
)

// hsmCmd runs `bos hsm groups ARGS --hsm-url <shared HSM>`.
func hsmCmd(t *testing.T, args ...string) cliResult {
	t.Helper()
	return bosCmd(t, "", append(append([]string{"hsm", "groups"}, args...), "--hsm-url", startShared(t).URLs.HSM)...)
}

func hsmOK(t *testing.T, args ...string) cliResult {
	t.Helper()
	r := hsmCmd(t, args...)
	require.NoError(t, r.fail, "bos hsm groups %s\nstderr: %s", strings.Join(args, " "), r.err)
	return r
}

// TestHSMGroups drives the group commands against the simulated HSM and checks each
// change there through HSM's own client.
func TestHSMGroups(t *testing.T) {
	st := startShared(t)
	ctx := context.Background()
	hc := hsmapi.NewClient(st.URLs.HSM, nil)
	a, b := shared.nodes[0], shared.nodes[1]
	t.Cleanup(func() { _ = hc.DeleteGroup(ctx, "cli-empty"); _ = hc.DeleteGroup(ctx, "cli-two") })

	r := hsmOK(t, "list")
	assert.Regexp(t, `(?m)^LABEL\s+DESCRIPTION\s+EXCLUSIVE\s+TAGS\s+MEMBERS$`, r.out)
	assert.Regexp(t, `(?m)^compute\s+All compute nodes\s+-\s+compute\s+6$`, r.out)

	r = hsmOK(t, "create", "cli-empty")
	assert.Equal(t, "group cli-empty created\n", r.err)
	assert.Empty(t, r.out)
	g, err := hc.Group(ctx, "cli-empty")
	require.NoError(t, err)
	assert.Empty(t, g.Members.IDs)

	r = hsmCmd(t, "create", "cli-empty")
	assert.EqualError(t, r.fail, "409 Conflict: operation would conflict with an existing group that has the same name.",
		"HSM's problem, not the client's call name")

	hsmOK(t, "create", "cli-two", "--description", "two nodes", "--tags", "t1,t2", "--members", a+","+b)
	g, err = hc.Group(ctx, "cli-two")
	require.NoError(t, err)
	assert.Equal(t, hsmapi.Group{Label: "cli-two", Description: "two nodes", Tags: []string{"t1", "t2"}, Members: hsmapi.Members{IDs: []string{a, b}}}, g)

	r = hsmOK(t, "describe", "cli-two")
	assert.Regexp(t, `(?m)^description\s+two nodes$`, r.out)
	assert.Contains(t, r.out, "members (2):\n  "+a+"\n  "+b+"\n")

	var groups []hsmapi.Group
	require.NoError(t, json.Unmarshal([]byte(hsmOK(t, "list", "--format", "json").out), &groups))
	var labels []string
	for _, g := range groups {
		labels = append(labels, g.Label)
	}
	assert.Subset(t, labels, []string{"compute", "cli-empty", "cli-two"})

	// Members.
	hsmOK(t, "members", "add", "cli-empty", a+","+b)
	r = hsmOK(t, "members", "list", "cli-empty")
	assert.Equal(t, "ID\n"+a+"\n"+b+"\n", r.out)
	hsmOK(t, "members", "remove", "cli-empty", a)
	var m hsmapi.Members
	require.NoError(t, json.Unmarshal([]byte(hsmOK(t, "members", "list", "cli-empty", "--format", "json").out), &m))
	assert.Equal(t, []string{b}, m.IDs)
	r = hsmCmd(t, "members", "add", "cli-empty", "bogus")
	assert.EqualError(t, r.fail, `400 Bad Request: invalid xname ID "bogus"`)
	r = hsmCmd(t, "members", "list", "nope")
	assert.EqualError(t, r.fail, "404 Not Found: No such group: nope")

	hsmOK(t, "delete", "cli-empty")
	_, err = hc.Group(ctx, "cli-empty")
	assert.ErrorContains(t, err, "404")
	r = hsmCmd(t, "delete", "cli-empty")
	assert.EqualError(t, r.fail, "404 Not Found: no such group.")
}

// TestHSMAddress: --hsm-url, $BOS_HSM_URL, then the "hsm" entry of the URLs file.
func TestHSMAddress(t *testing.T) {
	url := startShared(t).URLs.HSM
	urlsFile := writeFile(t, "urls.json", `{"bos": "http://127.0.0.1:1", "hsm": "`+url+`"}`)
	for _, tc := range []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
	}{
		{name: "--hsm-url", args: []string{"--hsm-url", url}},
		{name: "--hsm-url with the API path", args: []string{"--hsm-url", url + "/hsm/v2/"}},
		{name: "BOS_HSM_URL", env: map[string]string{envHSMURL: url}},
		{name: "--hsm-url wins", env: map[string]string{envHSMURL: "http://127.0.0.1:1"}, args: []string{"--hsm-url", url}},
		{name: "--urls-file", args: []string{"--urls-file", urlsFile}},
		{name: "BOS_URLS_FILE", env: map[string]string{envURLsFile: urlsFile}},
		{name: "BOS_URL is not HSM's", env: map[string]string{envURL: url}, wantErr: "no HSM address: give --hsm-url URL, set BOS_HSM_URL"},
		{name: "urls file without hsm", args: []string{"--urls-file", writeFile(t, "bos.json", `{"bos": "http://x"}`)}, wantErr: `has no "hsm" entry`},
		{name: "missing urls file", args: []string{"--urls-file", filepath.Join(t.TempDir(), "none.json")}, wantErr: "urls file:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{envURL, envHSMURL, envURLsFile} {
				t.Setenv(k, "")
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			r := bosCmd(t, "", append([]string{"hsm", "groups", "list"}, tc.args...)...)
			if tc.wantErr != "" {
				require.Error(t, r.fail)
				assert.Contains(t, r.fail.Error(), tc.wantErr)
				return
			}
			require.NoError(t, r.fail)
			assert.Contains(t, r.out, "compute")
		})
	}
}
