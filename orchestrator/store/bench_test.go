package store_test

import (
	"context"
	"fmt"
	"net"
	"sync"
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
type redisCounter struct {
	cmds, trips atomic.Int64
	names       sync.Map // the names of the commands sent (lower case), once counted
}

func (h *redisCounter) note(cmd redis.Cmder) { h.names.Store(cmd.Name(), true) }

func (h *redisCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *redisCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.cmds.Add(1)
		h.trips.Add(1)
		h.note(cmd)
		return next(ctx, cmd)
	}
}

func (h *redisCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.cmds.Add(int64(len(cmds)))
		h.trips.Add(1)
		for _, c := range cmds {
			h.note(c)
		}
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
			ops, cpu := 0, cpuTime()
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
		})
	}
	b.Run("loopback-roundtrip", benchLoopback)
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
