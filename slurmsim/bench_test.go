package slurmsim

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/internal/testclock"
)

// benchEnv is a 10,000-node controller on a fake clock with a 90%-busy workload, warmed
// up for an hour of simulated time.
func benchEnv(b *testing.B, prog RebootProgram) (*Server, *testclock.Clock) {
	b.Helper()
	clk := testclock.New(t0)
	s, err := New(Config{Nodes: nodeNames(10000), RebootProgram: prog, Now: clk.Now, Epilog: 5 * time.Second,
		ResumeTimeout: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	if err := s.StartWorkload(slurmapi.WorkloadConfig{BusyShare: 0.9, MaxNodes: 64, MinDuration: time.Minute,
		MaxDuration: 30 * time.Minute, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 3600; i += 10 {
		s.Tick(clk.Advance(10 * time.Second))
	}
	return s, clk
}

// BenchmarkTick10k measures one controller pass over 10,000 busy nodes.
func BenchmarkTick10k(b *testing.B) {
	s, clk := benchEnv(b, ProgramFunc(func(context.Context, []string) error { return nil }))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Tick(clk.Advance(time.Second))
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/tick")
}

// BenchmarkGetNodes10k measures GET /slurm/v0.0.40/nodes for 10,000 nodes.
func BenchmarkGetNodes10k(b *testing.B) {
	s, _ := benchEnv(b, ProgramFunc(func(context.Context, []string) error { return nil }))
	h := s.Handler()
	b.ResetTimer()
	var size int
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", slurmapi.APIPrefix+"/nodes", nil))
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
		size = rec.Body.Len()
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/req")
	b.ReportMetric(float64(size)/1e6, "MB/resp")
}

// BenchmarkRollingReboot10k reboots all 10,000 busy nodes with `reboot ASAP` on the
// fake clock (a node boots 5 minutes after its RebootProgram call) and reports how long
// the cluster took in simulated time, what it cost in wall time, and how many batches
// the RebootProgram saw.
func BenchmarkRollingReboot10k(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		var clk *testclock.Clock
		booting := map[string]time.Time{}
		s, c := benchEnv(b, ProgramFunc(func(_ context.Context, names []string) error {
			at := clk.Now().Add(5 * time.Minute)
			for _, n := range names {
				booting[n] = at
			}
			return nil
		}))
		clk = c
		start := clk.Now()
		wall := time.Now()
		b.StartTimer()
		if err := s.Reboot(slurmapi.RebootRequest{Nodes: "ALL", ASAP: true, Reason: "rolling"}); err != nil {
			b.Fatal(err)
		}
		for s.Stats().RebootsCompleted < 10000 {
			s.Tick(clk.Advance(time.Second))
			s.WaitPrograms()
			now := clk.Now()
			for name, at := range booting {
				if !now.Before(at) {
					delete(booting, name)
					_ = s.NodeRegistered(name, at)
				}
			}
			if now.Sub(start) > 24*time.Hour {
				b.Fatal("not done after a simulated day")
			}
		}
		b.StopTimer()
		st := s.Stats()
		b.ReportMetric(clk.Now().Sub(start).Minutes(), "sim-min")
		b.ReportMetric(time.Since(wall).Seconds(), "wall-s")
		b.ReportMetric(float64(st.RebootProgramCalls), "program-calls")
		b.ReportMetric(float64(st.JobsNodeFail), "jobs-killed")
	}
}
