package lockstep_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/testwait"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/lockstep"
	"github.com/cray-bos/bos/orchestrator/power"
	"github.com/cray-bos/bos/orchestrator/reconciler"
	"github.com/cray-bos/bos/orchestrator/selection"
	"github.com/cray-bos/bos/orchestrator/sessions"
)

var (
	jsonMarshal   = json.Marshal
	jsonUnmarshal = json.Unmarshal
)

const (
	a0 = "x1000c0s0b0n0"
	a1 = "x1000c0s0b0n1"
	a2 = "x1000c0s1b0n0"
	b0 = "x1000c0s2b0n0"
	b1 = "x1000c0s2b0n1"
	b2 = "x1000c0s3b0n0"
)

func cfsOn(config string) *bos.V1CFS { return &bos.V1CFS{Configuration: config} }

func phaseOf(t *testing.T, s bos.V1Session, bootSet, phase string) *bos.V1PhaseStatus {
	t.Helper()
	bs := s.BootSet(bootSet)
	require.NotNil(t, bs, bootSet)
	p := bs.Phase(phase)
	require.NotNil(t, p, phase)
	return p
}

// TestRebootLockstep: a reboot of two boot sets where one node never powers off. That
// node fails the shutdown after both windows; no node powers on before every other has
// powered off; the rest boot and are configured; the session lists the failed node and
// the command that retries it.
func TestRebootLockstep(t *testing.T) {
	bubble(t, func(t *testing.T) {
		w := newWorld(t, a0, a1, a2, b0, b1, b2)
		for _, id := range []string{a0, a1, a2, b0, b1, b2} {
			w.power[id] = power.PowerOn
		}
		w.stuck[b1] = true
		w.bootDelay = func(id string) time.Duration {
			if id == a0 {
				return 80 * time.Millisecond // a slow node holds the boot phase
			}
			return 5 * time.Millisecond
		}
		w.template("t", bos.V1SessionTemplate{CFS: cfsOn("cfg"), BootSets: map[string]bos.V1BootSet{
			"a": bootSet(a0, a1, a2), "b": bootSet(b0, b1, b2)}})
		a := w.agent()
		s := w.wait(w.session(a, "Reboot", "t", ""))

		// Lockstep: the last power-off comes before the first power-on.
		var lastOff, firstOn time.Time
		for _, e := range w.powerEvents() {
			if e.power == power.PowerOff && e.at.After(lastOff) {
				lastOff = e.at
			}
			if e.power == power.PowerOn && (firstOn.IsZero() || e.at.Before(firstOn)) {
				firstOn = e.at
			}
		}
		require.False(t, firstOn.IsZero())
		assert.True(t, lastOff.Before(firstOn), "no node powered on before every node had powered off")
		shutdownB := phaseOf(t, s, "b", "shutdown")
		bootA := phaseOf(t, s, "a", "boot")
		assert.False(t, bootA.Metadata.StartTime.Before(*shutdownB.Metadata.StopTime), "the boot phase starts after the whole shutdown phase")
		assert.GreaterOrEqual(t, shutdownB.Metadata.StopTime.Sub(*shutdownB.Metadata.StartTime), 120*time.Millisecond,
			"the shutdown phase lasted both power-off windows")

		assert.Equal(t, []string{b1}, shutdownB.Nodes(bos.CategoryFailed))
		assert.Equal(t, []string{b0, b2}, shutdownB.Nodes(bos.CategorySucceeded))
		assert.Contains(t, shutdownB.Errors, "node did not power off within the graceful (60ms) and forceful (60ms) windows")
		for _, ph := range []string{"boot", "configure"} {
			p := phaseOf(t, s, "b", ph)
			assert.Equal(t, []string{b1}, p.Nodes(bos.CategoryExcluded), "%s: the failed node is out of the later phases", ph)
			assert.Equal(t, []string{b0, b2}, p.Nodes(bos.CategorySucceeded), ph)
			assert.True(t, p.Metadata.Complete, ph)
		}
		assert.Equal(t, []string{a0, a1, a2}, phaseOf(t, s, "a", "configure").Nodes(bos.CategorySucceeded))
		assert.True(t, s.Status.Metadata.Complete)
		assert.Equal(t, 1, s.Status.Metadata.ErrorCount)
		assert.Equal(t, []string{b1}, s.Status.FailedNodes)
		assert.Equal(t, "bos v1 session create --template-name t --operation reboot --limit "+b1, s.Status.RetryCommand)
		assert.Empty(t, s.Error)

		comps, err := w.st.GetComponents(context.Background(), []string{a0, b1})
		require.NoError(t, err)
		for _, c := range comps {
			assert.Equal(t, s.ID, c.Session, "the session owns its nodes")
			assert.False(t, c.Enabled, "v1 nodes are left to the agent, not the v2 reconciler")
			assert.Equal(t, "cfg", c.DesiredState.Configuration)
			assert.Contains(t, c.DesiredState.BootArtifacts.KernelParameters, "root=craycps-s3:s3://boot-images/k/rootfs:etag1")
		}
		assert.Equal(t, "cfg", w.cfs[a0].DesiredConfig)
		assert.Equal(t, "configured", w.cfs[a0].Status)
	})
}

