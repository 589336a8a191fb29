package store_test

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// redisCounter is a go-redis hook that counts commands and round trips (a pipeline or
// a MULTI/EXEC is one round trip).
type redisCounter struct{ cmds, trips atomic.Int64 }

func (h *redisCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *redisCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.cmds.Add(1)
		h.trips.Add(1)
		return next(ctx, cmd)
	}
}

func (h *redisCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.cmds.Add(int64(len(cmds)))
		h.trips.Add(1)
		return next(ctx, cmds)
	}
}

// report adds the commands and round trips counted, and the process's CPU time since
// cpuStart, per operation.
func (h *redisCounter) report(b *testing.B, ops int, cpuStart time.Duration) {
	b.ReportMetric(float64(h.cmds.Load())/float64(ops), "cmds/op")
	b.ReportMetric(float64(h.trips.Load())/float64(ops), "trips/op")
	b.ReportMetric(float64((cpuTime()-cpuStart).Microseconds())/float64(ops), "cpu-µs/op")
}

// redisCPU is the CPU time a real Redis server has used (INFO's used_cpu_sys and
// used_cpu_user), 0 when it does not say (miniredis). On a Redis shared with other
// clients their work counts too: measure on one of your own (BOS_TEST_REDIS_URL).
func redisCPU(b *testing.B, s *store.Store) time.Duration {
	info, err := s.RedisClient().Info(b.Context(), "cpu").Result()
	if err != nil {
		return 0
	}
	var total float64
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, _ := strconv.ParseFloat(v, 64)
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}

// cpuTime is the CPU time (user and system) this process has used: with miniredis the
// server's share is in it, with a real Redis it is not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// bootingSession makes n components of session "s" in mid-boot: a mix of phases, a few
// failed and on hold, one in 50 with an error.
func bootingSession(n int) []bos.Component {
	comps := someComponents(n)
	for i := range comps {
		c := &comps[i]
		c.Session = "s"
		c.Status.Phase = bos.Phases[i%len(bos.Phases)]
		if i%50 == 7 {
			c.Error = fmt.Sprintf("error %d", i%3)
		}
		if i%33 == 1 {
			c.Status.StatusOverride = bos.StatusOnHold
		}
	}
	return comps
}

// BenchmarkSessionStats is one status poll (or completion check) of a running session
// over 10,000 nodes, with and without a tenant filter.
func BenchmarkSessionStats(b *testing.B) {
	for _, backend := range storetest.Backends {
		for _, filtered := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/within=%t", backend, filtered), func(b *testing.B) {
				s := storetest.Open(b, backend, store.Config{})
				ctx := b.Context()
				_, err := s.PutComponents(ctx, bootingSession(10000))
				require.NoError(b, err)
				var within func(string) bool
				if filtered {
					within = func(string) bool { return true }
				}
				h := &redisCounter{}
				s.AddHook(h)
				ops, cpu := 0, cpuTime()
				for b.Loop() {
					if _, err := s.SessionStats(ctx, "s", within); err != nil {
						b.Fatal(err)
					}
					ops++
				}
				h.report(b, ops, cpu)
			})
		}
	}
}

