package slurmsim

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/slurmapi"
)

// TestRebootRequest covers reference 3.1, one row per rule: what a request does to a
// node before any reboot is issued.
func TestRebootRequest(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(e *env) // node nid000001 is the subject
		req     slurmapi.RebootRequest
		state   string
		reason  string
		next    slurmapi.NextState
		undrain bool
		compact string // sinfo %t
	}{
		{name: "plain idle: default reason, no nextstate", req: slurmapi.RebootRequest{},
			state: "IDLE+REBOOT_REQUESTED", reason: "reboot requested", compact: "boot"},
		{name: "ASAP idle: drained, nextstate RESUME, Reboot ASAP", req: slurmapi.RebootRequest{ASAP: true},
			state: "IDLE+DRAIN+REBOOT_REQUESTED", reason: "Reboot ASAP", next: slurmapi.NextResume, undrain: true, compact: "boot"},
		{name: "ASAP with reason", req: slurmapi.RebootRequest{ASAP: true, Reason: "rolling"},
			state: "IDLE+DRAIN+REBOOT_REQUESTED", reason: "rolling", next: slurmapi.NextResume, undrain: true},
		{name: "ASAP nextstate=DOWN", req: slurmapi.RebootRequest{ASAP: true, NextState: "DOWN"},
			state: "IDLE+DRAIN+REBOOT_REQUESTED", reason: "Reboot ASAP", next: slurmapi.NextDown, undrain: true},
		{name: "plain nextstate=resume does not drain", req: slurmapi.RebootRequest{NextState: "resume"},
			state: "IDLE+REBOOT_REQUESTED", reason: "reboot requested", next: slurmapi.NextResume},
		{name: "nextstate by prefix", req: slurmapi.RebootRequest{NextState: "d", Reason: "Rolling Reboot"},
			state: "IDLE+REBOOT_REQUESTED", reason: "Rolling Reboot", next: slurmapi.NextDown},
		{name: "ASAP on drained node keeps drain and reason, no UNDRAIN",
			setup: func(e *env) { e.update("nid000001", "DRAIN", "maint") },
			req:   slurmapi.RebootRequest{ASAP: true}, state: "IDLE+DRAIN+REBOOT_REQUESTED", reason: "maint", next: slurmapi.NextResume},
		{name: "reason= replaces an existing reason",
			setup: func(e *env) { e.update("nid000001", "DRAIN", "maint") },
			req:   slurmapi.RebootRequest{ASAP: true, Reason: "rolling"}, state: "IDLE+DRAIN+REBOOT_REQUESTED", reason: "rolling", next: slurmapi.NextResume},
		{name: "plain on busy node stays schedulable",
			setup: func(e *env) { e.submit(1, time.Hour) },
			req:   slurmapi.RebootRequest{}, state: "ALLOCATED+REBOOT_REQUESTED", reason: "reboot requested", compact: "alloc@"},
		{name: "ASAP on busy node drains it",
			setup: func(e *env) { e.submit(1, time.Hour) },
			req:   slurmapi.RebootRequest{ASAP: true, Reason: "rolling"}, state: "ALLOCATED+DRAIN+REBOOT_REQUESTED", reason: "rolling",
			next: slurmapi.NextResume, undrain: true, compact: "drng@"},
		{name: "second request on a pending node is a silent no-op",
			setup: func(e *env) { e.reboot(slurmapi.RebootRequest{Nodes: "nid000001", Reason: "first"}) },
			req:   slurmapi.RebootRequest{ASAP: true, Reason: "second", NextState: "DOWN"}, state: "IDLE+REBOOT_REQUESTED", reason: "first"},
		{name: "request on an issued node is a silent no-op",
			setup: func(e *env) { e.reboot(slurmapi.RebootRequest{Nodes: "nid000001"}); e.tick(time.Second) },
			req:   slurmapi.RebootRequest{ASAP: true, Reason: "again"}, state: "DOWN+REBOOT_ISSUED", reason: "reboot requested : reboot issued", compact: "boot^"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, 2)
			if tt.setup != nil {
				tt.setup(e)
			}
			tt.req.Nodes = "nid000001"
			require.NoError(t, e.s.Reboot(tt.req))
			n := e.node("nid000001")
			assert.Equal(t, tt.state, n.State.String())
			assert.Equal(t, tt.reason, n.Reason)
			assert.Equal(t, tt.next, n.NextState)
			assert.Equal(t, tt.undrain, n.Undrain)
			if tt.compact != "" {
				assert.Equal(t, tt.compact, lower(n.State.Compact()))
			}
			assert.Equal(t, "IDLE", e.state("nid000002"), "other nodes untouched")
		})
	}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func TestRebootRequestErrors(t *testing.T) {
	tests := []struct {
		name string
		req  slurmapi.RebootRequest
		code slurmapi.Code
		msg  string
	}{
		{"unknown node fails the whole list", slurmapi.RebootRequest{Nodes: "nid000001,nid000099"}, slurmapi.CodeNotFound, "Invalid node name specified"},
		{"bad hostlist", slurmapi.RebootRequest{Nodes: "nid[3-1]"}, slurmapi.CodeInvalid, "Invalid node name specified: invalid hostlist"},
		{"missing node list", slurmapi.RebootRequest{Nodes: " "}, slurmapi.CodeInvalid, "Missing node list. Specify ALL|<NodeList>"},
		{"bad nextstate", slurmapi.RebootRequest{Nodes: "nid000001", NextState: "IDLE"}, slurmapi.CodeInvalid, "Invalid state: IDLE\nValid states: DOWN, RESUME"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, 2)
			err := e.s.Reboot(tt.req)
			require.Error(t, err)
			assert.Equal(t, tt.code, slurmapi.CodeOf(err))
			assert.Contains(t, err.Error(), tt.msg)
			assert.Equal(t, "IDLE", e.state("nid000001"), "nothing changed")
			assert.Zero(t, e.s.Stats().RebootsRequested)
		})
	}
	t.Run("RebootProgram isn't defined", func(t *testing.T) {
		e := newEnv(t, 1, func(c *Config) { c.RebootProgram = nil })
		err := e.s.Reboot(slurmapi.RebootRequest{Nodes: "nid000001"})
		require.EqualError(t, err, "RebootProgram isn't defined")
	})
	t.Run("ALL", func(t *testing.T) {
		e := newEnv(t, 3)
		e.reboot(slurmapi.RebootRequest{Nodes: "all"})
		for _, n := range e.s.Nodes() {
			assert.True(t, n.State.Has(slurmapi.FlagRebootRequested), n.Name)
		}
	})
}