// TestOrdinals: boot sets boot in boot_ordinal order and shut down in shutdown_ordinal
// order; equal or missing ordinals go together.
func TestOrdinals(t *testing.T) {
	bubble(t, func(t *testing.T) {
		w := newWorld(t, a0, a1, b0, b1, b2)
		for _, id := range []string{a0, a1, b0, b1, b2} {
			w.power[id] = power.PowerOn
		}
		one, two := 1, 2
		bsA, bsB, bsC := bootSet(a0, a1), bootSet(b0, b1), bootSet(b2)
		bsA.BootOrdinal, bsA.ShutdownOrdinal = &two, &one // a boots last, shuts down first
		bsB.BootOrdinal, bsB.ShutdownOrdinal = &one, &two
		w.template("t", bos.V1SessionTemplate{CFS: cfsOn("cfg"), BootSets: map[string]bos.V1BootSet{"a": bsA, "b": bsB, "c": bsC}})
		s := w.wait(w.session(w.agent(), "reboot", "t", ""))
		assert.Empty(t, s.Status.FailedNodes)

		order := map[power.Power][]string{}
		for _, e := range w.powerEvents() {
			order[e.power] = append(order[e.power], e.node)
		}
		group := map[string]string{a0: "a", a1: "a", b0: "b", b1: "b", b2: "c"}
		var offs, ons []string
		for _, id := range order[power.PowerOff] {
			offs = append(offs, group[id])
		}
		for _, id := range order[power.PowerOn] {
			ons = append(ons, group[id])
		}
		assert.Equal(t, []string{"c", "a", "a", "b", "b"}, offs, "shutdown: c (none = 0), a (1), b (2)")
		assert.Equal(t, []string{"c", "b", "b", "a", "a"}, ons, "boot: c (none = 0), b (1), a (2)")
		assert.False(t, phaseOf(t, s, "a", "boot").Metadata.StartTime.Before(*phaseOf(t, s, "b", "boot").Metadata.StopTime))
	})
}

