package slurmsim

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/internal/testclock"
)

// t0 is the fake clock's start: a whole second, so boot_req_time arithmetic is exact.
var t0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// recorder is a RebootProgram that remembers its calls and optionally fails.
type recorder struct {
	mu    sync.Mutex
	calls [][]string
	err   error
}

func (r *recorder) Reboot(_ context.Context, nodes []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, append([]string(nil), nodes...))
	return r.err
}

func (r *recorder) Calls() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]string(nil), r.calls...)
}

// env is a controller over a fake clock with nodes nid000001..nid00000N.
type env struct {
	t    *testing.T
	s    *Server
	clk  *testclock.Clock
	prog *recorder
}

func nodeNames(n int) []NodeSpec {
	out := make([]NodeSpec, n)
	for i := range out {
		out[i] = NodeSpec{Name: fmt.Sprintf("nid%06d", i+1), Xname: fmt.Sprintf("x1000c0s%db0n%d", i/2, i%2)}
	}
	return out
}

func newEnv(t *testing.T, nodes int, mutate ...func(*Config)) *env {
	t.Helper()
	e := &env{t: t, clk: testclock.New(t0), prog: &recorder{}}
	cfg := Config{Nodes: nodeNames(nodes), RebootProgram: e.prog, Now: e.clk.Now}
	for _, m := range mutate {
		m(&cfg)
	}
	s, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	e.s = s
	return e
}

// tick advances the clock by d and runs one controller pass, waiting for the
// RebootProgram calls it started.
func (e *env) tick(d time.Duration) []string {
	batch := e.s.Tick(e.clk.Advance(d))
	e.s.WaitPrograms()
	return batch
}

// ticks runs n one-second passes.
func (e *env) ticks(n int) {
	for i := 0; i < n; i++ {
		e.tick(time.Second)
	}
}

func (e *env) node(name string) slurmapi.Node {
	e.t.Helper()
	n, err := e.s.Node(name)
	require.NoError(e.t, err)
	return n
}

func (e *env) state(name string) string { return e.node(name).State.String() }

func (e *env) submit(nodes int, duration time.Duration) int {
	e.t.Helper()
	id, err := e.s.Submit(slurmapi.JobDesc{Nodes: nodes, Duration: duration})
	require.NoError(e.t, err)
	return id
}

func (e *env) job(id int) slurmapi.Job {
	e.t.Helper()
	j, err := e.s.Job(id)
	require.NoError(e.t, err)
	return j
}

func (e *env) reboot(req slurmapi.RebootRequest) {
	e.t.Helper()
	require.NoError(e.t, e.s.Reboot(req))
}

func (e *env) update(nodes, state, reason string) {
	e.t.Helper()
	require.NoError(e.t, e.s.UpdateNode(slurmapi.NodeUpdate{Nodes: nodes, State: state, Reason: reason}))
}

// register has the node's slurmd register, booted at bootTime.
func (e *env) register(name string, bootTime time.Time) {
	e.t.Helper()
	require.NoError(e.t, e.s.NodeRegistered(name, bootTime))
}