// TestRebootIssue covers reference 3.2: when a requested reboot is issued and what the
// node looks like then.
func TestRebootIssue(t *testing.T) {
	t.Run("idle node is issued at the next pass", func(t *testing.T) {
		e := newEnv(t, 2)
		e.reboot(slurmapi.RebootRequest{Nodes: "nid000001", ASAP: true, Reason: "rolling"})
		batch := e.tick(time.Second)
		assert.Equal(t, []string{"nid000001"}, batch)
		n := e.node("nid000001")
		assert.Equal(t, "DOWN+DRAIN+REBOOT_ISSUED", n.State.String())
		assert.Equal(t, "rolling : reboot issued", n.Reason)
		assert.Equal(t, t0.Add(time.Second), n.BootReqTime)
		assert.Equal(t, "BOOT^", n.State.Compact())
		assert.Equal(t, "REBOOT^", n.State.Long())
		assert.Equal(t, [][]string{{"nid000001"}}, e.prog.Calls())
	})
	t.Run("plain request on idle node", func(t *testing.T) {
		e := newEnv(t, 1)
		e.reboot(slurmapi.RebootRequest{Nodes: "nid000001"})
		e.tick(time.Second)
		n := e.node("nid000001")
		assert.Equal(t, "DOWN+REBOOT_ISSUED", n.State.String())
		assert.Equal(t, "reboot requested : reboot issued", n.Reason)
	})
	t.Run("busy node waits for its job and the epilog", func(t *testing.T) {
		e := newEnv(t, 1, func(c *Config) { c.Epilog = 5 * time.Second })
		e.submit(1, 10*time.Second)
		e.reboot(slurmapi.RebootRequest{Nodes: "nid000001", ASAP: true})
		for i := 0; i < 9; i++ {
			require.Empty(t, e.tick(time.Second), "job still running at +%ds", i+1)
		}
		assert.Equal(t, "ALLOCATED+DRAIN+REBOOT_REQUESTED", e.state("nid000001"))
		require.Empty(t, e.tick(time.Second), "job ends at +10s: COMPLETING, not issued")
		assert.Equal(t, "IDLE+COMPLETING+DRAIN+REBOOT_REQUESTED", e.state("nid000001"))
		assert.Equal(t, "BOOT", e.node("nid000001").State.Compact(), "22.05 checks reboot before drain unless ALLOCATED/MIXED")
		for i := 0; i < 4; i++ {
			require.Empty(t, e.tick(time.Second))
		}
		assert.Equal(t, []string{"nid000001"}, e.tick(time.Second), "epilog over at +15s: issued in that pass")
		assert.Equal(t, "DOWN+DRAIN+REBOOT_ISSUED", e.state("nid000001"))
	})
	t.Run("DOWN node is issued at once", func(t *testing.T) {
		e := newEnv(t, 1)
		e.update("nid000001", "DOWN", "broken")
		e.reboot(slurmapi.RebootRequest{Nodes: "nid000001"})
		assert.Equal(t, "DOWN+REBOOT_REQUESTED", e.state("nid000001"))
		assert.Equal(t, []string{"nid000001"}, e.tick(time.Second))
		assert.Equal(t, "broken : reboot issued", e.node("nid000001").Reason)
	})
	t.Run("not responding idle node waits until it is DOWN", func(t *testing.T) {
		e := newEnv(t, 1, func(c *Config) { c.SlurmdTimeout = 10 * time.Second })
		require.NoError(t, e.s.SlurmdStopped("nid000001"))
		e.tick(time.Second)
		e.reboot(slurmapi.RebootRequest{Nodes: "nid000001"})
		assert.Empty(t, e.tick(time.Second))
		assert.Equal(t, "IDLE+NOT_RESPONDING+REBOOT_REQUESTED", e.state("nid000001"))
		var issued []string
		for i := 0; i < 10 && issued == nil; i++ {
			issued = e.tick(time.Second)
		}
		assert.Equal(t, []string{"nid000001"}, issued)
		assert.Equal(t, "Not responding : reboot issued", e.node("nid000001").Reason)
	})
	t.Run("ASAP on four nodes, a job on two: two calls, idle pair first", func(t *testing.T) {
		e := newEnv(t, 4)
		job := e.submit(2, 30*time.Second) // lands on nid000001-2
		require.Equal(t, "nid[000001-000002]", e.job(job).Nodes)
		e.reboot(slurmapi.RebootRequest{Nodes: "nid00000[1-4]", ASAP: true, NextState: "RESUME", Reason: "rolling"})
		assert.Equal(t, []string{"nid000003", "nid000004"}, e.tick(time.Second))
		for i := 0; i < 28; i++ {
			e.tick(time.Second)
		}
		assert.Equal(t, []string{"nid000001", "nid000002"}, e.tick(time.Second))
		assert.Equal(t, [][]string{{"nid000003", "nid000004"}, {"nid000001", "nid000002"}}, e.prog.Calls())
		assert.Equal(t, 2, e.s.Stats().RebootProgramCalls)
	})
	t.Run("non-ASAP request: reboot wins the idle node over a queued job", func(t *testing.T) {
		e := newEnv(t, 1)
		first := e.submit(1, 10*time.Second)
		second := e.submit(1, 10*time.Second)
		e.reboot(slurmapi.RebootRequest{Nodes: "nid000001"})
		e.ticks(10)
		assert.Equal(t, slurmapi.JobCompleted, e.job(first).State)
		assert.Equal(t, slurmapi.JobPending, e.job(second).State)
		assert.Equal(t, "DOWN+REBOOT_ISSUED", e.state("nid000001"))
	})
	t.Run("JobsWinRebootRace: the queued job takes the node first", func(t *testing.T) {
		e := newEnv(t, 1, func(c *Config) { c.JobsWinRebootRace = true })
		e.submit(1, 10*time.Second)
		second := e.submit(1, 10*time.Second)
		e.reboot(slurmapi.RebootRequest{Nodes: "nid000001"})
		e.ticks(10)
		assert.Equal(t, slurmapi.JobRunning, e.job(second).State)
		assert.Equal(t, "ALLOCATED+REBOOT_REQUESTED", e.state("nid000001"))
	})
}