// TestBootOutcomes: a boot from off; a node already running the target succeeds without a
// power cycle; a node running something else fails (a boot never restarts it); a node
// whose power-on is refused fails; a node that never reports fails after the boot window;
// a node whose power cannot be read is powered on.
func TestBootOutcomes(t *testing.T) {
	bubble(t, func(t *testing.T) {
		w := newWorld(t, a0, a1, a2, b0, b1)
		w.template("t", bos.V1SessionTemplate{CFS: cfsOn("cfg"), BootSets: map[string]bos.V1BootSet{"a": bootSet(a0, a1, a2, b0, b1)}})
		a := w.agent(func(c *lockstep.Config) { c.Timing.Boot = 300 * time.Millisecond })
		first := w.wait(w.session(a, "boot", "t", a0))
		require.Empty(t, first.Status.FailedNodes)

		w.power[a1] = power.PowerOn // running something BOS did not give it
		w.refuseOn[a2] = true
		w.silent[b0] = true
		w.unread[b1] = true // its power cannot be read: it is powered on anyway
		s := w.wait(w.session(a, "boot", "t", ""))
		boot := phaseOf(t, s, "a", "boot")
		assert.Equal(t, []string{a0, b1}, boot.Nodes(bos.CategorySucceeded))
		assert.Equal(t, []string{a1, a2, b0}, boot.Nodes(bos.CategoryFailed))
		assert.Equal(t, []string{a1}, boot.Errors[lockstep.MsgAlreadyOn])
		assert.Equal(t, []string{a2}, boot.Errors["power on failed: BMC said no"])
		assert.Equal(t, []string{b0}, boot.Errors["node did not report booting the session's image within 300ms"])
		assert.Equal(t, []string{a0, b1}, phaseOf(t, s, "a", "configure").Nodes(bos.CategorySucceeded))
		ons := 0
		for _, e := range w.powerEvents() {
			if e.node == a0 && e.power == power.PowerOn {
				ons++
			}
		}
		assert.Equal(t, 1, ons, "a node already running its image is not power-cycled")

		// The failed nodes are left on (a1, b0) or off (a2): the retry command reboots them,
		// since a boot would fail the running ones again. Run as printed, it succeeds.
		assert.Equal(t, "bos v1 session create --template-name t --operation reboot --limit "+a1+","+a2+","+b0, s.Status.RetryCommand)
		w.mu.Lock()
		w.refuseOn[a2], w.silent[b0] = false, false
		w.mu.Unlock()
		args := strings.Fields(s.Status.RetryCommand)
		retry := w.wait(w.session(a, args[slices.Index(args, "--operation")+1], args[slices.Index(args, "--template-name")+1], args[slices.Index(args, "--limit")+1]))
		assert.Empty(t, retry.Status.FailedNodes)
		assert.Equal(t, []string{a1, a2, b0}, phaseOf(t, retry, "a", "configure").Nodes(bos.CategorySucceeded))
	})
}

// TestBootNodeBootedByV2: a boot finds a node running the same image and boot set that a
// v2 session booted (v2's parameters end in bos_update_frequency, here under an older
// actual-state TTL): it succeeds without a power cycle. The v1 target carries the
// current TTL as bos_update_frequency, as v2's does.
func TestBootNodeBootedByV2(t *testing.T) {
	bubble(t, func(t *testing.T) {
		w := newWorld(t, a0)
		_, err := w.st.UpdateOptions(context.Background(), func(o *bos.Options) error {
			o.ComponentActualStateTTL = "1d"
			return nil
		})
		require.NoError(t, err)
		bs := bootSet(a0)
		bs.RootfsProvider = "sbps"
		w.template("t", bos.V1SessionTemplate{CFS: cfsOn("cfg"), BootSets: map[string]bos.V1BootSet{"a": bs}})
		byV2 := bos.BootArtifacts{Kernel: testImage.Kernel, Initrd: testImage.Initrd,
			KernelParameters: "quiet root=sbps-s3:s3://boot-images/k/rootfs:etag1 nmd_data=url=s3://boot-images/k/rootfs,etag=etag1 bos_update_frequency=4h"}
		_, err = w.st.UpdateComponent(context.Background(), a0, func(c *bos.Component) error {
			c.Session, c.DesiredState.BootArtifacts, c.ActualState.BootArtifacts = "v2-session", byV2, byV2
			return nil
		})
		require.NoError(t, err)
		w.power[a0] = power.PowerOn
		w.cfs[a0] = &reconciler.CFSView{DesiredConfig: "cfg", Status: "configured"}

		s := w.wait(w.session(w.agent(), "boot", "t", ""))
		assert.Empty(t, s.Status.FailedNodes)
		assert.Equal(t, []string{a0}, phaseOf(t, s, "a", "boot").Nodes(bos.CategorySucceeded))
		assert.Empty(t, w.powerEvents(), "the node is not power-cycled")
		c, err := w.st.GetComponent(context.Background(), a0)
		require.NoError(t, err)
		assert.Equal(t, strings.Replace(byV2.KernelParameters, "bos_update_frequency=4h", "bos_update_frequency=1d", 1),
			c.DesiredState.BootArtifacts.KernelParameters, "v1 builds v2's parameters for an sbps boot set")
	})
}

