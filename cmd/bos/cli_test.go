package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/testwait"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/ims"
	"github.com/cray-bos/bos/internal/stack"
	"github.com/cray-bos/bos/internal/stack/stacktest"
	"github.com/cray-bos/bos/internal/topology"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/api"
	"github.com/cray-bos/bos/orchestrator/lockstep"
	"github.com/cray-bos/bos/simulator"
)

// The client commands run against one stack (simulators, BOS and its reconciler) shared by
// the package's tests and started on first use; each test names its own templates and
// sessions.
var shared struct {
	once  sync.Once
	st    *stack.Stack
	err   error
	nodes []string // compute xnames, sorted
}

// testTenant owns the first two compute nodes of the shared stack.
const testTenant = "vcluster-blue"

func TestMain(m *testing.M) {
	if os.Getenv(reexecEnv) != "" {
		main() // the signal test runs the binary's main through the test binary
		return
	}
	code := m.Run()
	if shared.st != nil {
		shared.st.Close()
	}
	os.Exit(code)
}

func startShared(t *testing.T) *stack.Stack {
	t.Helper()
	shared.once.Do(func() {
		topo, err := topology.Generate(topology.DefaultOptions(6))
		if err != nil {
			shared.err = err
			return
		}
		shared.nodes = topo.ByRole(topology.RoleCompute)
		tenants := filepath.Join(os.TempDir(), fmt.Sprintf("bos-cli-tenants-%d.yaml", os.Getpid()))
		yaml := fmt.Sprintf("tenants:\n  - name: %s\n    tenantresources:\n      - xnames: [%s, %s]\n", testTenant, shared.nodes[0], shared.nodes[1])
		if shared.err = os.WriteFile(tenants, []byte(yaml), 0o600); shared.err != nil {
			return
		}
		defer os.Remove(tenants) // read once at start
		timing := stacktest.FastTiming()
		ctx, cancel := context.WithTimeout(context.Background(), testwait.Backstop)
		defer cancel()
		st, err := stack.Start(ctx, stack.Options{
			Topology: topo, TenantsFile: tenants, Reconcile: true, RedfishTimeout: time.Second,
			Sim: simulator.Config{Timing: &timing, Seed: 3},
			CFS: stacktest.FastCFS(3),
			V1: lockstep.Timing{Poll: 100 * time.Millisecond, Sessions: 200 * time.Millisecond, Save: 50 * time.Millisecond,
				GracefulShutdown: 5 * time.Second, ForcefulShutdown: 5 * time.Second, Boot: 10 * time.Second, Configure: 10 * time.Second},
		})
		if err != nil {
			shared.err = err
			return
		}
		shared.st = st
		if shared.err = st.Seed(ctx); shared.err != nil {
			return
		}
		if _, shared.err = st.BOSClient.PatchOptions(ctx, map[string]any{
			"polling_frequency": 1, "max_power_on_wait_time": 10, "max_boot_wait_time": 10, "max_power_off_wait_time": 5,
		}); shared.err != nil {
			return
		}
		// Discovery (the reconciler) creates a component per node.
		var comps []bos.Component
		for ctx.Err() == nil {
			comps, err = st.BOSClient.ListComponents(ctx, bosapi.ComponentQuery{})
			if err == nil && len(comps) == len(topo.Nodes) {
				return
			}
			time.Sleep(50 * time.Millisecond) // polling; ctx's deadline is testwait's backstop
		}
		shared.err = fmt.Errorf("discovery did not create the components (%d of %d): %w", len(comps), len(topo.Nodes), ctx.Err())
	})
	require.NoError(t, shared.err)
	return shared.st
}

// cliResult is what one command printed and returned.
type cliResult struct {
	out, err string
	fail     error
}

// bosCmd runs the binary's command line in process.
func bosCmd(t *testing.T, stdin string, args ...string) cliResult {
	t.Helper()
	var out, errw bytes.Buffer
	root := newRootCommand(&out, &errw)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.ExecuteContext(testwait.Context(t))
	return cliResult{out: out.String(), err: errw.String(), fail: err}
}

// v2 runs `bos v2 ARGS --url <shared BOS>` and requires success.
func v2(t *testing.T, args ...string) string {
	t.Helper()
	r := bosCmd(t, "", append(append([]string{"v2"}, args...), "--url", startShared(t).URLs.BOS)...)
	require.NoError(t, r.fail, "bos v2 %s\nstderr: %s", strings.Join(args, " "), r.err)
	return r.out
}

