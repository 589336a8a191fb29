package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/sessions"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// countHook counts the Redis commands a store sends and the round trips they take (one
// per command outside a pipeline, one per pipeline or MULTI/EXEC block).
type countHook struct{ cmds, trips atomic.Int64 }

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.cmds.Add(1)
		h.trips.Add(1)
		return next(ctx, cmd)
	}
}
func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.cmds.Add(int64(len(cmds)))
		h.trips.Add(1)
		return next(ctx, cmds)
	}
}

// BenchmarkHistoryBoot replays, on n components, the store writes of one v2 boot as the
// reconciler makes them (TestHistoryOfABoot in orchestrator/reconciler shows the same
// sequence): discovery, session setup, the power-on decision, the BSS token, the call
// confirmed, each node's own report, configuring, the CFS note, done. history=off
// (HistoryLimit -1) is the floor. Reported per node: Redis commands and round trips, the
// process's CPU time, the bytes of history entries stored (and of the records, for
// scale), and on a real Redis the MEMORY USAGE of the history lists.
//
//	go test -run '^$' -bench HistoryBoot -benchtime 1x ./orchestrator/store/
func BenchmarkHistoryBoot(b *testing.B) {
	const n = 10000
	for _, backend := range storetest.Backends {
		for _, limit := range []int{-1, store.DefaultHistoryLimit} {
			name := fmt.Sprintf("%s/nodes=%d/history=%d", backend, n, max(limit, 0))
			b.Run(name, func(b *testing.B) {
				for b.Loop() {
					b.StopTimer()
					s := storetest.Open(b, backend, store.Config{HistoryLimit: limit})
					hook := &countHook{}
					s.AddHook(hook)
					ids := make([]string, n)
					for i := range ids {
						ids[i] = fmt.Sprintf("x%dc%ds%db0n%d", 1000+i/256, i/64%4, i/4%16, i%4)
					}
					cpu0 := cpuTime()
					b.StartTimer()
					start := time.Now()
					bootWrites(b, s, ids)
					wall := time.Since(start)
					b.StopTimer()
					cpu := cpuTime() - cpu0
					b.ReportMetric(float64(hook.cmds.Load())/n, "cmds/node")
					b.ReportMetric(float64(hook.trips.Load())/n, "trips/node")
					b.ReportMetric(float64(wall.Microseconds())/n, "µs/node")
					b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-µs/node")
					entries, histBytes, recBytes, memUsage := historySize(b, s, backend, ids)
					b.ReportMetric(float64(entries)/n, "entries/node")
					b.ReportMetric(float64(histBytes)/n, "hist-B/node")
					b.ReportMetric(float64(recBytes)/n, "record-B/node")
					if memUsage > 0 {
						b.ReportMetric(float64(memUsage)/n, "redis-hist-B/node")
					}
					b.StartTimer()
				}
			})
		}
	}
}

// bootWrites makes one boot's writes on ids, batched as the reconciler batches them
// (the nodes' reports one by one, as each node sends its own).
func bootWrites(b *testing.B, s *store.Store, ids []string) {
	ctx := context.Background()
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	comps := make([]bos.Component, len(ids))
	for i, id := range ids {
		comps[i] = bos.NewComponent(id, now)
	}
	_, err := s.AddComponents(ctx, comps)
	require.NoError(b, err)
	image := "s3://boot-images/26a668ea-aba8-5dca-90cb-6bf6e6d1f1f2/"
	target := sessions.Target{Configuration: "compute-config", BootArtifacts: bos.BootArtifacts{
		Kernel: image + "kernel", Initrd: image + "initrd",
		KernelParameters: "console=ttyS0,115200 bad_page=panic crashkernel=360M hugepagelist=2m-2g intel_iommu=off iommu.passthrough=on numa_interleave_omit=headless oops=panic pageblock_order=14 rd.neednet=1 rd.retry=10 rd.shell ip=nmn0:dhcp quiet root=sbps-s3:s3://boot-images/26a668ea-aba8-5dca-90cb-6bf6e6d1f1f2/rootfs bos_update_frequency=4h",
	}}
	sess := bos.Session{Name: "2453948a-cd87-4b77-b2c1-ea8b6723bcf5", Operation: bos.OpBoot}
	const token = "9e02d568-ed7d-4dbb-91a6-e36886a8ba92"
	steps := []func(c *bos.Component){
		func(c *bos.Component) { sessions.ApplySetup(c, sess, target, now) },
		func(c *bos.Component) { // Decide: power on
			c.Status.Phase = bos.PhasePoweringOn
			c.LastAction = bos.LastAction{Action: bos.ActionPoweringOn, LastUpdated: now, InFlight: "bos-7f9c"}
			c.EventStats.PowerOnAttempts = 1
		},
		func(c *bos.Component) { c.DesiredState.BSSToken = token },
		func(c *bos.Component) { c.LastAction.InFlight = "" },
	}
	for _, step := range steps {
		_, err := s.UpdateComponents(ctx, ids, func(c *bos.Component) error { step(c); return nil })
		require.NoError(b, err)
	}
	for _, id := range ids { // each node reports its boot
		_, err := s.UpdateComponent(ctx, id, func(c *bos.Component) error {
			c.ActualState = bos.ActualState{BootArtifacts: target.BootArtifacts, BSSToken: token, LastUpdated: now}
			return nil
		})
		require.NoError(b, err)
	}
	_, err = s.UpdateComponents(ctx, ids, func(c *bos.Component) error { c.Status.Phase = bos.PhaseConfiguring; return nil })
	require.NoError(b, err)
	notes := make(map[string]bos.HistoryEntry, len(ids))
	for _, id := range ids {
		notes[id] = bos.HistoryEntry{Kind: bos.HistoryCFS, To: target.Configuration, Detail: "requested", Session: sess.Name}
	}
	require.NoError(b, s.NoteHistory(ctx, notes))
	_, err = s.UpdateComponents(ctx, ids, func(c *bos.Component) error {
		c.Status.Phase, c.Enabled = bos.PhaseNone, false
		return nil
	})
	require.NoError(b, err)
}

// historySize sums what the histories of ids hold: entries, their bytes, the records'
// bytes and, on a real Redis, MEMORY USAGE of the history lists.
func historySize(b *testing.B, s *store.Store, backend string, ids []string) (entries, histBytes, recBytes, memUsage int) {
	ctx := context.Background()
	for _, id := range ids {
		raws, err := s.ComponentHistoryRaw(ctx, id)
		require.NoError(b, err)
		hist, err := s.ComponentHistory(ctx, id)
		require.NoError(b, err)
		entries += len(hist)
		for _, r := range raws {
			histBytes += len(r)
		}
	}
	recs, err := s.GetComponentsJSON(ctx, ids)
	require.NoError(b, err)
	for _, r := range recs {
		recBytes += len(r)
	}
	if backend == storetest.Redis {
		memUsage, err = s.HistoryMemoryUsage(ctx, ids)
		require.NoError(b, err)
	}
	return entries, histBytes, recBytes, memUsage
}