// TestConfigureAndShutdown: configure applies the configuration to running nodes without
// power changes (a CFS failure fails only its node); shutdown powers nodes off; a template
// without CFS excludes the nodes from the configure phase.
func TestConfigureAndShutdown(t *testing.T) {
	bubble(t, func(t *testing.T) {
		w := newWorld(t, a0, a1, a2)
		for _, id := range []string{a0, a1, a2} {
			w.power[id] = power.PowerOn
		}
		w.cfsFail[a1] = true
		w.template("t", bos.V1SessionTemplate{CFS: cfsOn("cfg2"), BootSets: map[string]bos.V1BootSet{"a": bootSet(a0, a1, a2)}})
		off := false
		w.template("nocfs", bos.V1SessionTemplate{EnableCFS: &off, CFS: cfsOn("cfg2"), BootSets: map[string]bos.V1BootSet{"a": bootSet(a0, a1, a2)}})
		a := w.agent()

		s := w.wait(w.session(a, "CONFIGURE", "t", ""))
		cfg := phaseOf(t, s, "a", "configure")
		assert.Equal(t, []string{a0, a2}, cfg.Nodes(bos.CategorySucceeded))
		assert.Equal(t, map[string][]string{lockstep.MsgCFSFailed: {a1}}, cfg.Errors)
		assert.Len(t, s.BootSet("a").Phases, 1, "a configure session has only the configure phase")
		assert.Empty(t, w.powerEvents(), "configure changes no power")
		comps, err := w.st.GetComponents(context.Background(), []string{a0})
		require.NoError(t, err)
		assert.Equal(t, "cfg2", comps[0].DesiredState.Configuration)

		s = w.wait(w.session(a, "configure", "nocfs", ""))
		assert.Equal(t, []string{a0, a1, a2}, phaseOf(t, s, "a", "configure").Nodes(bos.CategoryExcluded))
		assert.Empty(t, s.Status.FailedNodes)

		s = w.wait(w.session(a, "shutdown", "t", ""))
		assert.Equal(t, []string{a0, a1, a2}, phaseOf(t, s, "a", "shutdown").Nodes(bos.CategorySucceeded))
		for _, id := range []string{a0, a1, a2} {
			assert.Equal(t, power.PowerOff, w.power[id])
		}
		comps, err = w.st.GetComponents(context.Background(), []string{a0})
		require.NoError(t, err)
		assert.True(t, comps[0].DesiredState.BootArtifacts.IsEmpty(), "a shutdown's desired state is empty")
	})
}

// TestTakeover: a node whose component another session takes mid-phase leaves the v1
// session (excluded, with the new owner named) and the rest go on.
func TestTakeover(t *testing.T) {
	bubble(t, func(t *testing.T) {
		w := newWorld(t, a0, a1)
		w.silent[a1] = true // a1 never reports, so it is still waiting when it is taken over
		w.template("t", bos.V1SessionTemplate{BootSets: map[string]bos.V1BootSet{"a": bootSet(a0, a1)}})
		a := w.agent()
		id := w.session(a, "boot", "t", "")
		var s bos.V1Session
		testwait.Until(t, "one node booted", func() bool {
			var err error
			s, err = w.st.GetV1Session(context.Background(), id)
			require.NoError(t, err)
			return len(phaseOf(t, s, "a", "boot").Nodes(bos.CategorySucceeded)) == 1
		}, func() string { return fmt.Sprintf("%+v", s.Status) })
		_, err := w.st.UpdateComponent(context.Background(), a1, func(c *bos.Component) error { c.Session = "other"; return nil })
		require.NoError(t, err)
		s = w.wait(id)
		boot := phaseOf(t, s, "a", "boot")
		assert.Equal(t, []string{a1}, boot.Nodes(bos.CategoryExcluded))
		assert.Equal(t, []string{a1}, boot.Errors["taken over by session other"])
		assert.Empty(t, s.Status.FailedNodes)
		assert.Equal(t, []string{a0, a1}, phaseOf(t, s, "a", "configure").Nodes(bos.CategoryExcluded), "no configuration: excluded")
	})
}

