package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/orchestrator"
)

// A record replaced changes the index sets it always did (indexKeys' lists compared), in
// the same order, naming only those of the fields that changed.
func TestQueueIndexChangesAsKeyLists(t *testing.T) {
	s := &Store{prefix: "p:"}
	r := rand.New(rand.NewPCG(7, 8))
	pick := func(vals ...string) string { return vals[r.IntN(len(vals))] }
	random := func() *orchestrator.Component {
		c := &orchestrator.Component{ID: "x1", Enabled: r.IntN(2) == 0, Session: pick("", "s1", "s2"), Error: pick("", "e1", "e2"),
			Status:     orchestrator.ComponentStatus{Phase: pick(orchestrator.Phases...), StatusOverride: pick("", "", "on_hold")},
			LastAction: orchestrator.LastAction{Action: pick("", orchestrator.ActionPoweringOn, orchestrator.ActionPoweringOffGracefully), Failed: r.IntN(2) == 0}}
		c.StagedState.Session = pick("", "s1", "s3")
		return c
	}
	for i := range 5000 {
		old, cur := random(), random()
		if r.IntN(2) == 0 {
			*cur = *old
			cur.Status.Phase = pick(orchestrator.Phases...)
		}
		var want, got recordedCmds
		oldKeys, newKeys := s.indexKeys(old), s.indexKeys(cur)
		for _, k := range oldKeys {
			if !slices.Contains(newKeys, k) {
				want.add("SREM", k, "x1")
			}
		}
		for _, k := range newKeys {
			if !slices.Contains(oldKeys, k) {
				want.add("SADD", k, "x1")
			}
		}
		s.queueIndexes(&got, "x1", old, cur)
		require.Equal(t, want, got, "case %d: %+v -> %+v", i, old, cur)
	}
}

type recordedCmds []string

func (r *recordedCmds) add(name, key string, args ...any) {
	*r = append(*r, fmt.Sprint(name, " ", key, " ", args))
}
func (r *recordedCmds) incr(key, field string, n int64) {
	*r = append(*r, fmt.Sprint("HINCRBY ", key, field, n))
}

// A write of several records sends them in one MSET and each index set's changes in one
// SREM and one SADD (phase and status here), the SREMs first; a write of one record sends
// what it always did.
func TestQueueWritesBatchesRecordsAndIndexSets(t *testing.T) {
	s := &Store{prefix: "p:", historyMax: 10}
	var todo []*pending
	for i := range 3 {
		old := &orchestrator.Component{ID: fmt.Sprintf("x%d", i), Enabled: true, Session: "s1",
			Status: orchestrator.ComponentStatus{Phase: orchestrator.PhasePoweringOn}}
		cur := old.Clone()
		cur.Status.Phase = orchestrator.PhaseConfiguring
		todo = append(todo, &pending{raw: []byte("r" + old.ID), old: old, cur: &cur, history: []byte("h")})
	}
	var got recordedCmds
	s.queueWrites(&got, todo)
	names := map[string]int{}
	for _, c := range got {
		names[c[:strings.IndexByte(c, ' ')]]++
	}
	require.Equal(t, map[string]int{"RPUSH": 3, "LTRIM": 3, "MSET": 1, "SREM": 2, "SADD": 2, "HINCRBY": 2}, names, "%q", got)
	require.Contains(t, got, fmt.Sprint("MSET p:component:x0 ", []any{[]byte("rx0"), "p:component:x1", []byte("rx1"), "p:component:x2", []byte("rx2")}))
	require.Contains(t, got, fmt.Sprint("SREM p:index:phase:powering_on ", []any{"x0", "x1", "x2"}))
	require.Contains(t, got, fmt.Sprint("SADD p:index:phase:configuring ", []any{"x0", "x1", "x2"}))
	require.Less(t, slices.IndexFunc(got, func(c string) bool { return strings.HasPrefix(c, "SREM") }),
		slices.IndexFunc(got, func(c string) bool { return strings.HasPrefix(c, "SADD") }))

	var one, want recordedCmds
	s.queueWrites(&one, todo[:1])
	want.add("SET", "p:component:x0", []byte("rx0"))
	s.queueIndexes(&want, "x0", todo[0].old, todo[0].cur)
	s.pushHistory(&want, "x0", todo[0].history)
	require.Equal(t, want, one[:len(want)])
}