// TestRebootCompletion covers reference 3.4: registration after the reboot.
func TestRebootCompletion(t *testing.T) {
	issued := t0.Add(time.Second)
	tests := []struct {
		name   string
		setup  func(e *env)
		req    slurmapi.RebootRequest
		boot   time.Time
		state  string
		reason string
	}{
		{name: "older boot time is ignored while issued", req: slurmapi.RebootRequest{ASAP: true},
			boot: issued.Add(-time.Minute), state: "DOWN+DRAIN+REBOOT_ISSUED", reason: "Reboot ASAP : reboot issued"},
		{name: "ASAP: back to IDLE, drain and reason gone", req: slurmapi.RebootRequest{ASAP: true, Reason: "rolling"},
			boot: issued.Add(30 * time.Second), state: "IDLE"},
		{name: "nextstate=RESUME without ASAP", req: slurmapi.RebootRequest{NextState: "RESUME"},
			boot: issued.Add(30 * time.Second), state: "IDLE"},
		{name: "nextstate=RESUME clears an administrator's drain too",
			setup: func(e *env) { e.update("nid000001", "DRAIN", "maint") },
			req:   slurmapi.RebootRequest{NextState: "RESUME"}, boot: issued.Add(30 * time.Second), state: "IDLE"},
		{name: "no nextstate keeps an administrator's drain and reason",
			setup: func(e *env) { e.update("nid000001", "DRAIN", "maint") },
			req:   slurmapi.RebootRequest{}, boot: issued.Add(30 * time.Second), state: "IDLE+DRAIN", reason: "maint : reboot issued"},
		{name: "nextstate=DOWN: DOWN with reboot complete", req: slurmapi.RebootRequest{NextState: "DOWN", Reason: "Rolling Reboot"},
			boot: issued.Add(30 * time.Second), state: "DOWN", reason: "Rolling Reboot : reboot issued : reboot complete"},
		{name: "ASAP nextstate=DOWN: drain cleared, DOWN", req: slurmapi.RebootRequest{ASAP: true, NextState: "DOWN"},
			boot: issued.Add(30 * time.Second), state: "DOWN", reason: "Reboot ASAP : reboot issued : reboot complete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, 1)
			if tt.setup != nil {
				tt.setup(e)
			}
			tt.req.Nodes = "nid000001"
			e.reboot(tt.req)
			require.Equal(t, []string{"nid000001"}, e.tick(time.Second))
			require.Equal(t, issued, e.node("nid000001").BootReqTime)
			e.clk.Advance(40 * time.Second)
			e.register("nid000001", tt.boot)
			n := e.node("nid000001")
			assert.Equal(t, tt.state, n.State.String())
			assert.Equal(t, tt.reason, n.Reason)
			assert.Equal(t, tt.boot, n.BootTime)
		})
	}
	t.Run("times compare in whole seconds, as slurmctld's", func(t *testing.T) {
		e := newEnv(t, 1)
		e.reboot(slurmapi.RebootRequest{Nodes: "nid000001"})
		e.tick(1500 * time.Millisecond) // issued at 12:00:01.5
		e.register("nid000001", t0.Add(1200*time.Millisecond))
		assert.Equal(t, "IDLE", e.state("nid000001"), "a boot at 12:00:01.2 is not older than the request")
	})
	t.Run("nextstate=DOWN needs an explicit RESUME", func(t *testing.T) {
		e := newEnv(t, 1)
		e.reboot(slurmapi.RebootRequest{Nodes: "nid000001", NextState: "down"})
		e.tick(time.Second)
		e.register("nid000001", e.clk.Advance(10*time.Second))
		e.ticks(5)
		require.Equal(t, "DOWN", e.state("nid000001"), "ReturnToService does not undo it")
		e.update("nid000001", "RESUME", "")
		assert.Equal(t, "IDLE+NOT_RESPONDING", e.state("nid000001"), "until the next ping")
		e.tick(time.Second)
		assert.Equal(t, "IDLE", e.state("nid000001"))
		assert.Empty(t, e.node("nid000001").Reason)
	})
	t.Run("a job waiting for the rebooting nodes starts when they return", func(t *testing.T) {
		e := newEnv(t, 2)
		e.reboot(slurmapi.RebootRequest{Nodes: "nid[000001-000002]", ASAP: true})
		e.tick(time.Second)
		job := e.submit(2, time.Minute)
		assert.Equal(t, slurmapi.JobPending, e.job(job).State)
		assert.Equal(t, "Resources", e.job(job).Reason)
		e.register("nid000001", e.clk.Advance(20*time.Second))
		e.tick(time.Second)
		assert.Equal(t, slurmapi.JobPending, e.job(job).State, "one node is not enough")
		e.register("nid000002", e.clk.Now())
		e.tick(time.Second)
		assert.Equal(t, slurmapi.JobRunning, e.job(job).State)
		assert.Equal(t, 2, e.s.Stats().RebootsCompleted)
	})
}

