package slurmreboot

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/hsm"
	"github.com/cray-bos/bos/internal/topology"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/api"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
	"github.com/cray-bos/bos/orchestrator/tenant"
)

// env is a real HSM (6 compute nodes, nid000001..6) and a real BOS API. Nodes 1-4 are
// staged for the reboot session "stage", node 5 has nothing staged, node 6 is staged
// for a session that no longer exists. The tenant "blue" owns nodes 1 and 2.
type env struct {
	t         *testing.T
	st        *store.Store
	xname     map[string]string // nid name → xname
	bos, hsm  *httptest.Server
	mu        sync.Mutex
	bosFilter func(w http.ResponseWriter, r *http.Request) bool // true: handled, skip BOS
	hsmFilter func(w http.ResponseWriter, r *http.Request) bool // true: handled, skip HSM
	headers   []http.Header                                     // of every BOS request
}

var artifacts = bos.BootArtifacts{Kernel: "s3://boot-images/new/kernel", KernelParameters: "console=ttyS0", Initrd: "s3://boot-images/new/initrd"}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	topo, err := topology.Generate(topology.DefaultOptions(6))
	require.NoError(t, err)
	e := &env{t: t, xname: map[string]string{}}
	for _, n := range topo.Nodes {
		if n.Role == topology.RoleCompute {
			e.xname[n.Name] = n.Xname
		}
	}
	h, err := hsm.New(hsm.Config{Topology: topo})
	require.NoError(t, err)
	e.hsm = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		filter := e.hsmFilter
		e.mu.Unlock()
		if filter != nil && filter(w, r) {
			return
		}
		h.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(e.hsm.Close)

	e.st = storetest.Open(t, storetest.Mini, store.Config{})
	tenants := tenant.NewMemory(tenant.New("blue", []string{e.xname["nid000001"], e.xname["nid000002"]}))
	a := api.New(api.Config{Store: e.st, Tenants: tenants})
	e.bos = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.headers = append(e.headers, r.Header.Clone())
		filter := e.bosFilter
		e.mu.Unlock()
		if filter != nil && filter(w, r) {
			return
		}
		a.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(e.bos.Close)

	c := bosapi.NewClient(e.bos.URL, nil)
	_, err = c.PutTemplate(ctx, "next", bos.SessionTemplate{BootSets: map[string]bos.BootSet{
		"compute": {Path: "s3://boot-images/new/manifest.json", Type: "s3", NodeRolesGroups: []string{"Compute"}},
	}})
	require.NoError(t, err)
	_, err = c.CreateSession(ctx, bos.SessionCreate{Name: "stage", Operation: bos.OpReboot, TemplateName: "next", Stage: true})
	require.NoError(t, err)
	var comps []bos.Component
	for i, name := range []string{"nid000001", "nid000002", "nid000003", "nid000004", "nid000005", "nid000006"} {
		comp := bos.NewComponent(e.xname[name], time.Now())
		switch {
		case i < 4:
			comp.StagedState = bos.StagedState{BootArtifacts: artifacts, Session: "stage"}
		case i == 5:
			comp.StagedState = bos.StagedState{BootArtifacts: artifacts, Session: "gone"}
		}
		comps = append(comps, comp)
	}
	_, err = e.st.PutComponents(ctx, comps)
	require.NoError(t, err)
	e.bosHeaders() // forget the setup's requests
	return e
}

func (e *env) program(tweak ...func(*Config)) *Program {
	e.t.Helper()
	cfg := Config{BOSURL: e.bos.URL, HSMURL: e.hsm.URL, RetryDelay: time.Millisecond}
	for _, f := range tweak {
		f(&cfg)
	}
	p, err := New(cfg)
	require.NoError(e.t, err)
	return p
}

// bosHeaders returns the headers of the BOS requests so far and forgets them.
func (e *env) bosHeaders() []http.Header {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.headers
	e.headers = nil
	return out
}

func (e *env) filter(bosFilter, hsmFilter func(w http.ResponseWriter, r *http.Request) bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.bosFilter, e.hsmFilter = bosFilter, hsmFilter
}