// BenchmarkNodeReport is the store's share of a node report (PATCH of actual_state) in a
// running 10,000-node session: one compare-and-set write of one component that changes
// it. It also reports a bare loopback TCP round trip as the floor of one Redis trip.
func BenchmarkNodeReport(b *testing.B) {
	for _, backend := range storetest.Backends {
		b.Run(backend, func(b *testing.B) {
			s := storetest.Open(b, backend, store.Config{})
			ctx := b.Context()
			comps := bootingSession(10000)
			_, err := s.PutComponents(ctx, comps)
			require.NoError(b, err)
			h := &redisCounter{}
			s.AddHook(h)
			ops, cpu, rcpu := 0, cpuTime(), redisCPU(b, s)
			for b.Loop() {
				id := comps[ops%len(comps)].ID
				ops++
				_, err := s.UpdateComponent(ctx, id, func(c *bos.Component) error {
					c.ActualState.BootArtifacts.Kernel = fmt.Sprintf("k%d", ops)
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			h.report(b, ops, cpu)
			if rcpu > 0 {
				b.ReportMetric(float64((redisCPU(b, s)-rcpu).Microseconds())/float64(ops), "redis-cpu-µs/op")
			}
		})
	}
	b.Run("loopback-roundtrip", benchLoopback)
}

// BenchmarkNodeReports is BenchmarkNodeReport with 64 reports at a time, as the
// simulators send them: concurrent writes share round trips (groupcommit.go). Metrics
// are per report; redis-cpu is the server's (use a Redis of your own: BOS_TEST_REDIS_URL).
func BenchmarkNodeReports(b *testing.B) {
	s := storetest.Open(b, storetest.Redis, store.Config{})
	ctx := b.Context()
	comps := bootingSession(10000)
	_, err := s.PutComponents(ctx, comps)
	require.NoError(b, err)
	h := &redisCounter{}
	s.AddHook(h)
	var next atomic.Int64
	cpu, rcpu := cpuTime(), redisCPU(b, s)
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			op := next.Add(1)
			_, err := s.UpdateComponent(ctx, comps[int(op)%len(comps)].ID, func(c *bos.Component) error {
				c.ActualState.BootArtifacts.Kernel = fmt.Sprintf("k%d", op)
				return nil
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	ops := int(next.Load())
	h.report(b, ops, cpu)
	if rcpu > 0 {
		b.ReportMetric(float64((redisCPU(b, s)-rcpu).Microseconds())/float64(ops), "redis-cpu-µs/op")
	}
}

// BenchmarkLookWrites is the store's share of the reconciler's writes: an op reads
// 10,000 records of about 1.3 KB (ReadComponents) and writes a change to each
// (UpdateEach with ReadBefore, chunks of 500); with raced=1% another process changes
// one record in 100 between the read and the write, as node reports do. Metrics are
// per node; redis-cpu is the server's (use a Redis of your own: BOS_TEST_REDIS_URL).
func BenchmarkLookWrites(b *testing.B) {
	for _, raced := range []int{0, 100} {
		b.Run(fmt.Sprintf("raced=%d%%", raced/100), func(b *testing.B) {
			stores := storetest.OpenShared(b, storetest.Redis, 2, store.Config{})
			s, other := stores[0], stores[1]
			ctx := b.Context()
			comps := bootingSession(10000)
			ids := make([]string, len(comps))
			for i := range comps {
				comps[i].DesiredState.BootArtifacts = bos.BootArtifacts{Kernel: "s3://boot-images/" + strings.Repeat("k", 100), KernelParameters: strings.Repeat("console=ttyS0,115200 ", 40), Initrd: "s3://boot-images/initrd"}
				comps[i].ActualState.BootArtifacts = comps[i].DesiredState.BootArtifacts
				ids[i] = comps[i].ID
			}
			_, err := s.PutComponents(ctx, comps)
			require.NoError(b, err)
			h := &redisCounter{}
			s.AddHook(h)
			ops, cpu, rcpu := 0, cpuTime(), redisCPU(b, s)
			for b.Loop() {
				ops++
				read, err := s.ReadComponents(ctx, ids)
				require.NoError(b, err)
				reads := make(map[string]store.Read, len(read))
				for _, r := range read {
					reads[r.ID] = r
				}
				for i := 0; raced > 0 && i < len(ids); i += raced {
					_, err := other.UpdateComponent(ctx, ids[i], func(c *bos.Component) error { c.EventStats.PowerOffGracefulAttempts = ops; return nil })
					require.NoError(b, err)
				}
				_, err = store.UpdateEach(ctx, s, ids, func(c *bos.Component) (bool, error) {
					c.EventStats.PowerOnAttempts = ops
					return true, nil
				}, store.ReadBefore(reads))
				require.NoError(b, err)
			}
			n := ops * len(ids)
			h.report(b, n, cpu)
			if rcpu > 0 {
				b.ReportMetric(float64((redisCPU(b, s)-rcpu).Microseconds())/float64(n), "redis-cpu-µs/op")
			}
		})
	}
}

// benchLoopback is one small request and answer over a loopback TCP connection.
func benchLoopback(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 64)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(b, err)
	defer c.Close()
	buf := []byte("PING\r\n")
	for b.Loop() {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Read(buf); err != nil {
			b.Fatal(err)
		}
	}
}