// TestDeleteStopsSession: deleting a running session stops its run; nothing more happens
// to its nodes.
func TestDeleteStopsSession(t *testing.T) {
	bubble(t, func(t *testing.T) {
		w := newWorld(t, a0, a1)
		w.power[a0], w.power[a1] = power.PowerOn, power.PowerOn
		w.stuck[a0] = true
		w.template("t", bos.V1SessionTemplate{BootSets: map[string]bos.V1BootSet{"a": bootSet(a0, a1)}})
		a := w.agent(func(c *lockstep.Config) { c.Timing.GracefulShutdown = time.Minute })
		id := w.session(a, "reboot", "t", "")
		running := func() string { return fmt.Sprintf("%d runs, %s %s", a.Running(), a1, w.powerState(a1)) }
		testwait.Until(t, "the run starts", func() bool { return a.Running() == 1 }, running)
		testwait.Until(t, a1+" powers off", func() bool { return w.powerState(a1) == power.PowerOff }, running)
		require.NoError(t, w.st.DeleteV1Session(context.Background(), id))
		testwait.Until(t, "the run stops", func() bool { return a.Running() == 0 }, running)
		n := len(w.powerEvents())
		// A stopped run must stay stopped: 50 ms of fake time, in which every goroutine of the
		// agent runs until it blocks, then the power log must not have grown.
		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		assert.Len(t, w.powerEvents(), n, "no power action after the delete")
		_, err := w.st.GetV1Session(context.Background(), id)
		assert.True(t, bos.IsNotFound(err), "the run does not write the session back")
	})
}

func (w *world) powerState(id string) power.Power {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.power[id]
}

// TestSessionFailures: a session that selects no node, or whose limit is bad, completes
// with an error; a boot set whose image cannot be read fails its nodes while the other
// boot set boots; nodes that are not BOS components are excluded.
func TestSessionFailures(t *testing.T) {
	bubble(t, func(t *testing.T) {
		w := newWorld(t, a0, a1)
		bad := bootSet(a1)
		bad.Path = "s3://boot-images/missing/manifest.json"
		w.template("t", bos.V1SessionTemplate{BootSets: map[string]bos.V1BootSet{"good": bootSet(a0, b0), "bad": bad}})
		a := w.agent()

		s := w.wait(w.session(a, "boot", "t", "x9999c0s0b0n0"))
		assert.Equal(t, sessions.MsgNoNodes, s.Error)
		assert.True(t, s.Status.Metadata.Complete)
		// The agent discovered HSM's nodes before that first session; one added since is not
		// a BOS component yet.
		w.mu.Lock()
		w.nodes = append(w.nodes, selection.Node{ID: b0, Role: "Compute", Arch: "X86", Enabled: true})
		w.mu.Unlock()
		s = w.wait(w.session(a, "boot", "t", "all,"))
		assert.Contains(t, s.Error, "empty")

		s = w.wait(w.session(a, "boot", "t", ""))
		assert.Empty(t, s.Error)
		assert.Equal(t, []string{a1}, phaseOf(t, s, "bad", "boot").Nodes(bos.CategoryFailed))
		assert.Contains(t, strings.Join(keysOf(phaseOf(t, s, "bad", "boot").Errors), ""), "reading the image manifest")
		assert.Equal(t, []string{a0}, phaseOf(t, s, "good", "boot").Nodes(bos.CategorySucceeded))
		assert.Equal(t, []string{b0}, phaseOf(t, s, "good", "boot").Nodes(bos.CategoryExcluded))
		assert.Equal(t, []string{b0}, phaseOf(t, s, "good", "boot").Errors[lockstep.MsgNotComponent])
		assert.Equal(t, []string{a1}, s.Status.FailedNodes)
	})
}