// TestRebootTimeout covers reference 3.5.
func TestRebootTimeout(t *testing.T) {
	setup := func(t *testing.T, rts int) *env {
		e := newEnv(t, 1, func(c *Config) { c.ResumeTimeout = 60 * time.Second; c.ReturnToService = rts })
		e.reboot(slurmapi.RebootRequest{Nodes: "nid000001", ASAP: true, Reason: "rolling"})
		require.Equal(t, []string{"nid000001"}, e.tick(time.Second)) // issued at +1s
		require.NoError(t, e.s.SlurmdStopped("nid000001"))           // the node really goes down
		return e
	}
	t.Run("marked at the first periodic pass after ResumeTimeout", func(t *testing.T) {
		e := setup(t, 0)
		// Periodic passes at +30s, +60s, +90s; the timeout expires at +61s.
		for i := 2; i < 90; i++ {
			e.tick(time.Second)
			require.True(t, e.node("nid000001").State.Has(slurmapi.FlagRebootIssued), "still issued at +%ds", i)
		}
		e.tick(time.Second)
		n := e.node("nid000001")
		assert.Equal(t, "DOWN+NOT_RESPONDING", n.State.String())
		assert.Equal(t, "DOWN*", n.State.Compact())
		assert.Equal(t, "rolling : reboot issued : reboot timed out", n.Reason)
		assert.Equal(t, slurmapi.NextNone, n.NextState)
		assert.Equal(t, 1, e.s.Stats().RebootsTimedOut)

		// A boot after the timeout does not bring it back (ReturnToService=0).
		e.register("nid000001", e.clk.Now())
		e.ticks(3)
		assert.Equal(t, "DOWN", e.state("nid000001"))
		assert.Equal(t, "rolling : reboot issued : reboot timed out", e.node("nid000001").Reason)
	})
	t.Run("ReturnToService=2 with a live slurmd bounces back", func(t *testing.T) {
		e := newEnv(t, 1, func(c *Config) { c.ResumeTimeout = 60 * time.Second; c.ReturnToService = 2 })
		e.reboot(slurmapi.RebootRequest{Nodes: "nid000001"})
		e.tick(time.Second)
		e.ticks(89)
		require.Equal(t, "DOWN", e.state("nid000001"))
		e.tick(time.Second)
		assert.Equal(t, "IDLE", e.state("nid000001"))
		assert.Empty(t, e.node("nid000001").Reason)
	})
	t.Run("ReturnToService=1 does not undo a timeout", func(t *testing.T) {
		e := setup(t, 1)
		e.ticks(89)
		e.register("nid000001", e.clk.Now())
		e.ticks(2)
		assert.Equal(t, "DOWN", e.state("nid000001"))
	})
}

