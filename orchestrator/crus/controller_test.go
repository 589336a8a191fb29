package crus_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/ims"
	"github.com/cray-bos/bos/internal/problem"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/crus"
	"github.com/cray-bos/bos/simulator"
	"github.com/cray-bos/bos/slurmsim"
)

// onNextImage reports whether BOS saw the node boot the next image.
func (w *world) onNextImage(id string) bool {
	c := w.component(id)
	return strings.Contains(c.ActualState.BootArtifacts.Kernel, ims.ImageID(ims.ImageComputeNext))
}

// A whole upgrade on the real services: a node drained by an administrator keeps its
// drain, a busy node is waited for, a node that never comes back fails into the failed
// group (and Slurm FAIL), every other node ends on the new image and back in service,
// and no node is rebooted while a job runs on it.
func TestUpgrade(t *testing.T) {
	bubble(t, func(t *testing.T) {
		w := startWorld(t, 12)
		ctx := ctxFor(t, 60*time.Second)
		admin, dead := w.computes[1], w.computes[7]
		require.NoError(t, w.slurm.UpdateNode(ctx, slurmapi.NodeUpdate{Nodes: w.names[admin], State: "DRAIN", Reason: "bad dimm"}))
		// A 2-second job lands on the lowest idle node: nid000001.
		_, err := w.slurm.Submit(ctx, slurmapi.JobDesc{Nodes: 1, Duration: 2 * time.Second})
		require.NoError(t, err)
		w.eventually(5*time.Second, "job start", func() (bool, string) {
			n := w.slurmNode(w.computes[0])
			return n.State.Base == slurmapi.StateAllocated, n.State.String()
		})
		require.NoError(t, w.st.Sim.SetFault(dead, simulator.FaultKernelPanic))
		// A stale member of the failed group is cleared at the start.
		require.NoError(t, w.hsm.AddGroupMember(ctx, failedLabel, w.computes[11]))

		_, client, _ := w.crusServer(newStore(t), fastTiming())
		s := w.create(client, 5)
		assert.Equal(t, crus.StateUpdating, s.State)
		assert.Equal(t, crus.Kind, s.Kind)
		s = w.waitCompleted(client, s.UpgradeID, 60*time.Second)

		assert.Equal(t, crus.StateReady, s.State)
		assert.Equal(t, "Upgrade Session Completed", s.Messages[len(s.Messages)-1])
		for _, m := range []string{
			"Cleared node group 'crus-failed'",
			"Took the node list of group 'crus-start': 12 nodes in 3 steps of at most 5",
			"Quiesce requested in step 0: moving to QUIESCING",
			"All nodes quiesced in step 2: moving to QUIESCED",
			"Step 0 boot session succeeded: moving to WLM_WAITING",
			"Step 1 boot session succeeded for 4 of 5 nodes: marking the others as failed (upgrading-boot-failed: 1), moving to WLM_WAITING",
			"All WLM returned to ready in step 2: advancing to step 3 and moving to STARTING",
			"No nodes in step 3: moving to CLEANUP",
		} {
			assert.Contains(t, s.Messages, m)
		}

		assert.Equal(t, []string{dead}, w.members(failedLabel))
		assert.Empty(t, w.members(upLabel))
		for _, id := range w.computes {
			n := w.slurmNode(id)
			hist, err := w.slurm.History(ctx, w.names[id])
			require.NoError(t, err)
			assert.NoError(t, slurmsim.CheckNoRebootWhileRunning(n.Name, hist))
			switch id {
			case dead:
				assert.True(t, n.State.Has(slurmapi.FlagFail), "%s: %s", id, n.State)
				assert.Equal(t, crus.ReasonBootFailed, n.Reason)
			case admin:
				assert.True(t, w.onNextImage(id), id)
				assert.Equal(t, "IDLE+DRAIN", n.State.String(), "the administrator's drain is back")
				assert.Equal(t, "bad dimm", n.Reason)
			default:
				assert.True(t, w.onNextImage(id), id)
				assert.True(t, crus.InService(crus.WLMNode{State: n.State, Reason: n.Reason}), "%s: %s %q", id, n.State, n.Reason)
				assert.False(t, n.State.Has(slurmapi.FlagDrain), "%s: %s", id, n.State)
			}
		}
	})
}

