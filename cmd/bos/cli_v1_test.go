package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/testwait"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/internal/stack"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/simulator"
)

// v1 runs `bos v1 ARGS` against the shared BOS and requires success.
func v1(t *testing.T, args ...string) string {
	t.Helper()
	r := bosCmd(t, "", append(append([]string{"v1"}, args...), "--url", startShared(t).URLs.BOS)...)
	require.NoError(t, r.fail, "bos v1 %s\nstderr: %s", strings.Join(args, " "), r.err)
	return r.out
}

// v1Fail runs `bos v1 ARGS` against the shared BOS and requires failure.
func v1Fail(t *testing.T, args ...string) error {
	t.Helper()
	r := bosCmd(t, "", append(append([]string{"v1"}, args...), "--url", startShared(t).URLs.BOS)...)
	require.Error(t, r.fail, "bos v1 %s should fail; it printed %s", strings.Join(args, " "), r.out)
	return r.fail
}

func v1JSON[T any](t *testing.T, args ...string) T {
	t.Helper()
	var v T
	out := v1(t, append(args, "--format", "json")...)
	require.NoError(t, json.Unmarshal([]byte(out), &v), out)
	return v
}

func TestCLIV1Templates(t *testing.T) {
	startShared(t)
	file := writeFile(t, "v1.json", `{"name": "ignored", "description": "v1 made",
		"boot_sets": {"compute": {"path": "s3://boot-images/x/manifest.json", "type": "s3", "node_list": ["x1000c0s0b0n0"], "boot_ordinal": 1}}}`)
	assert.Equal(t, "v1-tpl\n", v1(t, "sessiontemplate", "create", "--name", "v1-tpl", "--file", file, "--cfs-configuration", "compute-config"))
	assert.Equal(t, "\"v1-tpl2\"\n", v1(t, "sessiontemplate", "create", "--name", "v1-tpl2", "--file", file, "--format", "json"))

	tpl := v1JSON[bos.V1SessionTemplate](t, "sessiontemplate", "describe", "v1-tpl")
	assert.Equal(t, "v1-tpl", tpl.Name, "--name wins over the file")
	assert.Equal(t, "v1 made", tpl.Description)
	assert.Equal(t, "compute-config", tpl.CFS.Configuration)
	require.NotNil(t, tpl.BootSets["compute"].BootOrdinal)
	assert.Equal(t, 1, *tpl.BootSets["compute"].BootOrdinal)
	assert.Regexp(t, `(?m)^boot_sets\.compute\.boot_ordinal\s+1$`, v1(t, "sessiontemplate", "describe", "v1-tpl"))

	// One store: v1 lists v2's templates and v2 reads v1's.
	out := v1(t, "sessiontemplate", "list")
	assert.Regexp(t, `(?m)^v1-tpl\s+-\s+compute\s+1 listed\s+compute-config\s+v1 made$`, out)
	assert.Regexp(t, `(?m)^`+stack.DefaultTemplateName+`\s+`, out)
	assert.Equal(t, "v1 made", v2JSON[bos.SessionTemplate](t, "sessiontemplates", "describe", "v1-tpl").Description)

	ex := v1JSON[bos.V1SessionTemplate](t, "sessiontemplatetemplate", "list")
	assert.NotEmpty(t, ex.BootSets)
	assert.NotEmpty(t, v1JSON[bosapi.Version](t, "version", "list").Major)
	assert.Equal(t, "ok", v1JSON[bosapi.Health](t, "healthz", "list").APIStatus)

	r := bosCmd(t, "", "v1", "sessiontemplate", "delete", "v1-tpl2", "--url", shared.st.URLs.BOS)
	require.NoError(t, r.fail)
	assert.Equal(t, "session template v1-tpl2 deleted\n", r.err)

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"describe missing", []string{"sessiontemplate", "describe", "v1-tpl2"}, "404"},
		{"delete missing", []string{"sessiontemplate", "delete", "v1-tpl2"}, "404"},
		{"create without a name", []string{"sessiontemplate", "create", "--file", file}, "--name is required"},
		{"create with an unknown field", []string{"sessiontemplate", "create", "--name", "x", "--file", writeFile(t, "u.json", `{"bootsets": {}}`)}, `unknown field "bootsets"`},
		{"a tenant", []string{"sessiontemplate", "list", "--tenant", testTenant}, "400 Multi-tenancy not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.ErrorContains(t, v1Fail(t, tc.args...), tc.want)
		})
	}
}

// waitV1 polls `bos v1 session describe ID` until the session is complete.
func waitV1(t *testing.T, id string) bos.V1SessionDetails {
	t.Helper()
	var d bos.V1SessionDetails
	testwait.Until(t, "v1 session "+id+" completes", func() bool {
		d = v1JSON[bos.V1SessionDetails](t, "session", "describe", id)
		return d.Complete
	}, func() string { return fmt.Sprintf("%+v", d) })
	return d
}

