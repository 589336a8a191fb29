package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/internal/problem"
	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// rendezvousResolver is fakeResolver, except that the first two resolutions for a new
// session's limit wait for each other: two creations of the same nodes on two servers
// both read the sessions before either writes, the race a read-then-write check loses.
// Later resolutions for that limit (a retried admission) pass straight through.
type rendezvousResolver struct {
	mu    sync.Mutex
	seen  map[string]int
	meets map[string]chan struct{}
}

func (r *rendezvousResolver) ResolveNodes(ctx context.Context, sels []orchestrator.NodeSelector) ([]orchestrator.NodeSelection, error) {
	key := sels[0].Limit
	r.mu.Lock()
	r.seen[key]++
	n := r.seen[key]
	if r.meets[key] == nil {
		r.meets[key] = make(chan struct{})
	}
	meet := r.meets[key]
	r.mu.Unlock()
	switch n {
	case 1:
		select {
		case <-meet:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	case 2:
		close(meet)
	}
	return fakeResolver{}.ResolveNodes(ctx, sels)
}

// sharedServers starts n API servers, each on its own store, all on one Redis database
// and key prefix (n BOS processes), with resolver; it returns their clients.
func sharedServers(t *testing.T, backend string, n int, resolver orchestrator.NodeResolver) []*bosapi.Client {
	t.Helper()
	var out []*bosapi.Client
	for _, st := range storetest.OpenShared(t, backend, n, store.Config{}) {
		srv := httptest.NewServer(New(Config{Store: st, Nodes: resolver,
			Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelError}))}))
		t.Cleanup(srv.Close)
		out = append(out, bosapi.NewClient(srv.URL, srv.Client()))
	}
	return out
}

// TestOverlapAcrossProcesses: two API servers on one Redis create overlapping sessions at
// once, round after round, each pair made to read the sessions before either writes.
// With reject_overlapping_sessions=all exactly one of each pair is created and the other
// is refused with 409 naming it; by default both are created and exactly one of them
// records that it took the node over from the other. Without the store's admission (a
// check then a write) every pair was created with no record of the other.
func TestOverlapAcrossProcesses(t *testing.T) {
	const rounds = 10
	for _, mode := range []string{orchestrator.RejectOverlapAll, orchestrator.RejectOverlapV1} {
		t.Run(mode, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, backend string) {
				res := &rendezvousResolver{seen: map[string]int{}, meets: map[string]chan struct{}{}}
				clients := sharedServers(t, backend, 2, res)
				ctx := context.Background()
				nodes := make([]string, rounds)
				for i := range nodes {
					nodes[i] = fmt.Sprintf("x1000c0s%db0n0", i)
				}
				tmpl := orchestrator.SessionTemplate{BootSets: map[string]orchestrator.BootSet{
					"compute": {Path: "s3://boot-images/abc/manifest.json", Type: "s3", NodeList: nodes}}}
				_, err := clients[0].PutTemplate(ctx, "all", tmpl)
				require.NoError(t, err)
				_, err = clients[1].PatchOptions(ctx, map[string]any{"reject_overlapping_sessions": mode})
				require.NoError(t, err)

				for r, node := range nodes {
					names := []string{fmt.Sprintf("r%d-a", r), fmt.Sprintf("r%d-b", r)}
					created := make([]orchestrator.Session, 2)
					errs := make([]error, 2)
					var wg sync.WaitGroup
					for i, c := range clients {
						wg.Go(func() {
							created[i], errs[i] = c.CreateSession(ctx, orchestrator.SessionCreate{
								Name: names[i], Operation: "boot", TemplateName: "all", Limit: &node})
						})
					}
					wg.Wait()

					if mode == orchestrator.RejectOverlapAll {
						var refused []int
						for i, err := range errs {
							var d *problem.Details
							if errors.As(err, &d) && d.Status == http.StatusConflict {
								refused = append(refused, i)
								assert.Contains(t, d.Detail, "v2 session "+names[1-i]+" (pending) holds 1 of them: "+node, "round %d", r)
							} else {
								require.NoError(t, err, "round %d", r)
							}
						}
						assert.Len(t, refused, 1, "round %d: exactly one of two overlapping creations wins", r)
						continue
					}
					require.NoError(t, errs[0], "round %d", r)
					require.NoError(t, errs[1], "round %d", r)
					var recorded int
					for i, s := range created {
						switch len(s.Status.TookOver) {
						case 0:
						case 1:
							recorded++
							assert.Equal(t, orchestrator.SessionTakeover{API: "v2", Session: names[1-i], Nodes: []string{node}}, s.Status.TookOver[0], "round %d", r)
						default:
							t.Errorf("round %d: %s took over from %v", r, names[i], s.Status.TookOver)
						}
					}
					assert.Equal(t, 1, recorded, "round %d: exactly the later session records taking the node from the earlier", r)
				}
			})
		})
	}
}

// lockedBuffer is a log sink safe to read while the server writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// TestOverlapTakeoverLogged: a takeover is logged with both sessions and the nodes.
func TestOverlapTakeoverLogged(t *testing.T) {
	var logs lockedBuffer
	srv := httptest.NewServer(New(Config{Store: storetest.Open(t, storetest.Mini, store.Config{}), Nodes: fakeResolver{},
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}))
	t.Cleanup(srv.Close)
	c := bosapi.NewClient(srv.URL, srv.Client())
	ctx := context.Background()
	n1, n2 := "x1000c0s0b0n0", "x1000c0s0b0n1"
	_, err := c.PutTemplate(ctx, "all", orchestrator.SessionTemplate{BootSets: map[string]orchestrator.BootSet{
		"compute": {Path: "s3://boot-images/abc/manifest.json", Type: "s3", NodeList: []string{n1, n2}}}})
	require.NoError(t, err)
	_, err = c.CreateSession(ctx, orchestrator.SessionCreate{Name: "a", Operation: "boot", TemplateName: "all"})
	require.NoError(t, err)
	assert.NotContains(t, logs.String(), "takes over")
	_, err = c.CreateSession(ctx, orchestrator.SessionCreate{Name: "b", Operation: "boot", TemplateName: "all", Limit: &n2})
	require.NoError(t, err)
	assert.Contains(t, logs.String(), `msg="session takes over nodes held by another session" api=v2 session=b from_api=v2 from_session=a count=1 nodes=`+n2)
}