// A controller stopped mid-session and started again (a new process on the same store)
// carries on from the stored stage.
func TestRestartResumes(t *testing.T) {
	bubble(t, func(t *testing.T) {
		w := startWorld(t, 6)
		st := newStore(t)
		boots := map[string]int{}
		for _, id := range w.computes {
			boots[id] = w.bootCount(id)
		}
		_, client, stop := w.crusServer(st, fastTiming())
		s := w.create(client, 3)
		// Stop once the first step's boot is under way.
		w.eventually(20*time.Second, "step 0 booting", func() (bool, string) {
			got, err := client.Get(ctxFor(t, 5*time.Second), s.UpgradeID)
			require.NoError(t, err)
			return contains(got.Messages, "Began the boot session for step 0: moving to BOOTING"), fmt.Sprint(got.Messages)
		})
		stop()

		_, client2, _ := w.crusServer(st, fastTiming())
		s = w.waitCompleted(client2, s.UpgradeID, 40*time.Second)
		assert.Equal(t, crus.StateReady, s.State)
		assert.Contains(t, s.Messages, "Learning initiated")
		assert.Equal(t, 1, count(s.Messages, "Began the boot session for step 0: moving to BOOTING"), "step 0 was not started again")
		for _, id := range w.computes {
			assert.True(t, w.onNextImage(id), id)
			assert.Equal(t, boots[id]+1, w.bootCount(id), "%s rebooted exactly once", id)
		}
		assert.Empty(t, w.members(failedLabel))
	})
}

// Jobs that outlast the quiesce timeout keep their node: it goes back to service
// untouched and is marked failed; the rest of the step is upgraded.
func TestQuiesceTimeout(t *testing.T) {
	bubble(t, func(t *testing.T) {
		w := startWorld(t, 4)
		ctx := ctxFor(t, 60*time.Second)
		_, err := w.slurm.Submit(ctx, slurmapi.JobDesc{Nodes: 1, Duration: time.Hour})
		require.NoError(t, err)
		w.eventually(5*time.Second, "job start", func() (bool, string) {
			n := w.slurmNode(w.computes[0])
			return n.State.Base == slurmapi.StateAllocated, n.State.String()
		})
		timing := fastTiming()
		timing.QuiesceTimeout = time.Second
		_, client, _ := w.crusServer(newStore(t), timing)
		s := w.waitCompleted(client, w.create(client, 4).UpgradeID, 30*time.Second)

		busy := w.computes[0]
		assert.Equal(t, []string{busy}, w.members(failedLabel))
		n := w.slurmNode(busy)
		assert.Equal(t, "ALLOCATED", n.State.String(), "the job runs on, the node is not drained")
		assert.False(t, w.onNextImage(busy))
		for _, id := range w.computes[1:] {
			assert.True(t, w.onNextImage(id), id)
		}
		assert.True(t, containsPrefix(s.Messages, "Quiescing timed out in step 0 after 1s: returned 1 busy nodes to service"), "%v", s.Messages)

		// A finished session is removed on DELETE, touching nothing.
		_, err = client.Delete(ctx, s.UpgradeID)
		require.NoError(t, err)
		w.eventually(10*time.Second, "removal", func() (bool, string) {
			_, err := client.Get(ctx, s.UpgradeID)
			return err != nil && strings.Contains(err.Error(), "404"), fmt.Sprint(err)
		})
		assert.Equal(t, []string{busy}, w.members(failedLabel))
		assert.Equal(t, "ALLOCATED", w.slurmNode(busy).State.String())
	})
}

// DELETE while a step waits for a job: the step's nodes are handed back (not failed),
// the other steps are never touched, and the session disappears.
func TestDeleteWhileQuiescing(t *testing.T) {
	bubble(t, func(t *testing.T) {
		w := startWorld(t, 4)
		ctx := ctxFor(t, 60*time.Second)
		_, err := w.slurm.Submit(ctx, slurmapi.JobDesc{Nodes: 1, Duration: time.Hour})
		require.NoError(t, err)
		w.eventually(5*time.Second, "job start", func() (bool, string) {
			return w.slurmNode(w.computes[0]).State.Base == slurmapi.StateAllocated, ""
		})
		_, client, _ := w.crusServer(newStore(t), fastTiming())
		s := w.create(client, 2)
		w.eventually(10*time.Second, "draining", func() (bool, string) {
			n := w.slurmNode(w.computes[0])
			return n.State.String() == "ALLOCATED+DRAIN", n.State.String()
		})
		del, err := client.Delete(ctx, s.UpgradeID)
		require.NoError(t, err)
		assert.Equal(t, crus.StateDeleting, del.State)
		w.eventually(10*time.Second, "removal", func() (bool, string) {
			_, err := client.Get(ctx, s.UpgradeID)
			return err != nil && strings.Contains(err.Error(), "404"), fmt.Sprint(err)
		})
		assert.Equal(t, "ALLOCATED", w.slurmNode(w.computes[0]).State.String())
		assert.Equal(t, "IDLE", w.slurmNode(w.computes[1]).State.String())
		assert.Empty(t, w.members(failedLabel))
		assert.Empty(t, w.members(upLabel))
		for _, id := range w.computes {
			assert.False(t, w.onNextImage(id), id)
		}
	})
}

