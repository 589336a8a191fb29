package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/problem"
	"github.com/cray-bos/bos/internal/stack"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/api"
)

// TestOverlappingSessions: session A takes computes 0..199, then session B (another
// configuration) asks for 100..299 while A runs. Our rule (BOS has none): B is refused
// with 409 naming A and the 100 shared nodes, and nothing changes. Asked again with
// takeover=true, B takes the shared nodes over: they end on B's configuration under B; A
// completes with only 0..99 managed; every node is booted once.
func TestOverlappingSessions(t *testing.T) { bubble(t, testOverlappingSessions) }

func testOverlappingSessions(t *testing.T) {
	c := startCluster(t, "miniredis", clusterOptions{nodes: 300})
	ctx := c.ctx()
	c.templateWithConfiguration("compute-b", "config-b", "b")

	a := c.session(bos.OpBoot, "", strings.Join(c.computes[:200], ","), false)
	require.Eventually(t, func() bool {
		s, err := c.st.BOSClient.GetSession(ctx, a)
		return err == nil && s.Status.Status != bos.SessionPending
	}, 30*time.Second, 20*time.Millisecond, "session A set up")
	limitB := strings.Join(c.computes[100:300], ",")
	reqB := bos.SessionCreate{Operation: bos.OpBoot, TemplateName: "compute-b", Limit: &limitB}
	_, err := c.st.BOSClient.CreateSession(ctx, reqB)
	var d *problem.Details
	require.ErrorAs(t, err, &d, "B is refused while A holds the shared nodes")
	assert.Equal(t, 409, d.Status)
	assert.Equal(t, bos.ConflictTitle, d.Title)
	assert.Contains(t, d.Detail, "v2 session "+a+" (running) holds 100 of them: "+strings.Join(c.computes[100:120], ","))
	sessions, err := c.st.BOSClient.ListSessions(ctx, api.SessionQuery{})
	require.NoError(t, err)
	assert.Len(t, sessions, 1, "the refused session was not stored")

	sessB, err := c.st.BOSClient.CreateSessionTakeover(ctx, reqB)
	require.NoError(t, err)
	b := sessB.Name

	stB := c.waitComplete(b, time.Minute)
	stA := c.waitComplete(a, time.Minute)
	assert.Equal(t, 200, stB.ManagedComponentsCount)
	assert.Equal(t, 100.0, stB.PercentSuccessful)
	assert.Equal(t, 100, stA.ManagedComponentsCount, "A lost the shared nodes to B")
	assert.Equal(t, 100.0, stA.PercentSuccessful)

	sessA, err := c.st.BOSClient.GetSession(ctx, a)
	require.NoError(t, err)
	assert.Len(t, strings.Split(sessA.Components, ","), 200, "A's components string still lists every node it set up")

	comps := c.components()
	for i, id := range c.computes {
		wantSession, wantConfig := a, stack.DefaultConfigurationName
		if i >= 100 {
			wantSession, wantConfig = b, "config-b"
		}
		assert.Equal(t, wantSession, comps[id].Session, id)
		assert.Equal(t, wantConfig, comps[id].DesiredState.Configuration, id)
	}
	c.requireBooted(c.computes[:100], stack.DefaultConfigurationName)
	c.requireBooted(c.computes[100:], "config-b")
	for id, n := range c.bootCounts(c.computes) {
		assert.Equal(t, 1, n, "%s booted once", id)
	}
}