// TestCancelReboot covers reference 3.6.
func TestCancelReboot(t *testing.T) {
	t.Run("ASAP on a busy node: back to ALLOCATED, drain and reason gone", func(t *testing.T) {
		e := newEnv(t, 1)
		e.submit(1, time.Hour)
		e.reboot(slurmapi.RebootRequest{Nodes: "nid000001", ASAP: true, Reason: "rolling"})
		require.NoError(t, e.s.CancelReboot("nid000001"))
		n := e.node("nid000001")
		assert.Equal(t, "ALLOCATED", n.State.String())
		assert.Empty(t, n.Reason)
		assert.Equal(t, slurmapi.NextNone, n.NextState)
		assert.Equal(t, 1, e.s.Stats().RebootsCancelled)
	})
	t.Run("ASAP on a drained node keeps the administrator's drain", func(t *testing.T) {
		e := newEnv(t, 1)
		e.submit(1, time.Hour)
		e.update("nid000001", "DRAIN", "maint")
		e.reboot(slurmapi.RebootRequest{Nodes: "nid000001", ASAP: true})
		require.NoError(t, e.s.CancelReboot("nid000001"))
		n := e.node("nid000001")
		assert.Equal(t, "ALLOCATED+DRAIN", n.State.String())
		assert.Equal(t, "maint", n.Reason)
	})
	t.Run("plain request", func(t *testing.T) {
		e := newEnv(t, 1)
		e.submit(1, time.Hour)
		e.reboot(slurmapi.RebootRequest{Nodes: "nid000001"})
		e.update("nid000001", "CANCEL_REBOOT", "")
		assert.Equal(t, "ALLOCATED", e.state("nid000001"))
		assert.Empty(t, e.node("nid000001").Reason)
	})
	t.Run("issued reboot cannot be cancelled; others still are", func(t *testing.T) {
		e := newEnv(t, 2)
		e.submit(1, time.Hour) // on nid000001
		e.reboot(slurmapi.RebootRequest{Nodes: "nid00000[1-2]", ASAP: true})
		e.tick(time.Second) // nid000002 is idle: issued
		err := e.s.CancelReboot("nid00000[1-2]")
		require.EqualError(t, err, "REBOOT on node nid000002 already in progress -- unable to cancel")
		assert.Equal(t, slurmapi.CodeConflict, slurmapi.CodeOf(err))
		assert.Equal(t, "DOWN+DRAIN+REBOOT_ISSUED", e.state("nid000002"))
		assert.Equal(t, "ALLOCATED", e.state("nid000001"))
	})
	t.Run("no reboot pending is a no-op; unknown node an error", func(t *testing.T) {
		e := newEnv(t, 1)
		require.NoError(t, e.s.CancelReboot("nid000001"))
		assert.Equal(t, "IDLE", e.state("nid000001"))
		assert.Equal(t, slurmapi.CodeNotFound, slurmapi.CodeOf(e.s.CancelReboot("nid000007")))
	})
}

