package e2e

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/api/slurmapi/hostlist"
	"github.com/cray-bos/bos/internal/benchfloor"
	bos "github.com/cray-bos/bos/orchestrator"
)

// BenchmarkRollingSideBySide: the three ways to roll 1,000 nodes (200 with -short) 70%
// busy onto a new image, one sub-benchmark (row) each, every row's total against its
// ideal:
//   - rollout: a rollout with max unavailable m = 10%, no canary and steer_jobs, against
//     the ideal under the same limit (idealLimitedTime, with the run's median reboot);
//   - rollout-unsteered: the same without steer_jobs;
//   - crus: CRUS in steps of m on the same nodes and jobs, against the same ideal (each
//     node free when the jobs it ran at the start end, by their end times; the reboot a
//     BOS reboot of m idle nodes);
//   - staged: the unconstrained staged path (scontrol reboot ASAP ALL), against the
//     ideal without a limit (idealRollingTime).
//
// Each prints total_s, ideal_s, ratio, cpu_ms/node (this process: the whole stack, from
// the start of the roll to its end) and cpu_x_floor: that CPU over the CPU floor of a boot
// of the same nodes (internal/benchfloor, measured right before the row), and logs the
// load average at the row's start and end.
//
//	go test ./e2e/ -run '^$' -bench RollingSideBySide -benchtime 1x
func BenchmarkRollingSideBySide(b *testing.B) {
	n := size(1000)
	m := n / 10
	rollout := func(steer bool) func(b *testing.B) {
		return func(b *testing.B) {
			for range b.N {
				c := startRollingCluster(b, n)
				c.startWorkload(0.7)
				row := startRow(b)
				start := time.Now()
				r := c.createRollout("bench", bos.RolloutPolicy{MaxUnavailable: bos.Amount{N: m}, FailureBudget: bos.Amount{N: 5},
					NodeTimeoutSeconds: 60, SteerJobs: &steer})
				r = c.waitRollout(r.Name, func(r bos.Rollout) bool { return r.Final() })
				require.Equal(b, bos.RolloutComplete, r.State, r.Reason)
				row.end(n)
				names := make([]string, 0, n)
				for _, node := range r.Nodes {
					names = append(names, node.Name)
				}
				mr, err := measureRolling(c.histories(), names, start)
				require.NoError(b, err)
				reportRow(b, mr.Actual, idealLimitedTime(start, mr.Free, mr.Reboot, m))
			}
		}
	}
	b.Run("rollout", rollout(true))
	b.Run("rollout-unsteered", rollout(false))
	b.Run("crus", func(b *testing.B) {
		for range b.N {
			c := startCRUSClusterTimed(b, n, rollingTiming(), time.Second, 4*time.Second) // the rolling runs' nodes and jobs
			reboot := c.measurePrevReboot(m)
			c.startWorkload(0.7)
			row := startRow(b)
			start := time.Now()
			free := freeAt(b, c.slurm.Jobs(), c.computes, c.names, start)
			s, took := c.upgrade(m, crusNextTmpl)
			row.end(n)
			require.Equal(b, "Upgrade Session Completed", s.Messages[len(s.Messages)-1])
			reportRow(b, took, idealLimitedTime(start, free, reboot, m))
		}
	})
	b.Run("staged", func(b *testing.B) {
		for range b.N {
			c := startRollingCluster(b, n)
			c.startWorkload(0.7)
			staged := c.stage()
			row := startRow(b)
			start := c.rebootAll()
			c.waitSessionProgress(staged, stallBound)
			c.waitRebootsDone()
			row.end(n)
			names := make([]string, 0, n)
			for _, x := range c.computes {
				names = append(names, c.names[x])
			}
			mr, err := measureRolling(c.histories(), names, start)
			require.NoError(b, err)
			reportRow(b, mr.Actual, mr.Ideal)
		}
	})
}

// rowCost is one row's CPU, against the loopback floor measured right before it.
type rowCost struct {
	b     *testing.B
	floor benchfloor.Floor
	cpu   time.Duration
	load  string
}

// startRow measures the floor (about a second), then starts the row's CPU count.
func startRow(b *testing.B) *rowCost {
	floor, err := benchfloor.Measure(context.Background(), time.Second, 2000)
	require.NoError(b, err)
	return &rowCost{b: b, floor: floor, cpu: cpuTime(), load: loadAverage()}
}

// end reports the row's CPU per node and its ratio to the floor's boot CPU of n nodes,
// and logs the floor and the load average at the start and now.
func (r *rowCost) end(n int) {
	cpu := cpuTime() - r.cpu
	r.b.ReportMetric(float64(cpu.Microseconds())/1000/float64(n), "cpu_ms/node")
	r.b.ReportMetric(float64(cpu)/float64(max(1, r.floor.BootCPU(n))), "cpu_x_floor")
	r.b.Logf("floor: %s; load average: %s at the start, %s at the end", r.floor, r.load, loadAverage())
}

// loadAverage is the machine's 1-, 5- and 15-minute load averages (Linux), or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

// reportRow reports one row: total_s, ideal_s, ratio.
func reportRow(b *testing.B, total, ideal time.Duration) {
	b.ReportMetric(total.Seconds(), "total_s")
	b.ReportMetric(ideal.Seconds(), "ideal_s")
	b.ReportMetric(total.Seconds()/ideal.Seconds(), "ratio")
}

// freeAt is when each compute node is free of the jobs running at start, by when they
// end (the simulator knows their durations; start for an idle node).
func freeAt(b *testing.B, jobs []slurmapi.Job, computes []string, names map[string]string, start time.Time) []time.Time {
	end := map[string]time.Time{}
	for _, j := range jobs {
		if j.State != slurmapi.JobRunning {
			continue
		}
		nodes, err := hostlist.Expand(j.Nodes)
		require.NoError(b, err)
		ends := j.EndTime // the time limit
		if j.Duration > 0 && (j.TimeLimit == 0 || j.Duration < j.TimeLimit) {
			ends = j.StartTime.Add(j.Duration)
		}
		for _, name := range nodes {
			end[name] = latestOf(end[name], ends)
		}
	}
	free := make([]time.Time, len(computes))
	for i, x := range computes {
		free[i] = latestOf(start, end[names[x]])
	}
	return free
}
