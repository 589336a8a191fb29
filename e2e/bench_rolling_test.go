package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkRollingReboot: the staged rolling reboot of 1,000 nodes, 70% busy with jobs of
// 1-4 s, reboots of about 2 s (rollingTiming), against the ideal schedule where each node
// reboots the moment its last job ends (idealRollingTime, with the run's median reboot).
// Prints total_s (scontrol reboot → last node back in service in Slurm), ideal_s, ratio,
// reboot_s (median reboot), session_s (→ the staged session complete) and the number of
// RebootProgram calls.
func BenchmarkRollingReboot(b *testing.B) {
	const n = 1000
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		c := startRollingCluster(b, n)
		c.startWorkload(0.7)
		staged := c.stage()
		before := c.slurm.Stats()
		b.StartTimer()

		start := c.rebootAll()
		c.waitSessionProgress(staged, stallBound)
		session := time.Since(start)
		c.waitRebootsDone()
		b.StopTimer()

		names := make([]string, 0, n)
		for _, x := range c.computes {
			names = append(names, c.names[x])
		}
		r, err := measureRolling(c.histories(), names, start)
		require.NoError(b, err)
		b.ReportMetric(r.Actual.Seconds(), "total_s")
		b.ReportMetric(r.Ideal.Seconds(), "ideal_s")
		b.ReportMetric(r.Ratio(), "ratio")
		b.ReportMetric(r.Reboot.Seconds(), "reboot_s")
		b.ReportMetric(session.Seconds(), "session_s")
		b.ReportMetric(float64(c.slurm.Stats().RebootProgramCalls-before.RebootProgramCalls), "batches")
		b.StartTimer()
	}
}