func TestRebootProgramFailureOnlyLogged(t *testing.T) {
	e := newEnv(t, 2)
	e.prog.err = assert.AnError
	e.reboot(slurmapi.RebootRequest{Nodes: "nid00000[1-2]"})
	e.tick(time.Second)
	st := e.s.Stats()
	assert.Equal(t, 1, st.RebootProgramCalls)
	assert.Equal(t, 1, st.RebootProgramFailures)
	assert.Equal(t, "DOWN+REBOOT_ISSUED", e.state("nid000001"))
	e.register("nid000001", e.clk.Advance(5*time.Second))
	assert.Equal(t, "IDLE", e.state("nid000001"), "the reboot still completes on registration")
}

// TestUpdateNode covers reference 3.7.
func TestUpdateNode(t *testing.T) {
	t.Run("DRAIN: draining while the job runs, drained after", func(t *testing.T) {
		e := newEnv(t, 1)
		e.submit(1, 5*time.Second)
		e.update("nid000001", "drain", "rolling-upgrade")
		n := e.node("nid000001")
		assert.Equal(t, "ALLOCATED+DRAIN", n.State.String())
		assert.Equal(t, "DRNG", n.State.Compact())
		assert.Equal(t, "DRAINING", n.State.Long())
		assert.Equal(t, "rolling-upgrade", n.Reason)
		assert.Equal(t, "root", n.ReasonUser)
		e.ticks(5)
		n = e.node("nid000001")
		assert.Equal(t, "IDLE+DRAIN", n.State.String())
		assert.Equal(t, "DRAIN", n.State.Compact())
		assert.Equal(t, "DRAINED", n.State.Long())
	})
	t.Run("DOWN fails the node's jobs", func(t *testing.T) {
		e := newEnv(t, 2, func(c *Config) { c.Epilog = 3 * time.Second })
		job := e.submit(2, time.Hour)
		e.update("nid000001", "DOWN", "bad dimm")
		assert.Equal(t, slurmapi.JobNodeFail, e.job(job).State)
		assert.Equal(t, "DOWN", e.state("nid000001"), "no epilog on the DOWN node")
		assert.Equal(t, "IDLE+COMPLETING", e.state("nid000002"))
		assert.Equal(t, "COMP", e.node("nid000002").State.Compact())
		e.ticks(3)
		assert.Equal(t, "IDLE", e.state("nid000002"))
	})
	t.Run("FAIL", func(t *testing.T) {
		e := newEnv(t, 1)
		e.update("nid000001", "FAIL", "upgrading-boot-session-failed")
		assert.Equal(t, "IDLE+FAIL", e.state("nid000001"))
		assert.Equal(t, "FAIL", e.node("nid000001").State.Compact())
		e.update("nid000001", "RESUME", "")
		assert.Equal(t, "IDLE", e.state("nid000001"))
	})
	t.Run("RESUME clears drain, reason and a pending reboot", func(t *testing.T) {
		e := newEnv(t, 1)
		e.reboot(slurmapi.RebootRequest{Nodes: "nid000001", ASAP: true})
		e.update("nid000001", "RESUME", "")
		n := e.node("nid000001")
		assert.Equal(t, "IDLE", n.State.String())
		assert.Empty(t, n.Reason)
		assert.Empty(t, e.tick(time.Second), "nothing left to issue")
	})
	t.Run("UNDRAIN", func(t *testing.T) {
		e := newEnv(t, 1)
		e.update("nid000001", "DRAIN", "x")
		e.update("nid000001", "UNDRAIN", "")
		assert.Equal(t, "IDLE", e.state("nid000001"))
		assert.Empty(t, e.node("nid000001").Reason)
	})
	t.Run("reason only", func(t *testing.T) {
		e := newEnv(t, 1)
		e.update("nid000001", "DRAIN", "x")
		e.update("nid000001", "", "y")
		assert.Equal(t, "y", e.node("nid000001").Reason)
	})
	errs := []struct {
		name string
		u    slurmapi.NodeUpdate
		code slurmapi.Code
		msg  string
	}{
		{"DRAIN without reason", slurmapi.NodeUpdate{Nodes: "nid000001", State: "DRAIN"}, slurmapi.CodeInvalid, "You must specify a reason when DOWNING or DRAINING a node. Request denied"},
		{"DOWN without reason", slurmapi.NodeUpdate{Nodes: "nid000001", State: "DOWN"}, slurmapi.CodeInvalid, "You must specify a reason"},
		{"FAIL without reason", slurmapi.NodeUpdate{Nodes: "nid000001", State: "FAIL"}, slurmapi.CodeInvalid, "You must specify a reason"},
		{"bad state", slurmapi.NodeUpdate{Nodes: "nid000001", State: "IDLE"}, slurmapi.CodeInvalid, "Invalid input: State=IDLE"},
		{"nothing to do", slurmapi.NodeUpdate{Nodes: "nid000001"}, slurmapi.CodeInvalid, "No changes specified"},
		{"unknown node", slurmapi.NodeUpdate{Nodes: "nid000001,nid000042", State: "DRAIN", Reason: "x"}, slurmapi.CodeNotFound, "Invalid node name specified"},
		{"RESUME of an idle node", slurmapi.NodeUpdate{Nodes: "nid000001", State: "RESUME"}, slurmapi.CodeConflict, "Invalid node state specified"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, 1)
			err := e.s.UpdateNode(tt.u)
			require.Error(t, err)
			assert.Equal(t, tt.code, slurmapi.CodeOf(err))
			assert.Contains(t, err.Error(), tt.msg)
			assert.Equal(t, "IDLE", e.state("nid000001"))
		})
	}
}

