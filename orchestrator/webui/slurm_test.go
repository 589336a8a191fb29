package webui

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/orchestrator"
)

// fakeSlurm answers from its nodes and jobs and counts the reads.
type fakeSlurm struct {
	mu    sync.Mutex
	nodes []slurmapi.Node
	jobs  []slurmapi.Job
	err   error
	reads int
}

func (f *fakeSlurm) Nodes(context.Context) ([]slurmapi.Node, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return append([]slurmapi.Node(nil), f.nodes...), f.err
}

func (f *fakeSlurm) Jobs(context.Context) ([]slurmapi.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]slurmapi.Job(nil), f.jobs...), nil
}

func (f *fakeSlurm) set(t *testing.T, name, state string) {
	t.Helper()
	st, err := slurmapi.ParseNodeState(strings.Split(state, "+"))
	require.NoError(t, err)
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.nodes {
		if f.nodes[i].Name == name {
			f.nodes[i].State = st
			return
		}
	}
	f.nodes = append(f.nodes, slurmapi.Node{Name: name, State: st})
}

func (f *fakeSlurm) readCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

// rollingCluster: four nodes of a staged session "roll": n0 staged, Slurm drains it
// (nid000001, job 7 on it); n1 applied and stable, Slurm IDLE under its xname; n2
// staged, unknown to Slurm; n3 in no staged session.
func rollingCluster(t *testing.T) (*View, *fakeSlurm) {
	t.Helper()
	slurm := &fakeSlurm{jobs: []slurmapi.Job{
		{ID: 7, State: slurmapi.JobRunning, Nodes: "nid[000001,000009]"},
		{ID: 8, State: slurmapi.JobPending},
	}}
	slurm.set(t, "nid000001", "ALLOCATED+DRAIN+REBOOT_REQUESTED")
	slurm.set(t, "x1000c0s0b0n1", "IDLE")
	slurm.set(t, "nid000042", "IDLE") // no such NID in HSM: left out
	v, st := newView(t, Config{Slurm: slurm, NIDs: func(context.Context) (map[int]string, error) {
		return map[int]string{1: "x1000c0s0b0n0", 2: "x1000c0s0b0n1"}, nil
	}})
	comps := nodes(4)
	comps[0].StagedState.Session = "roll"
	comps[1].Session = "roll"
	comps[2].StagedState.Session = "roll"
	_, err := st.PutComponents(t.Context(), comps)
	require.NoError(t, err)
	require.NoError(t, st.CreateSession(t.Context(), orchestrator.Session{Name: "roll", Operation: "reboot", TemplateName: "t", Stage: true,
		Status: orchestrator.SessionStatus{Status: "running", StartTime: time.Now().UTC()}}))
	return v, slurm
}

func rollingOf(t *testing.T, body []byte) map[string]string {
	t.Helper()
	var snap Snapshot
	require.NoError(t, json.Unmarshal(body, &snap))
	require.Len(t, snap.Rolling, len(snap.IDs))
	out := map[string]string{}
	for i, id := range snap.IDs {
		out[id] = snap.RollingStates[snap.Rolling[i]]
	}
	return out
}

// TestSnapshotRolling: each node's rolling state from its record and Slurm's state, Slurm's
// nid names mapped to xnames through the NIDs.
func TestSnapshotRolling(t *testing.T) {
	v, _ := rollingCluster(t)
	rec := get(t, v, Path+"api/snapshot")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, map[string]string{
		"x1000c0s0b0n0": "draining",
		"x1000c0s0b0n1": "back_in_service",
		"x1000c0s1b0n0": "staged",
		"x1000c0s1b0n1": "",
	}, rollingOf(t, rec.Body.Bytes()))
}

// TestDetailShowsSlurm: the detail panel has the node's Slurm name, state, reason, jobs
// and rolling state; a node Slurm does not know has an empty Slurm name; without Slurm
// the Slurm part is null.
func TestDetailShowsSlurm(t *testing.T) {
	v, slurm := rollingCluster(t)
	slurm.mu.Lock()
	slurm.nodes[0].Reason = "Rolling Reboot"
	slurm.mu.Unlock()
	var d struct {
		Rolling string       `json:"rolling"`
		Slurm   *slurmDetail `json:"slurm"`
	}
	rec := get(t, v, Path+"api/components/x1000c0s0b0n0")
	require.Equal(t, http.StatusOK, rec.Code)
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &d))
	assert.Equal(t, "draining", d.Rolling)
	assert.Equal(t, &slurmDetail{Name: "nid000001", State: []string{"ALLOCATED", "DRAIN", "REBOOT_REQUESTED"},
		Sinfo: "DRAINING@", Reason: "Rolling Reboot", Jobs: []int{7}}, d.Slurm)

	rec = get(t, v, Path+"api/components/x1000c0s1b0n0")
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &d))
	assert.Equal(t, "staged", d.Rolling)
	assert.Equal(t, &slurmDetail{State: []string{}, Jobs: []int{}}, d.Slurm, "unknown to Slurm")

	plain, st := newView(t, Config{})
	_, err := st.PutComponents(t.Context(), nodes(1))
	require.NoError(t, err)
	rec = get(t, plain, Path+"api/components/x1000c0s0b0n0")
	assert.Contains(t, rec.Body.String(), `"slurm":null`)
}

