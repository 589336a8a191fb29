package sessions_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/api"
	"github.com/cray-bos/bos/orchestrator/power"
	"github.com/cray-bos/bos/orchestrator/reconciler"
	"github.com/cray-bos/bos/orchestrator/store"
)

// quietCluster answers the reconciler's effects without doing anything.
type quietCluster struct{}

func (quietCluster) Put(context.Context, []string, bos.BootArtifacts) (string, error) {
	return "tok", nil
}
func (quietCluster) Components(context.Context, []string) (map[string]reconciler.CFSView, error) {
	return map[string]reconciler.CFSView{}, nil
}
func (quietCluster) SetDesired(context.Context, []string, string, bool, bool, string) error {
	return nil
}
func (quietCluster) PowerStates(_ context.Context, ids []string) map[string]power.PowerReading {
	out := make(map[string]power.PowerReading, len(ids))
	for _, id := range ids {
		out[id] = power.PowerReading{Power: power.PowerOff}
	}
	return out
}
func (quietCluster) Reset(context.Context, []string, power.ResetKind) map[string]error {
	return nil
}

// Creating a v2 session wakes the session loop through the API's WakeV2: the session is
// set up at once, with the fake clock still short of the session poll.
func TestSessionCreateWakesSetup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newSetupEnvOn(t, store.Config{EmbeddedOverPipes: true})
		env.putTemplate(t, template("t", map[string]bos.BootSet{"a": bootSetA(nodeList(n00))}))
		q := quietCluster{}
		r := reconciler.New(reconciler.Config{Store: env.st, Inventory: env.inv, Images: clusterImages(),
			BSS: q, CFS: q, Power: q, SessionPoll: time.Hour})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- r.Run(ctx) }()
		synctest.Wait() // the first session pass has run and found nothing
		start := time.Now()

		h := api.New(api.Config{Store: env.st, WakeV2: r.WakeSessions}).Handler()
		req := httptest.NewRequest(http.MethodPost, "/v2/sessions", strings.NewReader(`{"name": "s1", "template_name": "t", "operation": "boot"}`))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		synctest.Wait()

		sess, err := env.st.GetSession(context.Background(), "", "s1")
		require.NoError(t, err)
		assert.Equal(t, bos.SessionRunning, sess.Status.Status, "set up without waiting for the poll")
		assert.Less(t, time.Since(start), time.Second)
		cancel()
		require.NoError(t, <-done)
	})
}