func TestSlurmdLiveness(t *testing.T) {
	t.Run("stopped slurmd: NOT_RESPONDING, then DOWN after SlurmdTimeout, jobs fail", func(t *testing.T) {
		e := newEnv(t, 1, func(c *Config) { c.SlurmdTimeout = 10 * time.Second })
		job := e.submit(1, time.Hour)
		require.NoError(t, e.s.SlurmdStopped("nid000001"))
		e.tick(time.Second)
		assert.Equal(t, "ALLOCATED+NOT_RESPONDING", e.state("nid000001"))
		assert.Equal(t, "ALLOC*", e.node("nid000001").State.Compact())
		e.ticks(10)
		assert.Equal(t, "DOWN+NOT_RESPONDING", e.state("nid000001"))
		assert.Equal(t, "Not responding", e.node("nid000001").Reason)
		assert.Equal(t, slurmapi.JobNodeFail, e.job(job).State)
	})
	t.Run("ReturnToService=1 returns a Not responding node", func(t *testing.T) {
		e := newEnv(t, 1, func(c *Config) { c.SlurmdTimeout = 5 * time.Second; c.ReturnToService = 1 })
		require.NoError(t, e.s.SlurmdStopped("nid000001"))
		e.ticks(6)
		require.Equal(t, "DOWN+NOT_RESPONDING", e.state("nid000001"))
		e.register("nid000001", e.clk.Now())
		assert.Equal(t, "IDLE", e.state("nid000001"))
	})
	t.Run("InitialState UNKNOWN waits for the first registration", func(t *testing.T) {
		e := newEnv(t, 1, func(c *Config) { c.InitialState = "unknown"; c.SlurmdTimeout = time.Second })
		e.ticks(5)
		n := e.node("nid000001")
		assert.Equal(t, "UNKNOWN+NOT_RESPONDING", n.State.String())
		assert.Equal(t, "UNK*", n.State.Compact())
		e.s.OnBooted("x1000c0s0b0n0", e.clk.Now())
		assert.Equal(t, "IDLE", e.state("nid000001"))
	})
	t.Run("power hooks by xname", func(t *testing.T) {
		e := newEnv(t, 2)
		e.s.OnPowerChange("x1000c0s0b0n1", "Off")
		e.s.OnPowerChange("x9000c0s0b0n0", "Off") // not a Slurm node: ignored
		e.tick(time.Second)
		assert.Equal(t, "IDLE+NOT_RESPONDING", e.state("nid000002"))
		assert.Equal(t, "IDLE", e.state("nid000001"))
	})
}