// refusingBOS answers the first refusals session creates with BOS's overlap refusal.
type refusingBOS struct {
	crus.BOS
	refusals atomic.Int32
}

func (b *refusingBOS) CreateSession(ctx context.Context, sc bos.SessionCreate) (bos.Session, error) {
	if b.refusals.Add(-1) >= 0 {
		return bos.Session{}, &problem.Details{Status: http.StatusConflict, Title: bos.ConflictTitle,
			Detail: "node x1000c0s0b0n0 is held by session other"}
	}
	return b.BOS.CreateSession(ctx, sc)
}

// A BOS refusal (the step's nodes held by another session) is an error CRUS reports and
// retries with backoff, not a session it thinks it made; once BOS accepts, it goes on.
func TestBOSRefusalIsRetried(t *testing.T) {
	bubble(t, func(t *testing.T) {
		w := startWorld(t, 2)
		b := &refusingBOS{BOS: bosapi.NewClient(w.st.URLs.BOS, w.st.HTTPClient())}
		b.refusals.Store(3)
		timing := fastTiming()
		timing.MaxBackoff = 400 * time.Millisecond
		_, client, _ := w.crusServerWith(newStore(t), timing, b)
		s := w.waitCompleted(client, w.create(client, 2).UpgradeID, 30*time.Second)
		assert.Equal(t, crus.StateReady, s.State)
		assert.Equal(t, int32(-1), b.refusals.Load(), "three refusals, then the create that worked")
		assert.Equal(t, 1, count(s.Messages, "Processing step 0 in stage BOOTING failed - create_bos_session: 409 Nodes are held by another session: node x1000c0s0b0n0 is held by session other"),
			"the error is reported once: %v", s.Messages)
		for _, id := range w.computes {
			assert.True(t, w.onNextImage(id), id)
		}
		assert.Empty(t, w.members(failedLabel))
	})
}

func contains(list []string, s string) bool { return count(list, s) > 0 }

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

func containsPrefix(list []string, p string) bool {
	for _, x := range list {
		if strings.HasPrefix(x, p) {
			return true
		}
	}
	return false
}

func (w *world) bootCount(id string) int {
	n, ok := w.st.Sim.Node(id)
	require.True(w.t, ok, id)
	return n.BootCount
}

// panickingBOS panics on the first session creates (a bug in a port).
type panickingBOS struct {
	crus.BOS
	panics atomic.Int32
}

func (b *panickingBOS) CreateSession(ctx context.Context, sc bos.SessionCreate) (bos.Session, error) {
	if b.panics.Add(-1) >= 0 {
		panic("bos client bug")
	}
	return b.BOS.CreateSession(ctx, sc)
}

// A panic in a session's step is contained: reported as the step's error, retried with
// the session's backoff, and the controller (and process) goes on to finish the upgrade.
func TestPanicInStepIsRetried(t *testing.T) {
	bubble(t, func(t *testing.T) {
		w := startWorld(t, 2)
		b := &panickingBOS{BOS: bosapi.NewClient(w.st.URLs.BOS, w.st.HTTPClient())}
		b.panics.Store(2)
		_, client, _ := w.crusServerWith(newStore(t), fastTiming(), b)
		s := w.waitCompleted(client, w.create(client, 2).UpgradeID, 30*time.Second)
		assert.Equal(t, crus.StateReady, s.State)
		assert.Equal(t, int32(-1), b.panics.Load(), "two panics, then the create that worked")
		assert.Equal(t, 1, count(s.Messages, "Processing step 0 in stage BOOTING failed - panic: bos client bug"), "%v", s.Messages)
	})
}
