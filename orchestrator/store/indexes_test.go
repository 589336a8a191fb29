package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
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
