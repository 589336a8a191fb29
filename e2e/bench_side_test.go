package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/api/slurmapi/hostlist"
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
// Each prints total_s, ideal_s, ratio and cpu_ms/node (this process: the whole stack).
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
				start, cpu := time.Now(), cpuTime()
				r := c.createRollout("bench", bos.RolloutPolicy{MaxUnavailable: bos.Amount{N: m}, FailureBudget: bos.Amount{N: 5},
					NodeTimeoutSeconds: 60, SteerJobs: steer})
				r = c.waitRollout(r.Name, 600*time.Second, func(r bos.Rollout) bool { return r.Final() })
				require.Equal(b, bos.RolloutComplete, r.State, r.Reason)
				cpu = cpuTime() - cpu
				names := make([]string, 0, n)
				for _, node := range r.Nodes {
					names = append(names, node.Name)
				}
				mr, err := measureRolling(c.histories(), names, start)
				require.NoError(b, err)
				reportRow(b, mr.Actual, idealLimitedTime(start, mr.Free, mr.Reboot, m))
				b.ReportMetric(float64(cpu.Microseconds())/1000/float64(n), "cpu_ms/node")
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
			start := time.Now()
			free := freeAt(b, c.slurm.Jobs(), c.computes, c.names, start)
			s, took := c.upgrade(m, crusNextTmpl, 10*time.Minute)
			require.Equal(b, "Upgrade Session Completed", s.Messages[len(s.Messages)-1])
			reportRow(b, took, idealLimitedTime(start, free, reboot, m))
		}
	})
	b.Run("staged", func(b *testing.B) {
		for range b.N {
			c := startRollingCluster(b, n)
			c.startWorkload(0.7)
			staged := c.stage()
			start := c.rebootAll()
			c.waitComplete(staged, 90*time.Second)
			c.waitSlurm(30*time.Second, "every node's reboot complete", func(nodes []slurmapi.Node) bool {
				for _, node := range nodes {
					if node.State.Flags&(slurmapi.FlagRebootRequested|slurmapi.FlagRebootIssued) != 0 || node.State.Base == slurmapi.StateDown {
						return false
					}
				}
				return true
			})
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