func keysOf(m map[string][]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestRestartRunsAgain: a session left running by a stopped agent is run again from the
// start by the next one.
func TestRestartRunsAgain(t *testing.T) {
	bubble(t, func(t *testing.T) {
		w := newWorld(t, a0)
		w.template("t", bos.V1SessionTemplate{BootSets: map[string]bos.V1BootSet{"a": bootSet(a0)}})
		tm, err := w.st.GetTemplateJSON(context.Background(), "", "t")
		require.NoError(t, err)
		var v1 bos.V1SessionTemplate
		require.NoError(t, json.Unmarshal(tm, &v1))
		sess := bos.NewV1Session("orphan", bos.V1SessionCreate{Operation: "boot", TemplateName: "t"}, v1, time.Now())
		sess.State = bos.V1Running
		sess.BootSets[0].Phases[0] = bos.NewV1Phase("boot", []string{"stale"})
		require.NoError(t, w.st.CreateV1Session(context.Background(), sess))
		w.agent()
		s := w.wait("orphan")
		assert.Equal(t, []string{a0}, phaseOf(t, s, "a", "boot").Nodes(bos.CategorySucceeded))
		assert.Empty(t, phaseOf(t, s, "a", "boot").Nodes(bos.CategoryNotStarted), "the status was rebuilt")
	})
}

// TestDiscoversBeforeSessions: HSM nodes that are not BOS components yet become ones
// before the agent runs a session (as the reconciler does), so a session created right
// after start acts on them.
func TestDiscoversBeforeSessions(t *testing.T) {
	bubble(t, func(t *testing.T) {
		w := newWorld(t, a0)
		w.mu.Lock()
		w.nodes = append(w.nodes, selection.Node{ID: a1, Role: "Compute", Arch: "X86", Enabled: true})
		w.power[a1] = power.PowerOff
		w.cfs[a1] = &reconciler.CFSView{Status: "unconfigured"}
		w.mu.Unlock()
		w.template("t", bos.V1SessionTemplate{BootSets: map[string]bos.V1BootSet{"a": bootSet(a0, a1)}})
		s := w.wait(w.session(w.agent(), "boot", "t", ""))
		assert.Equal(t, []string{a0, a1}, phaseOf(t, s, "a", "boot").Nodes(bos.CategorySucceeded))
	})
}

func TestNewChecksConfig(t *testing.T) {
	bubble(t, func(t *testing.T) {
		_, err := lockstep.New(lockstep.Config{})
		assert.ErrorContains(t, err, "Store")
	})
}

// A session whose run panics is logged and started again after its own growing backoff
// (Timing.Sessions doubled per panic); the agent survives and the session completes.
func TestPanickingSessionIsRetriedWithBackoff(t *testing.T) {
	bubble(t, func(t *testing.T) {
		w := newWorld(t, a0)
		w.imagePanics = 3
		w.template("t", bos.V1SessionTemplate{BootSets: map[string]bos.V1BootSet{"a": bootSet(a0)}})
		a := w.agent()
		s := w.wait(w.session(a, "boot", "t", ""))
		assert.Zero(t, s.Status.Metadata.ErrorCount)
		assert.Empty(t, s.Status.FailedNodes)
		w.mu.Lock()
		defer w.mu.Unlock()
		require.Len(t, w.imageReads, 4, "three panics, then the run that completes")
		for i, least := range []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond} {
			gap := w.imageReads[i+1].Sub(w.imageReads[i])
			assert.GreaterOrEqual(t, gap, least, "retry %d", i+1)
			assert.Less(t, gap, least+10*time.Millisecond, "retry %d: at the first look after its backoff", i+1)
		}
	})
}