func (e *env) component(name string) bos.Component {
	e.t.Helper()
	c, err := e.st.GetComponent(context.Background(), e.xname[name])
	require.NoError(e.t, err)
	return c
}

func (e *env) xnames(names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = e.xname[n]
	}
	return out
}

func TestParseNodeList(t *testing.T) {
	for _, tc := range []struct {
		arg     string
		want    []string
		wantErr string
	}{
		{arg: "nid000001", want: []string{"nid000001"}},
		{arg: "nid000001,nid000002,nid000010", want: []string{"nid000001", "nid000002", "nid000010"}},
		{arg: ",nid000001,,", want: []string{"nid000001"}},
		{arg: "", wantErr: "names no node"},
		{arg: ",", wantErr: "names no node"},
		{arg: "nid[000001-000002]", wantErr: "slurmctld passes expanded names"},
		{arg: "nid000001 nid000002", wantErr: "is not a node name"},
	} {
		t.Run(tc.arg, func(t *testing.T) {
			got, err := ParseNodeList(tc.arg)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestNewChecksConfig(t *testing.T) {
	_, err := New(Config{})
	assert.ErrorContains(t, err, "no BOS URL")
	_, err = New(Config{BOSURL: "http://bos", Timeout: -time.Second})
	assert.ErrorContains(t, err, "must not be negative")
}

// TestRunApplies: nid names (in two spellings) and an xname map to four nodes, one
// applystaged call applies them all, and BOS now wants the staged artifacts on them.
func TestRunApplies(t *testing.T) {
	e := newEnv(t)
	res, err := e.program().Run(context.Background(), []string{"nid000001", "nid2", "nid000002", e.xname["nid000003"], "nid000004"})
	require.NoError(t, err)
	assert.True(t, res.OK())
	assert.Equal(t, []string{"nid000001", "nid2", "nid000002", e.xname["nid000003"], "nid000004"}, res.Nodes)
	assert.Equal(t, e.xname["nid000002"], res.Xnames["nid2"])
	assert.Equal(t, e.xnames("nid000001", "nid000002", "nid000003", "nid000004"), res.Succeeded)
	assert.Empty(t, res.Unmapped)
	for _, n := range []string{"nid000001", "nid000002", "nid000003", "nid000004"} {
		c := e.component(n)
		assert.True(t, c.Enabled, n)
		assert.Equal(t, artifacts, c.DesiredState.BootArtifacts, n)
		assert.Equal(t, "stage", c.Session, n)
	}
	assert.False(t, e.component("nid000005").Enabled, "not asked for")
	assert.Len(t, e.bosHeaders(), 1, "one BOS request for the whole batch")
}

// TestRunIncomplete: the run applies what it can and fails, saying where each node went.
func TestRunIncomplete(t *testing.T) {
	e := newEnv(t)
	res, err := e.program().Run(context.Background(), []string{"nid000001", "nid000005", "nid000006", "nid000099", "login1"})
	require.ErrorIs(t, err, ErrIncomplete)
	assert.ErrorContains(t, err, "1 of 5 nodes applied (2 without xname, 1 failed, 1 ignored)")
	assert.False(t, res.OK())
	assert.Equal(t, e.xnames("nid000001"), res.Succeeded)
	assert.Equal(t, e.xnames("nid000006"), res.Failed, "staged session gone")
	assert.Equal(t, e.xnames("nid000005"), res.Ignored, "nothing staged")
	assert.ElementsMatch(t, []string{"nid000099", "login1"}, res.Unmapped)
	assert.True(t, e.component("nid000001").Enabled, "the good node is applied anyway")

	// Only unmapped names: nothing to send to BOS, still a failure.
	e.bosHeaders()
	res, err = e.program().Run(context.Background(), []string{"login1"})
	require.ErrorIs(t, err, ErrIncomplete)
	assert.Equal(t, []string{"login1"}, res.Unmapped)
	assert.Empty(t, e.bosHeaders())
}

// TestRunTenantAndToken: the tenant header limits BOS to the tenant's nodes; the token
// goes out as a bearer token.
func TestRunTenantAndToken(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// The tenant stages its own session (sessions live in the tenant's namespace).
	blue := bosapi.NewClient(e.bos.URL, nil).WithTenant("blue")
	_, err := blue.PutTemplate(ctx, "next", bos.SessionTemplate{BootSets: map[string]bos.BootSet{
		"compute": {Path: "s3://boot-images/new/manifest.json", Type: "s3", NodeList: []string{e.xname["nid000001"]}},
	}})
	require.NoError(t, err)
	_, err = blue.CreateSession(ctx, bos.SessionCreate{Name: "blue-stage", Operation: bos.OpReboot, TemplateName: "next", Stage: true})
	require.NoError(t, err)
	comp := bos.NewComponent(e.xname["nid000001"], time.Now())
	comp.StagedState = bos.StagedState{BootArtifacts: artifacts, Session: "blue-stage"}
	_, err = e.st.PutComponents(ctx, []bos.Component{comp})
	require.NoError(t, err)
	e.bosHeaders()

	res, err := e.program(func(c *Config) { c.Tenant, c.Token = "blue", "s3cr3t" }).Run(context.Background(), []string{"nid000001", "nid000003"})
	require.ErrorIs(t, err, ErrIncomplete)
	assert.Equal(t, e.xnames("nid000001"), res.Succeeded)
	assert.Equal(t, e.xnames("nid000003"), res.Ignored, "outside the tenant")
	headers := e.bosHeaders()
	require.Len(t, headers, 1)
	assert.Equal(t, "blue", headers[0].Get(bosapi.TenantHeader))
	assert.Equal(t, "Bearer s3cr3t", headers[0].Get("Authorization"))
}

// TestRunRetries: HSM reads are retried on 503; applystaged is not retried once BOS got
// it (a 500), but is when the connection could not be made.
func TestRunRetries(t *testing.T) {
	e := newEnv(t)
	var hsmCalls atomic.Int32
	e.filter(nil, func(w http.ResponseWriter, r *http.Request) bool {
		if hsmCalls.Add(1) == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	_, err := e.program().Run(context.Background(), []string{"nid000001"})
	require.NoError(t, err)
	assert.EqualValues(t, 2, hsmCalls.Load(), "one retry")

	e.bosHeaders()
	e.filter(func(w http.ResponseWriter, r *http.Request) bool {
		http.Error(w, "boom", http.StatusInternalServerError)
		return true
	}, nil)
	_, err = e.program().Run(context.Background(), []string{"nid000002"})
	require.ErrorContains(t, err, "applystaged")
	assert.NotErrorIs(t, err, ErrIncomplete, "no answer to judge")
	assert.Len(t, e.bosHeaders(), 1, "a request BOS received is never sent twice")

	// BOS not listening: every attempt is a dial error, so all three are made.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	start := time.Now()
	_, err = e.program(func(c *Config) { c.BOSURL = dead; c.RetryDelay = 20 * time.Millisecond }).Run(context.Background(), []string{"nid000002"})
	require.Error(t, err)
	assert.True(t, dialFailed(err), "%v", err)
	assert.GreaterOrEqual(t, time.Since(start), 60*time.Millisecond, "two waits: 20 ms, then 40 ms")
}

// TestRunTimeout: a BOS that never answers cannot hold the program past its timeout.
func TestRunTimeout(t *testing.T) {
	e := newEnv(t)
	e.filter(func(w http.ResponseWriter, r *http.Request) bool {
		_, _ = io.Copy(io.Discard, r.Body) // so the server notices the client hanging up
		<-r.Context().Done()
		return true
	}, nil)
	start := time.Now()
	_, err := e.program(func(c *Config) { c.Timeout = 200 * time.Millisecond }).Run(context.Background(), []string{"nid000001"})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second)
}

// TestRebootIsRun: Reboot (the slurmsim.RebootProgram method) is Run's error.
func TestRebootIsRun(t *testing.T) {
	e := newEnv(t)
	p := e.program()
	assert.NoError(t, p.Reboot(context.Background(), []string{"nid000003"}))
	assert.ErrorIs(t, p.Reboot(context.Background(), []string{"nid000005"}), ErrIncomplete)
}