// TestSlurmReadAtMostEveryRefresh: however many snapshots and clicks, Slurm is read once
// per RefreshEvery; a failed read keeps the last states and shows its error.
func TestSlurmReadAtMostEveryRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v, slurm := rollingCluster(t)
		for range 20 {
			require.Equal(t, http.StatusOK, get(t, v, Path+"api/snapshot").Code)
			require.Equal(t, http.StatusOK, get(t, v, Path+"api/components/x1000c0s0b0n0").Code)
		}
		assert.Equal(t, 1, slurm.readCount())
		time.Sleep(RefreshEvery)
		slurm.mu.Lock()
		slurm.err = errors.New("slurmrestd: connection refused")
		slurm.mu.Unlock()
		rec := get(t, v, Path+"api/components/x1000c0s0b0n0")
		assert.Equal(t, 2, slurm.readCount())
		assert.Contains(t, rec.Body.String(), `"error":"slurmrestd: connection refused"`)
		assert.Contains(t, rec.Body.String(), `"name":"nid000001"`, "the last states kept")
		assert.Equal(t, "draining", rollingOf(t, get(t, v, Path+"api/snapshot").Body.Bytes())["x1000c0s0b0n0"])
	})
}

// TestSlurmChangesReachTheStream: a node's Slurm state changing, with no write to its BOS
// record, reaches an open stream as a change of its rolling state within a refresh and a
// tick; Slurm is read once per refresh, not once per stream.
func TestSlurmChangesReachTheStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v, slurm := rollingCluster(t)
		events, _ := openStream(t, v)
		events2, _ := openStream(t, v)
		synctest.Wait()
		require.Len(t, pending(events), 1)
		require.Len(t, pending(events2), 1)
		reads := slurm.readCount()

		slurm.set(t, "nid000001", "DOWN+DRAIN+REBOOT_ISSUED")
		time.Sleep(RefreshEvery + Tick)
		synctest.Wait()
		for _, evs := range [][]event{pending(events), pending(events2)} {
			require.Len(t, evs, 1)
			var ch Changes
			require.NoError(t, json.Unmarshal(evs[0].data, &ch))
			assert.Equal(t, []string{"x1000c0s0b0n0"}, ch.IDs, "only the node Slurm changed")
			assert.Equal(t, []uint8{uint8(RollingRebooting)}, ch.Rolling)
		}
		assert.Equal(t, reads+1, slurm.readCount(), "one read for both streams")

		time.Sleep(5 * RefreshEvery)
		synctest.Wait()
		assert.Empty(t, pending(events), "no message while Slurm does not change")
	})
}

// TestEveryReadTellsChanges: whichever request reads Slurm (here a click, between two
// reads of the streams' follower) tells the streams what changed; a click that read the
// change and kept it to itself left the map stale until the node changed again.
func TestEveryReadTellsChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v, slurm := rollingCluster(t)
		var told [][]string
		v.in.changed = func(ids []string) { told = append(told, ids) }
		require.Equal(t, http.StatusOK, get(t, v, Path+"api/snapshot").Code)
		assert.Empty(t, told, "the first read: nothing was shown before it")
		slurm.set(t, "nid000001", "DOWN+DRAIN+REBOOT_ISSUED")
		time.Sleep(RefreshEvery)
		require.Equal(t, http.StatusOK, get(t, v, Path+"api/components/x1000c0s1b0n1").Code)
		require.Len(t, told, 1)
		assert.Equal(t, []string{"x1000c0s0b0n0"}, told[0])
	})
}

// TestNoStagedSessionNoSlurmFollow: without a staged session an open stream does not read
// Slurm after its snapshot (every rolling state is none whatever Slurm says); a click
// still reads it for the panel; once a staged session exists the stream follows Slurm.
func TestNoStagedSessionNoSlurmFollow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slurm := &fakeSlurm{}
		slurm.set(t, "x1000c0s0b0n0", "IDLE")
		v, st := newView(t, Config{Slurm: slurm})
		comps := nodes(1)
		comps[0].StagedState.Session = "roll"
		_, err := st.PutComponents(t.Context(), comps)
		require.NoError(t, err)
		events, _ := openStream(t, v)
		synctest.Wait()
		require.Len(t, pending(events), 1)
		assert.Equal(t, 1, slurm.readCount(), "the snapshot's read")
		time.Sleep(10 * RefreshEvery)
		synctest.Wait()
		assert.Equal(t, 1, slurm.readCount(), "no staged session: no follow")
		assert.Contains(t, get(t, v, Path+"api/components/x1000c0s0b0n0").Body.String(), `"sinfo":"IDLE"`)
		assert.Equal(t, 2, slurm.readCount(), "a click reads")

		require.NoError(t, st.CreateSession(t.Context(), orchestrator.Session{Name: "roll", Operation: "reboot", TemplateName: "t", Stage: true,
			Status: orchestrator.SessionStatus{Status: "running", StartTime: time.Now().UTC()}}))
		slurm.set(t, "x1000c0s0b0n0", "ALLOCATED+DRAIN+REBOOT_REQUESTED")
		time.Sleep(2*RefreshEvery + Tick)
		synctest.Wait()
		got := pending(events)
		require.NotEmpty(t, got)
		var ch Changes
		require.NoError(t, json.Unmarshal(got[len(got)-1].data, &ch))
		assert.Equal(t, []uint8{uint8(RollingDraining)}, ch.Rolling)
	})
}