// v2Fail runs `bos v2 ARGS` against the shared BOS and requires failure.
func v2Fail(t *testing.T, args ...string) error {
	t.Helper()
	r := bosCmd(t, "", append(append([]string{"v2"}, args...), "--url", startShared(t).URLs.BOS)...)
	require.Error(t, r.fail, "bos v2 %s should fail; it printed %s", strings.Join(args, " "), r.out)
	return r.fail
}

// v2JSON runs a v2 command with --format json and decodes its output into T.
func v2JSON[T any](t *testing.T, args ...string) T {
	t.Helper()
	var v T
	out := v2(t, append(args, "--format", "json")...)
	require.NoError(t, json.Unmarshal([]byte(out), &v), out)
	return v
}

// writeFile writes content to a file in a test directory and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func TestCLIVersionDefaultsToV2AndSaysSo(t *testing.T) {
	url := startShared(t).URLs.BOS
	r := bosCmd(t, "", "sessiontemplates", "list", "--url", url)
	require.NoError(t, r.fail)
	assert.Contains(t, r.err, "no API version given, using v2; scripts should name it: bos v2 sessiontemplates list")
	assert.Contains(t, r.out, stack.DefaultTemplateName)

	r2 := bosCmd(t, "", "v2", "sessiontemplates", "list", "--url", url)
	require.NoError(t, r2.fail)
	assert.Empty(t, r2.err, "naming the version prints no note")
	assert.Equal(t, r.out, r2.out)
}

func TestCLIAddress(t *testing.T) {
	url := startShared(t).URLs.BOS
	urlsFile := writeFile(t, "urls.json", `{"bos": "`+url+`", "hsm": "http://127.0.0.1:1"}`)
	run := func(env map[string]string, args ...string) cliResult {
		for k, v := range env {
			t.Setenv(k, v)
		}
		return bosCmd(t, "", append([]string{"v2", "version", "list", "--format", "json"}, args...)...)
	}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
	}{
		{name: "--url", args: []string{"--url", url}},
		{name: "--url with the API path", args: []string{"--url", url + "/v2/"}},
		{name: "--url without a scheme", args: []string{"--url", strings.TrimPrefix(url, "http://")}},
		{name: "BOS_URL", env: map[string]string{envURL: url}},
		{name: "--url wins over BOS_URL", env: map[string]string{envURL: "http://127.0.0.1:1"}, args: []string{"--url", url}},
		{name: "--urls-file", args: []string{"--urls-file", urlsFile}},
		{name: "BOS_URLS_FILE", env: map[string]string{envURLsFile: urlsFile}},
		{name: "no address", wantErr: "no BOS address: give --url URL, set BOS_URL"},
		{name: "missing urls file", args: []string{"--urls-file", filepath.Join(t.TempDir(), "none.json")}, wantErr: "urls file:"},
		{name: "urls file without bos", args: []string{"--urls-file", writeFile(t, "sim.json", `{"hsm": "http://x"}`)}, wantErr: `has no "bos" entry`},
		{name: "bad scheme", args: []string{"--url", "ftp://host:1"}, wantErr: "want http(s)://host:port"},
		{name: "nothing listening", args: []string{"--url", "http://127.0.0.1:1"}, wantErr: "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(envURL, "")
			t.Setenv(envURLsFile, "")
			r := run(tc.env, tc.args...)
			if tc.wantErr != "" {
				require.Error(t, r.fail)
				assert.Contains(t, r.fail.Error(), tc.wantErr)
				return
			}
			require.NoError(t, r.fail)
			var v bosapi.Version
			require.NoError(t, json.Unmarshal([]byte(r.out), &v))
			assert.NotEmpty(t, v.Major)
		})
	}
}

