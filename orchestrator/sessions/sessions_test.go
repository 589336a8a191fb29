package sessions_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/sessions"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/tenant"
)

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func putSession(t *testing.T, st *store.Store, tenantName, name, status string, started time.Time) {
	t.Helper()
	sess := bos.Session{Name: name, Tenant: tenantName, Operation: bos.OpBoot, TemplateName: "t",
		Status: bos.SessionStatus{Status: status, StartTime: started}}
	if status == bos.SessionComplete {
		end := started.Add(time.Minute)
		sess.Status.EndTime = &end
	}
	require.NoError(t, st.CreateSession(context.Background(), sess))
}

func getSession(t *testing.T, st *store.Store, tenantName, name string) bos.Session {
	t.Helper()
	s, err := st.GetSession(context.Background(), tenantName, name)
	require.NoError(t, err)
	return s
}

// member builds a component under session name, enabled or not, in phase.
func member(id, session string, enabled bool, phase string) bos.Component {
	c := bos.Component{ID: id, Session: session, Enabled: enabled}
	c.Status.Phase = phase
	return c
}

func TestCompleteSessions(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	start := setupNow.Add(-10 * time.Minute)
	putSession(t, st, "", "busy", bos.SessionRunning, start)
	putSession(t, st, "", "staged", bos.SessionRunning, start)
	putSession(t, st, "", "empty", bos.SessionRunning, start)
	putSession(t, st, "", "waiting", bos.SessionPending, start)
	staged := bos.Component{ID: n10}
	staged.StagedState.Session = "staged"
	_, err := st.PutComponents(ctx, []bos.Component{
		member(n00, "busy", true, bos.PhasePoweringOn),
		member(n01, "busy", false, bos.PhaseNone),
		staged,
	})
	require.NoError(t, err)

	done, err := sessions.CompleteSessions(ctx, st, nil, setupNow)
	require.NoError(t, err)
	assert.Equal(t, []string{"empty"}, done, "only the session with nothing enabled or staged completes")
	assert.Equal(t, bos.SessionRunning, getSession(t, st, "", "busy").Status.Status)
	assert.Equal(t, bos.SessionRunning, getSession(t, st, "", "staged").Status.Status)
	assert.Equal(t, bos.SessionPending, getSession(t, st, "", "waiting").Status.Status, "pending sessions are setup's business")

	// The last enabled member finishes (disabled as stable); the staged node is applied.
	_, err = st.UpdateComponents(ctx, []string{n00, n10}, func(c *bos.Component) error {
		c.Enabled = false
		c.Status.Phase = bos.PhaseNone
		c.StagedState = bos.StagedState{}
		return nil
	})
	require.NoError(t, err)
	later := setupNow.Add(5 * time.Minute)
	done, err = sessions.CompleteSessions(ctx, st, nil, later)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"busy", "staged"}, done)

	busy := getSession(t, st, "", "busy")
	assert.Equal(t, bos.SessionComplete, busy.Status.Status)
	require.NotNil(t, busy.Status.EndTime)
	assert.True(t, busy.Status.EndTime.Equal(later))
	assert.Nil(t, busy.Status.Error)

	// The extended status is frozen at completion: later changes to the nodes don't move it.
	frozen, ok, err := st.GetSessionStatus(ctx, "", "busy")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, bos.SessionComplete, frozen.Status)
	assert.Equal(t, 2, frozen.ManagedComponentsCount)
	assert.Equal(t, 100.0, frozen.PercentSuccessful)
	assert.Equal(t, "0:15:00", frozen.Timing.Duration)
	_, err = st.UpdateComponent(ctx, n00, func(c *bos.Component) error { c.Session = "other"; return nil })
	require.NoError(t, err)
	again, err := st.SessionStatus(ctx, busy, nil, later.Add(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, frozen, again)

	// A second pass completes nothing more.
	done, err = sessions.CompleteSessions(ctx, st, nil, later)
	require.NoError(t, err)
	assert.Empty(t, done)
}

func TestCompleteSessionsTenant(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	reg := tenant.NewMemory(acme) // acme owns n00, n10, n20, n21
	putSession(t, st, "acme", "s", bos.SessionRunning, setupNow)
	putSession(t, st, "", "s", bos.SessionRunning, setupNow) // same name, no tenant
	_, err := st.PutComponents(ctx, []bos.Component{
		member(n01, "s", true, bos.PhasePoweringOn), // not acme's: holds only the untenanted "s"
		member(n00, "s", false, bos.PhaseNone),
	})
	require.NoError(t, err)

	done, err := sessions.CompleteSessions(ctx, st, reg, setupNow)
	require.NoError(t, err)
	assert.Equal(t, []string{"acme/s"}, done, "a tenant session ignores nodes outside the tenant")
	assert.Equal(t, bos.SessionRunning, getSession(t, st, "", "s").Status.Status)
	frozen, ok, err := st.GetSessionStatus(ctx, "acme", "s")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, 1, frozen.ManagedComponentsCount, "only acme's node counts")

	// A tenant that no longer exists owns nothing, so its sessions complete.
	putSession(t, st, "gone", "s", bos.SessionRunning, setupNow)
	done, err = sessions.CompleteSessions(ctx, st, reg, setupNow)
	require.NoError(t, err)
	assert.Equal(t, []string{"gone/s"}, done)
}

func TestCleanupSessions(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	day := 24 * time.Hour
	putSession(t, st, "", "old-complete", bos.SessionComplete, setupNow.Add(-8*day))
	putSession(t, st, "acme", "old-complete", bos.SessionComplete, setupNow.Add(-8*day))
	putSession(t, st, "", "new-complete", bos.SessionComplete, setupNow.Add(-6*day))
	putSession(t, st, "", "old-running", bos.SessionRunning, setupNow.Add(-8*day))
	putSession(t, st, "", "old-pending", bos.SessionPending, setupNow.Add(-8*day))
	sess := getSession(t, st, "", "old-complete")
	_, err := st.FreezeSessionStatus(ctx, sess, nil, setupNow)
	require.NoError(t, err)

	opts := bos.DefaultOptions()
	opts.CleanupCompletedSessionTTL = "0"
	n, err := sessions.CleanupSessions(ctx, st, opts, setupNow)
	require.NoError(t, err)
	assert.Zero(t, n, "a TTL of 0 disables cleanup")

	opts.CleanupCompletedSessionTTL = "7d"
	n, err = sessions.CleanupSessions(ctx, st, opts, setupNow)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	all, err := st.ListSessions(ctx, "", true, bos.SessionFilter{}, setupNow)
	require.NoError(t, err)
	var left []string
	for _, s := range all {
		left = append(left, s.Name)
	}
	assert.ElementsMatch(t, []string{"new-complete", "old-running", "old-pending"}, left)
	_, ok, err := st.GetSessionStatus(ctx, "", "old-complete")
	require.NoError(t, err)
	assert.False(t, ok, "the frozen status goes with the session")

	opts.CleanupCompletedSessionTTL = "5D"
	n, err = sessions.CleanupSessions(ctx, st, opts, setupNow)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}
