package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/api/slurmapi/hostlist"
	"github.com/cray-bos/bos/ims"
	"github.com/cray-bos/bos/internal/stack"
	bos "github.com/cray-bos/bos/orchestrator"
)

// crusPrevTmpl boots the seeded image without CFS, so the benchmark can upgrade back and
// forth with templates that cost the same.
const crusPrevTmpl = "compute-prev"

// BenchmarkCRUSRollingUpgrade times a CRUS upgrade of 1,000 nodes (200 with -short) at
// 70% load in steps of 50 against the ideal schedule: every node drained at once and
// rebooted as soon as the job it runs when the upgrade starts ends, i.e. the latest end
// of a running job plus one reboot. The reboot is measured first: a BOS reboot of one
// step's worth of idle nodes, until BOS is done with them. Figures per upgrade:
// total_s, ideal_s, ratio (total / ideal), s/step.
//
//	go test ./e2e/ -run '^$' -bench CRUSRollingUpgrade -benchtime 1x
func BenchmarkCRUSRollingUpgrade(b *testing.B) {
	n := size(1000)
	const step = 50
	c := startCRUSCluster(b, n)
	reboot := c.measurePrevReboot(step)
	c.startWorkload(0.7)

	var total, ideal time.Duration
	steps := (n + step - 1) / step
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tmpl := crusNextTmpl
		if i%2 == 1 {
			tmpl = crusPrevTmpl
		}
		lastJobEnd := latestRunningJobEnd(c.slurm.Jobs(), time.Now())
		s, took := c.upgrade(step, tmpl)
		require.Equal(b, "Upgrade Session Completed", s.Messages[len(s.Messages)-1])
		require.NotContains(b, strings.Join(s.Messages, "\n"), "marking", "a clean run: no node failed")
		total += took
		ideal += lastJobEnd + reboot
	}
	b.StopTimer()
	b.ReportMetric(total.Seconds()/float64(b.N), "total_s")
	b.ReportMetric(ideal.Seconds()/float64(b.N), "ideal_s")
	b.ReportMetric(total.Seconds()/ideal.Seconds(), "ratio")
	b.ReportMetric(total.Seconds()/float64(b.N*steps), "s/step")
	b.ReportMetric(reboot.Seconds(), "reboot_s")
}

// latestRunningJobEnd is how long after now the last running job ends (0 when none runs).
func latestRunningJobEnd(jobs []slurmapi.Job, now time.Time) time.Duration {
	var last time.Duration
	for _, j := range jobs {
		if j.State != slurmapi.JobRunning || j.Duration <= 0 {
			continue
		}
		last = max(last, j.StartTime.Add(j.Duration).Sub(now))
	}
	return last
}

// measureReboot reboots idle nodes through BOS with template and returns how long BOS
// took to be done with all of them (each in the session and no longer enabled). Slurm saw
// them reboot unexpectedly; they are resumed afterwards.
// measurePrevReboot puts crusPrevTmpl (the seeded image) and measures a reboot of the
// first step nodes onto it.
func (c *crusCluster) measurePrevReboot(step int) time.Duration {
	c.t.Helper()
	path, err := c.st.ImagePath(ims.ImageCompute)
	require.NoError(c.t, err)
	_, err = c.st.BOSClient.PutTemplate(c.ctx(), crusPrevTmpl, stack.DefaultTemplate(path, ""))
	require.NoError(c.t, err)
	return c.measureReboot(c.computes[:step], crusPrevTmpl)
}

func (c *crusCluster) measureReboot(nodes []string, template string) time.Duration {
	c.t.Helper()
	start := time.Now()
	name := c.session(bos.OpReboot, template, strings.Join(nodes, ","), false)
	var took time.Duration
	waitProgress(c.cluster, fmt.Sprintf("reboot of %d nodes", len(nodes)), stallBound, 20*time.Millisecond, func() (bool, string) {
		comps, err := c.st.BOSClient.ListComponents(c.ctx(), bosapi.ComponentQuery{IDs: nodes})
		require.NoError(c.t, err)
		done := 0
		for _, comp := range comps {
			if comp.Session == name && !comp.Enabled {
				done++
			}
		}
		took = time.Since(start)
		return done == len(nodes), fmt.Sprintf("%d of %d done", done, len(nodes))
	}, func() string { return fmt.Sprintf("nodes by status: %v", c.countByStatus()) })
	names := make([]string, len(nodes))
	for i, id := range nodes {
		names[i] = c.names[id]
	}
	rebooted := map[string]bool{}
	for _, name := range names {
		rebooted[name] = true
	}
	c.waitSlurmNodes("rebooted nodes registered", stallBound, func(all []slurmapi.Node) int {
		n := 0
		for _, nd := range all {
			if rebooted[nd.Name] && nd.State.Has(slurmapi.FlagNotResponding) {
				n++
			}
		}
		return n
	})
	require.NoError(c.t, c.slurm.UpdateNode(slurmapi.NodeUpdate{Nodes: hostlist.Compress(names), State: "RESUME"}))
	c.waitAllIdle()
	return took
}