func TestCLIFormats(t *testing.T) {
	startShared(t)
	// Table: a header row, then aligned columns (each column starts at the same offset).
	out := v2(t, "components", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.GreaterOrEqual(t, len(lines), 1+len(shared.nodes))
	assert.Regexp(t, `^ID\s+ENABLED\s+STATUS\s+PHASE\s+SESSION\s+LAST ACTION\s+ERROR$`, lines[0])
	col := strings.Index(lines[0], "ENABLED")
	for _, l := range lines[1:] {
		assert.Equal(t, " ", l[col-1:col], "column ENABLED starts at %d in %q", col, l)
		assert.NotEqual(t, " ", l[col:col+1], "column ENABLED starts at %d in %q", col, l)
	}
	// A single record: FIELD VALUE rows with dotted names.
	out = v2(t, "sessiontemplates", "describe", stack.DefaultTemplateName)
	assert.Regexp(t, `(?m)^boot_sets\.compute\.node_roles_groups\s+Compute$`, out)
	assert.Regexp(t, `(?m)^cfs\.configuration\s+`+stack.DefaultConfigurationName+`$`, out)
	// JSON is the API's document.
	tpl := v2JSON[bos.SessionTemplate](t, "sessiontemplates", "describe", stack.DefaultTemplateName)
	assert.Equal(t, stack.DefaultTemplateName, tpl.Name)
	assert.Equal(t, []string{"Compute"}, tpl.BootSets["compute"].NodeRolesGroups)

	err := v2Fail(t, "components", "list", "--format", "yaml")
	assert.ErrorContains(t, err, `--format must be table or json, not "yaml"`)
}

func TestCLIVersionAndHealth(t *testing.T) {
	startShared(t)
	v := v2JSON[bosapi.Version](t, "version", "list")
	assert.Equal(t, strings.SplitN(api.APIVersion, ".", 2)[0], v.Major)
	h := v2JSON[bosapi.Health](t, "healthz", "list")
	assert.Equal(t, bosapi.Health{DBStatus: "ok", APIStatus: "ok"}, h)
	assert.Regexp(t, `(?m)^dbStatus\s+ok$`, v2(t, "healthz", "list"))
}

// templateJSON is a valid template for the seeded image, for the given nodes.
func templateJSON(t *testing.T, nodes ...string) string {
	t.Helper()
	path, err := startShared(t).ImagePath(ims.ImageCompute)
	require.NoError(t, err)
	b, err := json.Marshal(map[string]any{
		"description": "from a file",
		"boot_sets":   map[string]any{"compute": map[string]any{"path": path, "type": "s3", "node_list": nodes}},
	})
	require.NoError(t, err)
	return string(b)
}

func TestCLISessionTemplates(t *testing.T) {
	st := startShared(t)
	file := writeFile(t, "t.json", templateJSON(t, shared.nodes[0], shared.nodes[1]))

	// create from a file, a flag overriding one field
	created := v2JSON[bos.SessionTemplate](t, "sessiontemplates", "create", "cli-tpl", "--file", file, "--enable-cfs=false")
	assert.Equal(t, "cli-tpl", created.Name)
	assert.False(t, created.EnableCFS)
	assert.Equal(t, "from a file", created.Description)
	assert.Equal(t, []string{shared.nodes[0], shared.nodes[1]}, created.BootSets["compute"].NodeList)

	// create from stdin
	r := bosCmd(t, templateJSON(t, shared.nodes[2]), "v2", "sessiontemplates", "create", "cli-tpl-stdin", "--file", "-", "--url", st.URLs.BOS, "--format", "json")
	require.NoError(t, r.fail, r.err)
	assert.Contains(t, r.out, `"cli-tpl-stdin"`)

	// list shows both, as rows
	out := v2(t, "sessiontemplates", "list")
	assert.Regexp(t, `(?m)^cli-tpl\s+-\s+compute\s+2 listed\s+disabled\s+from a file$`, out)
	assert.Regexp(t, `(?m)^cli-tpl-stdin\s+`, out)
	assert.Regexp(t, `(?m)^compute\s+-\s+compute\s+roles Compute\s+compute-config\s+`, out)

	// update: flags and a partial file merge into the template
	updated := v2JSON[bos.SessionTemplate](t, "sessiontemplates", "update", "cli-tpl", "--description", "changed", "--cfs-configuration", "compute-config", "--enable-cfs")
	assert.Equal(t, "changed", updated.Description)
	assert.True(t, updated.EnableCFS)
	assert.Equal(t, "compute-config", updated.CFS.Configuration)
	// BOS's schema wants a patched boot set's path and type; the other fields merge.
	path, err := startShared(t).ImagePath(ims.ImageCompute)
	require.NoError(t, err)
	patch := writeFile(t, "p.json", `{"boot_sets": {"compute": {"path": "`+path+`", "type": "s3", "kernel_parameters": "quiet"}}}`)
	updated = v2JSON[bos.SessionTemplate](t, "sessiontemplates", "update", "cli-tpl", "--file", patch)
	assert.Equal(t, "quiet", updated.BootSets["compute"].KernelParameters)
	assert.Len(t, updated.BootSets["compute"].NodeList, 2, "the merge keeps the other boot-set fields")

	// validate
	assert.Equal(t, "Valid\n", v2(t, "sessiontemplates", "validate", "cli-tpl"))
	assert.Equal(t, "\"Valid\"\n", v2(t, "sessiontemplates", "validate", "cli-tpl", "--format", "json"))

	// the example template
	ex := v2JSON[bos.SessionTemplate](t, "sessiontemplatetemplate", "list")
	assert.NotEmpty(t, ex.BootSets)

	// delete, then it is gone: the problem's title and detail are the error
	r = bosCmd(t, "", "v2", "sessiontemplates", "delete", "cli-tpl-stdin", "--url", st.URLs.BOS)
	require.NoError(t, r.fail)
	assert.Empty(t, r.out)
	assert.Equal(t, "session template cli-tpl-stdin deleted\n", r.err)

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"describe missing", []string{"sessiontemplates", "describe", "cli-tpl-stdin"}, "404 The resource was not found: Session template 'cli-tpl-stdin' does not exist"},
		{"delete missing", []string{"sessiontemplates", "delete", "nope"}, "404 The resource was not found: Session template 'nope' does not exist"},
		{"validate missing", []string{"sessiontemplates", "validate", "nope"}, "404 The resource was not found"},
		{"update missing", []string{"sessiontemplates", "update", "nope", "--description", "x"}, "404 The resource was not found"},
		{"create without a file", []string{"sessiontemplates", "create", "x"}, "give them with --file"},
		{"create without boot sets", []string{"sessiontemplates", "create", "x", "--file", writeFile(t, "e.json", `{"description": "d"}`)}, "400 Bad Request: The session template could not be created"},
		{"create with an unknown field", []string{"sessiontemplates", "create", "x", "--file", writeFile(t, "u.json", `{"bootsets": {}}`)}, `unknown field "bootsets"`},
		{"create with a bad name", []string{"sessiontemplates", "create", "bad!name", "--file", file}, "400 Bad Request"},
		{"create from a file that is not JSON", []string{"sessiontemplates", "create", "x", "--file", writeFile(t, "n.json", `{`)}, "not valid JSON"},
		{"update without changes", []string{"sessiontemplates", "update", "cli-tpl"}, "nothing to change"},
		{"update with an unknown field", []string{"sessiontemplates", "update", "cli-tpl", "--file", writeFile(t, "v.json", `{"colour": 1}`)}, `unknown field "colour"`},
		{"describe without a name", []string{"sessiontemplates", "describe"}, "accepts 1 arg(s), received 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.ErrorContains(t, v2Fail(t, tc.args...), tc.want)
		})
	}
}