func TestUnexpectedReboot(t *testing.T) {
	e := newEnv(t, 2)
	job := e.submit(1, time.Hour)
	e.tick(time.Second)
	require.NoError(t, e.s.SlurmdStopped("nid000001"))
	e.tick(time.Second)
	e.register("nid000001", e.clk.Advance(30*time.Second))
	n := e.node("nid000001")
	assert.Equal(t, "DOWN", n.State.String())
	assert.Contains(t, n.Reason, "Node unexpectedly rebooted boot_time=")
	assert.Equal(t, slurmapi.JobNodeFail, e.job(job).State)
	st := e.s.Stats()
	assert.Equal(t, 1, st.UnexpectedReboots)
	assert.Equal(t, 1, st.JobsKilledByReboot)
	hist, err := e.s.History("nid000001")
	require.NoError(t, err)
	assert.ErrorContains(t, CheckNoRebootWhileRunning("nid000001", hist), "rebooted at")
}

// TestRunIssuesReadyRebootAtOnce: under Run, a reboot request that finds its node idle
// is issued at once, not at the next tick (an hour away here); one on a busy node waits
// for its job to end at a tick, and so does every request when jobs win the race.
func TestRunIssuesReadyRebootAtOnce(t *testing.T) {
	run := func(t *testing.T, race bool) (*Server, *recorder, context.CancelFunc) {
		prog := &recorder{}
		s, err := New(Config{Nodes: nodeNames(2), RebootProgram: prog, TickInterval: time.Hour, JobsWinRebootRace: race})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { _ = s.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done; _ = s.Close() })
		return s, prog, cancel
	}
	synctest.Test(t, func(t *testing.T) {
		s, prog, _ := run(t, false)
		start := time.Now()
		_, err := s.Submit(slurmapi.JobDesc{Nodes: 1, Duration: time.Minute})
		require.NoError(t, err)
		s.Tick(time.Now()) // the job takes nid000001
		require.NoError(t, s.Reboot(slurmapi.RebootRequest{Nodes: "nid000001", ASAP: true}))
		synctest.Wait()
		assert.Empty(t, prog.Calls(), "a busy node's reboot waits for its job")
		require.NoError(t, s.Reboot(slurmapi.RebootRequest{Nodes: "nid000002", ASAP: true}))
		synctest.Wait()
		assert.Equal(t, [][]string{{"nid000002"}}, prog.Calls(), "the idle node's reboot issued")
		assert.Equal(t, start, time.Now(), "at once")
		n, err := s.Node("nid000002")
		require.NoError(t, err)
		assert.True(t, n.State.Has(slurmapi.FlagRebootIssued), n.State.String())
	})
	synctest.Test(t, func(t *testing.T) {
		s, prog, _ := run(t, true)
		require.NoError(t, s.Reboot(slurmapi.RebootRequest{Nodes: "nid000002"}))
		synctest.Wait()
		assert.Empty(t, prog.Calls(), "jobs win the race: the reboot waits for the tick")
	})
}