// TestCLIV1Session: a v1 boot through the CLI, one node failing to power on; the retry command the
// session prints (a reboot) then boots just that node.
func TestCLIV1Session(t *testing.T) {
	st := startShared(t)
	good, bad := shared.nodes[0], shared.nodes[1]
	require.NoError(t, st.Sim.SetFault(bad, simulator.FaultReset500))
	defer func() { _ = st.Sim.ClearFault(bad, simulator.FaultReset500) }()

	created := v1JSON[bos.V1SessionCreated](t, "session", "create", "--template-name", stack.DefaultTemplateName, "--operation", "boot", "--limit", good+","+bad)
	id := bosapi.V1SessionID(created)
	require.NotEmpty(t, id)
	assert.Equal(t, "boa-"+id, created.Job)
	assert.Contains(t, v1JSON[[]string](t, "session", "list"), id)
	assert.Regexp(t, `(?m)^`+id+`$`, v1(t, "session", "list"))

	d := waitV1(t, id)
	assert.Equal(t, []string{bad}, d.FailedNodes)
	want := "bos v1 session create --template-name " + stack.DefaultTemplateName + " --operation reboot --limit " + bad
	assert.Equal(t, want, d.RetryCommand)
	out := v1(t, "session", "describe", id)
	assert.Regexp(t, `(?m)^failed nodes\s+1$`, out)
	assert.Regexp(t, `(?m)^failed\s+`+bad+`$`, out)
	assert.Regexp(t, `(?m)^retry with\s+`+want+`$`, out)
	assert.True(t, strings.HasSuffix(strings.TrimSpace(out), want), "the retry command ends the view:\n%s", out)

	// The status views, deepest name first as cray had them.
	status := v1JSON[bos.V1SessionStatus](t, "session", "status", "list", id)
	assert.Equal(t, []string{"compute"}, status.BootSets)
	assert.Regexp(t, `(?m)^retry with\s+`+want+`$`, v1(t, "session", "status", "list", id))
	out = v1(t, "session", "status", "describe", "compute", id)
	assert.Regexp(t, `(?m)^PHASE\s+CATEGORY\s+COUNT\s+NODES$`, out)
	assert.Regexp(t, `(?m)^boot\s+succeeded\s+1\s+`+good+`$`, out)
	bs := v1JSON[bos.V1BootSetStatus](t, "session", "status", "describe", "compute", id)
	assert.Equal(t, "compute", bs.Name)
	phase := v1JSON[bos.V1PhaseStatus](t, "session", "status", "describe", "boot", "compute", id)
	assert.Equal(t, "boot", phase.Name)
	assert.Contains(t, phase.Nodes(bos.CategoryFailed), bad)
	cat := v1JSON[bos.V1Category](t, "session", "status", "describe", bos.CategoryFailed, "boot", "compute", id)
	assert.Equal(t, []string{bad}, cat.NodeList)
	assert.Equal(t, bos.CategoryFailed+"\n"+bad+"\n", v1(t, "session", "status", "describe", bos.CategoryFailed, "boot", "compute", id))

	// The retry command, run as printed, boots just the failed node.
	require.NoError(t, st.Sim.ClearFault(bad, simulator.FaultReset500))
	args := strings.Fields(d.RetryCommand)
	require.Equal(t, "bos", args[0])
	r := bosCmd(t, "", append(args[1:], "--url", st.URLs.BOS, "--format", "json")...)
	require.NoError(t, r.fail, r.err)
	var retry bos.V1SessionCreated
	require.NoError(t, json.Unmarshal([]byte(r.out), &retry))
	assert.Equal(t, bad, retry.Limit)
	d2 := waitV1(t, bosapi.V1SessionID(retry))
	assert.Empty(t, d2.FailedNodes)
	assert.Empty(t, d2.RetryCommand)
	assert.Regexp(t, `(?m)^retry with\s+-$`, v1(t, "session", "describe", bosapi.V1SessionID(retry)))
	n, ok := st.Sim.Node(bad)
	require.True(t, ok)
	assert.True(t, n.Booted)

	r = bosCmd(t, "", "v1", "session", "delete", id, "--url", st.URLs.BOS)
	require.NoError(t, r.fail)
	assert.Equal(t, "session "+id+" deleted\n", r.err)
	assert.NotContains(t, v1JSON[[]string](t, "session", "list"), id)

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"describe missing", []string{"session", "describe", id}, "404"},
		{"unknown template", []string{"session", "create", "--template-name", "nope", "--operation", "boot"}, "404"},
		{"bad operation", []string{"session", "create", "--template-name", "compute", "--operation", "dance"}, "400"},
		{"no operation", []string{"session", "create", "--template-name", "compute"}, "--template-name and --operation are required"},
		{"status of a missing session", []string{"session", "status", "list", id}, "404"},
		{"status describe, one argument", []string{"session", "status", "describe", id}, "accepts between 2 and 4 arg(s)"},
		{"a tenant", []string{"session", "list", "--tenant", testTenant}, "400 Multi-tenancy not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.ErrorContains(t, v1Fail(t, tc.args...), tc.want)
		})
	}
}