// waitSession polls `bos v2 sessions status NAME` until the session completes.
func waitSession(t *testing.T, name string) bos.SessionExtendedStatus {
	t.Helper()
	var st bos.SessionExtendedStatus
	testwait.Until(t, "session "+name+" completes", func() bool {
		st = v2JSON[bos.SessionExtendedStatus](t, "sessions", "status", name)
		return st.Status == bos.SessionComplete
	}, func() string { return fmt.Sprintf("%+v", st) })
	return st
}

func TestCLISessions(t *testing.T) {
	startShared(t)
	node := shared.nodes[3]
	s := v2JSON[bos.Session](t, "sessions", "create", "--template-name", stack.DefaultTemplateName, "--operation", "boot",
		"--limit", node, "--name", "cli-boot")
	assert.Equal(t, "cli-boot", s.Name)
	assert.Equal(t, node, s.Limit)
	assert.Equal(t, bos.OpBoot, s.Operation)

	st := waitSession(t, "cli-boot")
	assert.Equal(t, 1, st.ManagedComponentsCount)
	assert.Equal(t, 100.0, st.PercentSuccessful)
	out := v2(t, "sessions", "status", "cli-boot")
	assert.Regexp(t, `(?m)^status\s+complete$`, out)
	assert.Regexp(t, `(?m)^successful\s+100\.00%$`, out)

	got := v2JSON[bos.Session](t, "sessions", "describe", "cli-boot")
	assert.Equal(t, node, got.Components)
	assert.Equal(t, bos.SessionComplete, got.Status.Status)

	// the session's components, by filter; updated all at once by session
	comps := v2JSON[[]bos.Component](t, "components", "list", "--session", "cli-boot", "--status", "stable,failed")
	require.Len(t, comps, 1)
	assert.Equal(t, node, comps[0].ID)
	comps = v2JSON[[]bos.Component](t, "components", "update", "--filter-session", "cli-boot", "--retry-policy", "2")
	require.Len(t, comps, 1)
	assert.Equal(t, 2, *comps[0].RetryPolicy)

	// list: a row per session; filters go to BOS
	out = v2(t, "sessions", "list")
	assert.Regexp(t, `(?m)^cli-boot\s+boot\s+compute\s+complete\s+false\s+`+node+`\s+1\s+\S+\s+\S+\s+-$`, out)
	list := v2JSON[[]bos.Session](t, "sessions", "list", "--status", "pending")
	for _, s := range list {
		assert.NotEqual(t, "cli-boot", s.Name)
	}
	assert.NotEmpty(t, v2JSON[[]bos.Session](t, "sessions", "list", "--status", "complete", "--max-age", "1h"))

	// staged sessions, deleted in bulk by filter
	v2(t, "sessions", "create", "--template-name", stack.DefaultTemplateName, "--operation", "reboot", "--stage", "--limit", node, "--name", "cli-staged", "--include-disabled")
	staged := v2JSON[bos.Session](t, "sessions", "describe", "cli-staged")
	assert.True(t, staged.Stage)
	assert.True(t, staged.IncludeDisabled)

	r := bosCmd(t, "", "v2", "sessions", "delete", "cli-boot", "--url", shared.st.URLs.BOS)
	require.NoError(t, r.fail)
	assert.Equal(t, "session cli-boot deleted\n", r.err)
	assert.ErrorContains(t, v2Fail(t, "sessions", "describe", "cli-boot"), "404 The resource was not found: Session 'cli-boot' does not exist")

	v2(t, "sessions", "delete") // complete sessions only, unlike the API without filters
	assert.Equal(t, "cli-staged", v2JSON[bos.Session](t, "sessions", "describe", "cli-staged").Name)
	// pending first: the session only moves pending -> running, so one of
	// the two deletes sees it whenever setup runs (running first missed a
	// session that left pending between the calls)
	v2(t, "sessions", "delete", "--status", "pending")
	v2(t, "sessions", "delete", "--status", "running")
	for _, s := range v2JSON[[]bos.Session](t, "sessions", "list") {
		assert.NotEqual(t, "cli-staged", s.Name, "deleted by the filter")
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown template", []string{"sessions", "create", "--template-name", "nope", "--operation", "boot"}, "400 Bad Request: Session Template Name invalid: nope"},
		{"bad operation", []string{"sessions", "create", "--template-name", "compute", "--operation", "dance"}, "400 Bad Request"},
		{"no operation", []string{"sessions", "create", "--template-name", "compute"}, "--template-name and --operation are required"},
		{"duplicate name", []string{"sessions", "create", "--template-name", "compute", "--operation", "boot", "--name", "cli-dup", "--limit", "x9c0s0b0n0"}, "409"},
		{"bad age", []string{"sessions", "list", "--min-age", "yesterday"}, "400 Bad Request"},
		{"delete name and filters", []string{"sessions", "delete", "x", "--status", "complete"}, "not both"},
		{"status of a missing session", []string{"sessions", "status", "nope"}, "404 The resource was not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "duplicate name" {
				v2(t, tc.args...)
			}
			assert.ErrorContains(t, v2Fail(t, tc.args...), tc.want)
		})
	}
}

func TestCLIComponents(t *testing.T) {
	startShared(t)
	all := v2JSON[[]bos.Component](t, "components", "list")
	require.Len(t, all, len(shared.st.Topology.Nodes))

	a, b := shared.nodes[4], shared.nodes[5]
	some := v2JSON[[]bos.Component](t, "components", "list", "--ids", a+","+b)
	require.Len(t, some, 2)
	assert.Equal(t, a, some[0].ID)
	page := v2JSON[[]bos.Component](t, "components", "list", "--page-size", "2", "--start-after-id", a)
	require.Len(t, page, 2)
	assert.Equal(t, b, page[0].ID, "the page starts after %s", a)

	c := v2JSON[bos.Component](t, "components", "describe", a)
	assert.Equal(t, a, c.ID)
	assert.Regexp(t, `(?m)^id\s+`+a+`$`, v2(t, "components", "describe", a))

	// one component
	c = v2JSON[bos.Component](t, "components", "update", a, "--retry-policy", "7", "--error", "by hand")
	require.NotNil(t, c.RetryPolicy)
	assert.Equal(t, 7, *c.RetryPolicy)
	assert.Equal(t, "by hand", c.Error)
	// several, comma-separated or as arguments
	list := v2JSON[[]bos.Component](t, "components", "update", a+","+b, "--error", "")
	require.Len(t, list, 2)
	for _, c := range list {
		assert.Empty(t, c.Error)
	}
	list = v2JSON[[]bos.Component](t, "components", "update", a, b, "--file", writeFile(t, "c.json", `{"retry_policy": 2}`))
	require.Len(t, list, 2)
	assert.Equal(t, 2, *list[1].RetryPolicy)
	// history: newest first, what the updates above did
	hist := v2JSON[[]bos.HistoryEntry](t, "components", "history", a)
	require.GreaterOrEqual(t, len(hist), 2)
	assert.Equal(t, bos.HistoryEntry{Kind: bos.HistoryError, From: "by hand"}, bos.HistoryEntry{Kind: hist[0].Kind, From: hist[0].From, To: hist[0].To}, "the error cleared last")
	assert.Equal(t, bos.HistoryEntry{Kind: bos.HistoryError, To: "by hand"}, bos.HistoryEntry{Kind: hist[1].Kind, From: hist[1].From, To: hist[1].To})
	assert.Regexp(t, `(?m)^TIME\s+KIND\s+FROM\s+TO\s+DETAIL\s+SESSION\n\S+\s+error\s+by hand\s+-\s+`, v2(t, "components", "history", a))
	// timestamps in a file as BOS writes them (naive, UTC), as `describe --format json` prints them
	c = v2JSON[bos.Component](t, "components", "update", a, "--file", writeFile(t, "t.json",
		`{"actual_state": {"boot_artifacts": {"kernel": "k"}, "last_updated": "2026-01-02T03:04:05"}}`))
	assert.Equal(t, "k", c.ActualState.BootArtifacts.Kernel) // (BOS stamps last_updated itself)
	// filters: --enabled=false filters (BOS itself ignores a false filter; we do not)
	disabled := v2JSON[[]bos.Component](t, "components", "list", "--enabled=false", "--ids", a)
	require.Len(t, disabled, 1)
	// skip unknown ids
	list = v2JSON[[]bos.Component](t, "components", "update", a, "x9999c0s0b0n0", "--skip-bad-ids", "--retry-policy", "3")
	require.Len(t, list, 1)

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"describe missing", []string{"components", "describe", "x9999c0s0b0n0"}, "404 The resource was not found: Component 'x9999c0s0b0n0' does not exist"},
		{"update missing", []string{"components", "update", "x9999c0s0b0n0", "--enabled=false"}, "404 The resource was not found"},
		{"history of a missing component", []string{"components", "history", "x9999c0s0b0n0"}, "404 The resource was not found: Component 'x9999c0s0b0n0' does not exist"},
		{"update some missing", []string{"components", "update", a, "x9999c0s0b0n0", "--enabled=false"}, "404"},
		{"update nothing", []string{"components", "update", a}, "nothing to change"},
		{"update no target", []string{"components", "update", "--enabled=false"}, "IDs or --filter-session"},
		{"update both targets", []string{"components", "update", a, "--filter-session", "s", "--enabled=false"}, "IDs or --filter-session"},
		{"bad retry policy", []string{"components", "update", a, "--retry-policy", "-1"}, "400 Bad Request"},
		{"bad phase filter", []string{"components", "list", "--phase", "sleeping"}, "400 Bad Request"},
		{"bad timestamp in file", []string{"components", "update", a, "--file", writeFile(t, "b.json", `{"actual_state": {"last_updated": "yesterday"}}`)}, `last_updated: "yesterday" is not a timestamp`},
		{"unknown field in file", []string{"components", "update", a, "--file", writeFile(t, "x.json", `{"enabeld": true}`)}, `unknown field "enabeld"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.ErrorContains(t, v2Fail(t, tc.args...), tc.want)
		})
	}
}

func TestCLIApplyStaged(t *testing.T) {
	startShared(t)
	node := shared.nodes[2]
	v2(t, "sessions", "create", "--template-name", stack.DefaultTemplateName, "--operation", "boot", "--stage", "--limit", node, "--name", "cli-stage")
	// Session setup (the reconciler) stages the node.
	testwait.Until(t, node+" staged", func() bool {
		return len(v2JSON[[]bos.Component](t, "components", "list", "--staged-session", "cli-stage")) == 1
	}, func() string { return componentState(t, node) })

	res := v2JSON[bosapi.ApplyStagedResponse](t, "applystaged", "--xnames", node+",x9999c0s0b0n0")
	assert.Equal(t, []string{node}, res.Succeeded)
	assert.Equal(t, []string{"x9999c0s0b0n0"}, res.Ignored)
	out := v2(t, "applystaged", "--xnames", "x9999c0s0b0n0")
	assert.Regexp(t, `(?m)^ignored\s+1\s+x9999c0s0b0n0$`, out)
	assert.Regexp(t, `(?m)^succeeded\s+0\s+-$`, out)

	// The node is now the session's, and it boots.
	c := v2JSON[bos.Component](t, "components", "describe", node)
	assert.Equal(t, "cli-stage", c.Session)
	assert.NotEmpty(t, c.DesiredState.BootArtifacts.Kernel)
	// (The session itself stays running: clear_stage is off, so the node stays staged.)
	testwait.Until(t, node+" booted and stable", func() bool {
		c := v2JSON[bos.Component](t, "components", "describe", node)
		return c.Status.Status == bos.StatusStable && c.ActualState.BootArtifacts == c.DesiredState.BootArtifacts
	}, func() string { return componentState(t, node) })
	assert.ErrorContains(t, v2Fail(t, "applystaged"), "--xnames is required")

	// The default command form says it chose v2, here too.
	r := bosCmd(t, "", "applystaged", "--xnames", "x9999c0s0b0n0", "--url", shared.st.URLs.BOS)
	require.NoError(t, r.fail)
	assert.Contains(t, r.err, "scripts should name it: bos v2 applystaged")
}

func TestCLIOptions(t *testing.T) {
	startShared(t)
	o := v2JSON[bos.Options](t, "options", "list")
	assert.Equal(t, 1, o.PollingFrequency, "set by the test stack")
	assert.Regexp(t, `(?m)^polling_frequency\s+1$`, v2(t, "options", "list"))

	o = v2JSON[bos.Options](t, "options", "update", "--default-retry-policy", "4", "--logging-level", "DEBUG", "--clear-stage=false")
	assert.Equal(t, 4, o.DefaultRetryPolicy)
	assert.Equal(t, "DEBUG", o.LoggingLevel)
	assert.Equal(t, 1, o.PollingFrequency, "options not given are left alone")
	o = v2JSON[bos.Options](t, "options", "update", "--default-retry-policy", "3", "--logging-level", "INFO")
	assert.Equal(t, 3, o.DefaultRetryPolicy)

	assert.ErrorContains(t, v2Fail(t, "options", "update"), "nothing to change")
	assert.ErrorContains(t, v2Fail(t, "options", "update", "--polling-frequency", "-1"), "400 Bad Request")
	assert.ErrorContains(t, v2Fail(t, "options", "update", "--colour", "blue"), "unknown flag: --colour")
}

func TestCLITenant(t *testing.T) {
	startShared(t)
	file := writeFile(t, "t.json", templateJSON(t, shared.nodes[0]))
	blue := []string{"--tenant", testTenant}
	v2(t, append([]string{"sessiontemplates", "create", "blue-tpl", "--file", file}, blue...)...)

	// The tenant sees its own templates and nodes only.
	names := func(ts []bos.SessionTemplate) []string {
		var out []string
		for _, t := range ts {
			out = append(out, t.Name)
		}
		return out
	}
	assert.Equal(t, []string{"blue-tpl"}, names(v2JSON[[]bos.SessionTemplate](t, append([]string{"sessiontemplates", "list"}, blue...)...)))
	assert.Contains(t, names(v2JSON[[]bos.SessionTemplate](t, "sessiontemplates", "list")), "blue-tpl", "no tenant sees all")
	assert.Len(t, v2JSON[[]bos.Component](t, append([]string{"components", "list"}, blue...)...), 2)
	tpl := v2JSON[bos.SessionTemplate](t, append([]string{"sessiontemplates", "describe", "blue-tpl"}, blue...)...)
	assert.Equal(t, testTenant, tpl.Tenant)
	assert.ErrorContains(t, v2Fail(t, "sessiontemplates", "describe", "blue-tpl"), "404", "outside the tenant's namespace")
	assert.ErrorContains(t, v2Fail(t, append([]string{"components", "describe", shared.nodes[3]}, blue...)...), "404")

	assert.ErrorContains(t, v2Fail(t, "components", "list", "--tenant", "nobody"), "400 Invalid tenant")
	assert.Empty(t, v2JSON[[]bos.SessionTemplate](t, "sessiontemplates", "list", "--tenant", "nobody"), "an unknown tenant's namespace is empty, as BOS")
}

func TestCLIHelpAndUsage(t *testing.T) {
	r := bosCmd(t, "", "v2", "--help")
	require.NoError(t, r.fail)
	for _, f := range []string{"sessiontemplates", "sessions", "components", "applystaged", "options"} {
		assert.Regexp(t, `(?m)^  `+f+`\s+\S`, r.out, "every family has a summary")
	}
	r = bosCmd(t, "", "v2", "sessions", "create", "--help")
	require.NoError(t, r.fail)
	for _, f := range []string{"--template-name", "--operation", "--limit", "--stage", "--include-disabled"} {
		assert.Contains(t, r.out, f)
	}
	r = bosCmd(t, "", "v2", "options", "update", "--help")
	require.NoError(t, r.fail)
	assert.Contains(t, r.out, "--max-boot-wait-time int")
	assert.Contains(t, r.out, "set max_boot_wait_time (BOS default: 1200)")

	r = bosCmd(t, "", "v2", "sessions", "explode")
	require.Error(t, r.fail)
	assert.Equal(t, `unknown command "explode" for "bos v2 sessions"`, r.fail.Error())
	r = bosCmd(t, "", "v2", "session")
	assert.ErrorContains(t, r.fail, "; did you mean sessions or sessiontemplates or sessiontemplatetemplate?")
	r = bosCmd(t, "", "v2", "sessions")
	require.NoError(t, r.fail)
	assert.Contains(t, r.out, "Available Commands:")
}

// TestCLITakeover: a session whose node another unfinished session holds takes it over
// by default and says from whom; under --reject-overlapping-sessions all it is refused
// with BOS's 409 (the overlap rule), and --takeover takes the node over.
func TestCLITakeover(t *testing.T) {
	st := startShared(t)
	node := shared.nodes[5]
	// The node's power-on never completes while the fault is set, so "hold" keeps it.
	require.NoError(t, st.Sim.SetFault(node, simulator.FaultPowerStuck))
	defer func() { _ = st.Sim.ClearFault(node, simulator.FaultPowerStuck) }()
	create := []string{"sessions", "create", "--template-name", stack.DefaultTemplateName, "--operation", "boot", "--limit", node}
	v2(t, append(create, "--name", "cli-hold")...)

	v2(t, "options", "update", "--reject-overlapping-sessions", bos.RejectOverlapAll)
	defer v2(t, "options", "update", "--reject-overlapping-sessions", bos.RejectOverlapV1)
	err := v2Fail(t, append(create, "--name", "cli-second")...)
	assert.ErrorContains(t, err, "409 "+bos.ConflictTitle)
	assert.ErrorContains(t, err, "cli-hold")
	assert.ErrorContains(t, err, node)

	s := v2JSON[bos.Session](t, append(create, "--name", "cli-second", "--takeover")...)
	assert.Equal(t, "cli-second", s.Name)
	assert.Equal(t, []bos.SessionTakeover{{API: "v2", Session: "cli-hold", Nodes: []string{node}}}, s.Status.TookOver)

	v2(t, "options", "update", "--reject-overlapping-sessions", bos.RejectOverlapV1)
	s = v2JSON[bos.Session](t, append(create, "--name", "cli-third")...)
	require.NotEmpty(t, s.Status.TookOver, "the default takes over")
	for _, took := range s.Status.TookOver {
		assert.Contains(t, []string{"cli-hold", "cli-second"}, took.Session)
		assert.Equal(t, []string{node}, took.Nodes)
	}
	require.NoError(t, st.Sim.ClearFault(node, simulator.FaultPowerStuck))
	testwait.Until(t, "the node is the third session's", func() bool {
		return v2JSON[bos.Component](t, "components", "describe", node).Session == "cli-third"
	}, func() string { return componentState(t, node) })
}

// componentState describes a node's BOS component, for a wait's failure.
func componentState(t *testing.T, node string) string {
	c := v2JSON[bos.Component](t, "components", "describe", node)
	return fmt.Sprintf("%s: session %q, status %s, phase %s", node, c.Session, c.Status.Status, c.Status.Phase)
}
