package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/ims"
	"github.com/cray-bos/bos/internal/problem"
	"github.com/cray-bos/bos/internal/stack"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/lockstep"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/simulator"
)

// v1Timing is the agent's pace in these tests: fast polls, short windows.
var v1Timing = lockstep.Timing{Poll: 50 * time.Millisecond, GracefulShutdown: 2 * time.Second, ForcefulShutdown: time.Second,
	Boot: 20 * time.Second, Configure: 20 * time.Second, Sessions: 100 * time.Millisecond, Save: 100 * time.Millisecond}

// powerLog records every power change the simulated nodes make.
type powerLog struct {
	mu     sync.Mutex
	events []powerEvent
}

type powerEvent struct {
	at          time.Time
	node, state string
}

func (l *powerLog) record(xname, state string) {
	l.mu.Lock()
	l.events = append(l.events, powerEvent{at: time.Now(), node: xname, state: state})
	l.mu.Unlock()
}

// since returns the events at or after t, in order.
func (l *powerLog) since(t time.Time) []powerEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []powerEvent
	for _, e := range l.events {
		if !e.at.Before(t) {
			out = append(out, e)
		}
	}
	return out
}

// v1Cluster starts a cluster for v1 tests: the v1 timing above, power changes logged.
func v1Cluster(t *testing.T, o clusterOptions) (*cluster, *powerLog) {
	log := &powerLog{}
	tweak := o.tweak
	o.tweak = func(so *stack.Options) {
		so.V1 = v1Timing
		so.Sim.OnPowerChange = log.record
		if tweak != nil {
			tweak(so)
		}
	}
	return startCluster(t, "miniredis", o), log
}

// v1Session creates a v1 session and returns its id.
func (c *cluster) v1Session(op, template, limit string) string {
	c.t.Helper()
	created, err := c.st.BOSClient.V1CreateSession(c.ctx(), bos.V1SessionCreate{Operation: op, TemplateName: template, Limit: limit})
	require.NoError(c.t, err)
	id := bosapi.V1SessionID(created)
	require.NotEmpty(c.t, id)
	return id
}

// v1Wait waits for a v1 session to complete and returns its status and every boot set's.
func (c *cluster) v1Wait(id string, timeout time.Duration) (bos.V1SessionStatus, map[string]*bos.V1BootSetStatus) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st, err := c.st.BOSClient.V1SessionStatus(c.ctx(), id)
		require.NoError(c.t, err)
		if st.Metadata.Complete {
			d, err := c.st.BOSClient.V1GetSession(c.ctx(), id)
			require.NoError(c.t, err)
			require.Empty(c.t, d.Error, "v1 session %s could not run", id)
			sets := map[string]*bos.V1BootSetStatus{}
			for _, name := range st.BootSets {
				bs, err := c.st.BOSClient.V1BootSetStatus(c.ctx(), id, name)
				require.NoError(c.t, err)
				sets[name] = &bs
			}
			return st, sets
		}
		if time.Now().After(deadline) {
			raw, _ := json.Marshal(st)
			c.t.Fatalf("v1 session %s not complete after %s: %s", id, timeout, raw)
		}
		time.Sleep(100 * time.Millisecond) // polling a condition with a deadline
	}
}

// nodesIn returns the nodes of a category of a phase across boot sets, sorted.
func nodesIn(sets map[string]*bos.V1BootSetStatus, phase, category string) []string {
	var out []string
	for _, bs := range sets {
		if p := bs.Phase(phase); p != nil {
			out = append(out, p.Nodes(category)...)
		}
	}
	sort.Strings(out)
	return out
}

// categoryOf names the category of phase that holds node, with the phase's errors.
func categoryOf(sets map[string]*bos.V1BootSetStatus, phase, node string) string {
	for _, bs := range sets {
		p := bs.Phase(phase)
		if p == nil {
			continue
		}
		for _, c := range p.Categories {
			for _, id := range c.NodeList {
				if id == node {
					raw, _ := json.Marshal(p.Errors)
					return c.Name + " " + string(raw)
				}
			}
		}
	}
	return "(none)"
}

// requireLockstep checks that among events (in the order they happened) no node powered
// on before the last node that powered off had done so. The order, not the timestamps:
// on the fake clock with no hardware delay, both can fall on the same instant.
func requireLockstep(t *testing.T, events []powerEvent) {
	t.Helper()
	lastOff, firstOn := -1, -1
	for i, e := range events {
		switch e.state {
		case "Off":
			lastOff = i
		case "PoweringOn", "On":
			if firstOn < 0 {
				firstOn = i
			}
		}
	}
	require.GreaterOrEqual(t, lastOff, 0, "nodes powered off")
	require.GreaterOrEqual(t, firstOn, 0, "nodes powered on")
	assert.Less(t, lastOff, firstOn, "lockstep: the last power-off (%s of %s) comes before the first power-on (%s of %s)",
		events[lastOff].state, events[lastOff].node, events[firstOn].state, events[firstOn].node)
}

// TestV1BootRebootConfigureShutdown runs the four v1 operations over 500 compute nodes (100
// with -short) on the seeded template (written through v2, used through v1): a boot from
// Off, a reboot in lockstep (every node off before any powers on), a configure with another
// configuration and no power change, and a shutdown.
func TestV1BootRebootConfigureShutdown(t *testing.T) { bubble(t, testV1BootRebootConfigureShutdown) }

func testV1BootRebootConfigureShutdown(t *testing.T) {
	c, log := v1Cluster(t, clusterOptions{nodes: size(500)})
	n := len(c.computes)
	all := append([]string(nil), c.computes...)

	st, sets := c.v1Wait(c.v1Session("boot", stack.DefaultTemplateName, ""), time.Minute)
	assert.Empty(t, st.FailedNodes)
	assert.Empty(t, st.RetryCommand)
	assert.Equal(t, 0, st.Metadata.ErrorCount)
	assert.Equal(t, all, nodesIn(sets, "boot", bos.CategorySucceeded))
	assert.Equal(t, all, nodesIn(sets, "configure", bos.CategorySucceeded))
	for _, bs := range sets {
		assert.True(t, bs.Metadata.Complete)
	}
	c.requireBooted(c.computes, stack.DefaultConfigurationName)
	for id, count := range c.bootCounts(c.computes) {
		require.Equal(t, 1, count, "%s booted once", id)
	}

	start := time.Now()
	id := c.v1Session("reboot", stack.DefaultTemplateName, "")
	st, sets = c.v1Wait(id, time.Minute)
	assert.Empty(t, st.FailedNodes)
	assert.Equal(t, all, nodesIn(sets, "shutdown", bos.CategorySucceeded))
	assert.Equal(t, all, nodesIn(sets, "boot", bos.CategorySucceeded))
	requireLockstep(t, log.since(start))
	shut, boot := sets["compute"].Phase("shutdown"), sets["compute"].Phase("boot")
	assert.False(t, boot.Metadata.StartTime.Before(*shut.Metadata.StopTime), "the boot phase starts when the shutdown phase has ended")
	c.requireBooted(c.computes, stack.DefaultConfigurationName)
	for id, count := range c.bootCounts(c.computes) {
		require.Equal(t, 2, count, "%s rebooted exactly once", id)
	}
	details, err := c.st.BOSClient.V1GetSession(c.ctx(), id)
	require.NoError(t, err)
	assert.True(t, details.Complete)
	assert.Equal(t, "boa-"+id, details.Job)

	ctx := c.ctx()
	_, err = cfsClient(c).PutConfiguration(ctx, "config-b", cfsConfig("b"))
	require.NoError(t, err)
	tm, err := c.st.BOSClient.V1GetTemplate(ctx, stack.DefaultTemplateName)
	require.NoError(t, err)
	tm.Name, tm.CFS, tm.BootSets["compute"] = "compute-b", &bos.V1CFS{Configuration: "config-b"}, withoutV2Fields(tm.BootSets["compute"])
	_, err = c.st.BOSClient.V1CreateTemplate(ctx, tm)
	require.NoError(t, err)
	start = time.Now()
	st, sets = c.v1Wait(c.v1Session("configure", "compute-b", ""), time.Minute)
	assert.Empty(t, st.FailedNodes)
	assert.Equal(t, all, nodesIn(sets, "configure", bos.CategorySucceeded))
	assert.Empty(t, log.since(start), "configure changes no power")
	c.requireBooted(c.computes, "config-b")

	st, sets = c.v1Wait(c.v1Session("shutdown", stack.DefaultTemplateName, ""), time.Minute)
	assert.Empty(t, st.FailedNodes)
	assert.Equal(t, all, nodesIn(sets, "shutdown", bos.CategorySucceeded))
	for _, id := range c.computes {
		require.Equal(t, "Off", c.node(id).Power, id)
	}
	assert.Len(t, all, n)
}

// withoutV2Fields drops what a v1 create refuses from a boot set read through v1.
func withoutV2Fields(bs bos.V1BootSet) bos.V1BootSet {
	bs.Arch, bs.CFS = "", nil
	return bs
}

// TestV1FailedNodesAndRetry is the example in the BOS docs (seed 002) at small scale: a
// reboot where 3 nodes cannot power off. They fail the shutdown; the others are rebooted;
// the session names the 3 and the command that retries them; once their BMCs are fixed,
// that exact command reboots just them.
func TestV1FailedNodesAndRetry(t *testing.T) { bubble(t, testV1FailedNodesAndRetry) }

func testV1FailedNodesAndRetry(t *testing.T) {
	c, _ := v1Cluster(t, clusterOptions{nodes: size(300)})
	st, sets := c.v1Wait(c.v1Session("boot", stack.DefaultTemplateName, ""), time.Minute)
	require.Empty(t, st.FailedNodes)
	require.Equal(t, c.computes, nodesIn(sets, "boot", bos.CategorySucceeded))

	bad := []string{c.computes[3], c.computes[50], c.computes[len(c.computes)-1]}
	sort.Strings(bad)
	for _, id := range bad {
		require.NoError(t, c.st.Sim.SetFault(id, simulator.FaultPowerStuck))
	}
	id := c.v1Session("reboot", stack.DefaultTemplateName, "")
	st, sets = c.v1Wait(id, time.Minute)
	assert.Equal(t, bad, st.FailedNodes)
	assert.Equal(t, len(bad), st.Metadata.ErrorCount)
	want := "bos v1 session create --template-name " + stack.DefaultTemplateName + " --operation reboot --limit " + strings.Join(bad, ",")
	assert.Equal(t, want, st.RetryCommand)
	assert.Equal(t, bad, nodesIn(sets, "shutdown", bos.CategoryFailed))
	assert.Equal(t, bad, nodesIn(sets, "boot", bos.CategoryExcluded), "failed nodes sit out the later phases")
	details, err := c.st.BOSClient.V1GetSession(c.ctx(), id)
	require.NoError(t, err)
	assert.Equal(t, want, details.RetryCommand, "the session itself shows the command too")
	isBad := map[string]bool{}
	for _, b := range bad {
		isBad[b] = true
	}
	var good []string
	for _, n := range c.computes {
		if !isBad[n] {
			good = append(good, n)
		}
	}
	c.requireBooted(good, stack.DefaultConfigurationName)
	for n, count := range c.bootCounts(good) {
		require.Equal(t, 2, count, "%s rebooted; node %+v; in boot phase: %s", n, c.node(n), categoryOf(sets, "boot", n))
	}

	// Fix the BMCs, run the printed command, and only the three reboot.
	for _, n := range bad {
		require.NoError(t, c.st.Sim.ClearFault(n, simulator.FaultPowerStuck))
	}
	args := parseRetry(t, st.RetryCommand)
	retry := c.v1Session(args["--operation"], args["--template-name"], args["--limit"])
	st, sets = c.v1Wait(retry, time.Minute)
	assert.Empty(t, st.FailedNodes)
	assert.Equal(t, bad, nodesIn(sets, "boot", bos.CategorySucceeded))
	c.requireBooted(c.computes, stack.DefaultConfigurationName)
	for n, count := range c.bootCounts(c.computes) {
		if isBad[n] {
			assert.Equal(t, 2, count, "%s: booted, then rebooted by the retry", n)
		} else {
			assert.Equal(t, 2, count, "%s: not touched by the retry", n)
		}
	}
}

// TestV1AndV2BootSameImage: nodes a v2 session booted are left running by a v1 boot of
// the same template (the same image, though v2's kernel parameters carry
// bos_update_frequency, which BOA's did not), and nodes a v1 reboot booted are left
// running by a v2 boot of it. Neither boot power-cycles a node or fails one.
func TestV1AndV2BootSameImage(t *testing.T) { bubble(t, testV1AndV2BootSameImage) }

func testV1AndV2BootSameImage(t *testing.T) {
	c, log := v1Cluster(t, clusterOptions{nodes: size(100)})
	all := c.computes

	c.waitComplete(c.session(bos.OpBoot, "", "", false), time.Minute)
	c.requireBooted(all, stack.DefaultConfigurationName)

	start := time.Now()
	st, sets := c.v1Wait(c.v1Session("boot", stack.DefaultTemplateName, ""), time.Minute)
	assert.Empty(t, st.FailedNodes, "v1 boot of v2-booted nodes; e.g. %s", categoryOf(sets, "boot", all[0]))
	assert.Empty(t, st.RetryCommand)
	assert.Equal(t, all, nodesIn(sets, "boot", bos.CategorySucceeded))
	assert.Equal(t, all, nodesIn(sets, "configure", bos.CategorySucceeded))
	assert.Zero(t, len(log.since(start)), "power changes: the v1 boot power-cycles no node")

	c.v1Wait(c.v1Session("reboot", stack.DefaultTemplateName, ""), time.Minute)
	c.requireBooted(all, stack.DefaultConfigurationName)
	before := c.bootCounts(all)
	start = time.Now()
	ext := c.waitComplete(c.session(bos.OpBoot, "", "", false), time.Minute)
	assert.Equal(t, 100.0, ext.PercentSuccessful, "v2 boot of v1-booted nodes")
	assert.Zero(t, len(log.since(start)), "power changes: the v2 boot power-cycles no node")
	assert.Equal(t, before, c.bootCounts(all))
	c.requireBooted(all, stack.DefaultConfigurationName)
}

// parseRetry reads "bos v1 session create --flag value ..." into flag → value.
func parseRetry(t *testing.T, cmd string) map[string]string {
	t.Helper()
	f := strings.Fields(cmd)
	require.GreaterOrEqual(t, len(f), 4)
	require.Equal(t, []string{"bos", "v1", "session", "create"}, f[:4])
	out := map[string]string{}
	for i := 4; i+1 < len(f); i += 2 {
		out[f[i]] = f[i+1]
	}
	return out
}

// TestV1OverlapTakeover: while a v1 reboot holds its nodes (one stuck node keeps it in the
// shutdown phase), a v2 boot of half of them is refused with 409 naming the v1 session
// under reject_overlapping_sessions=all; by default it is created, records that it took
// them from the v1 session, and boots them, and the v1 session leaves them (excluded, the
// new owner named) and reboots the rest.
func TestV1OverlapTakeover(t *testing.T) { bubble(t, testV1OverlapTakeover) }

func testV1OverlapTakeover(t *testing.T) {
	c, _ := v1Cluster(t, clusterOptions{nodes: size(200), tweak: func(o *stack.Options) {
		o.V1.GracefulShutdown, o.V1.ForcefulShutdown = 3*time.Second, time.Second
	}})
	c.v1Wait(c.v1Session("boot", stack.DefaultTemplateName, ""), time.Minute)
	half := len(c.computes) / 2
	first, second := c.computes[:half], c.computes[half:]
	stuck := first[0]
	require.NoError(t, c.st.Sim.SetFault(stuck, simulator.FaultPowerStuck))
	v1 := c.v1Session("reboot", stack.DefaultTemplateName, "")
	require.Eventually(t, func() bool {
		d, err := c.st.BOSClient.V1GetSession(c.ctx(), v1)
		if err != nil {
			return false
		}
		bs, err := c.st.BOSClient.V1BootSetStatus(c.ctx(), v1, "compute")
		return err == nil && !d.Complete && len(bs.Phase("shutdown").Nodes(bos.CategorySucceeded)) > 0
	}, 30*time.Second, 20*time.Millisecond, "the v1 reboot is shutting nodes down")

	limit := strings.Join(second, ",")
	req := bos.SessionCreate{Operation: bos.OpBoot, TemplateName: stack.DefaultTemplateName, Limit: &limit}
	setReject := func(v string) {
		_, err := c.st.BOSClient.PatchOptions(c.ctx(), map[string]any{"reject_overlapping_sessions": v})
		require.NoError(t, err)
	}
	setReject(bos.RejectOverlapAll)
	_, err := c.st.BOSClient.CreateSession(c.ctx(), req)
	var d *problem.Details
	require.ErrorAs(t, err, &d)
	assert.Equal(t, 409, d.Status)
	assert.Contains(t, d.Detail, fmt.Sprintf("v1 session %s (running) holds %d of them", v1, len(second)))
	setReject(bos.RejectOverlapV1)
	v2, err := c.st.BOSClient.CreateSession(c.ctx(), req)
	require.NoError(t, err)
	sorted := slices.Sorted(slices.Values(second))
	assert.Equal(t, []bos.SessionTakeover{{API: "v1", Session: v1, Nodes: sorted}}, v2.Status.TookOver)

	ext := c.waitComplete(v2.Name, time.Minute)
	assert.Equal(t, len(second), ext.ManagedComponentsCount)
	assert.Equal(t, 100.0, ext.PercentSuccessful)
	st, sets := c.v1Wait(v1, time.Minute)
	assert.Equal(t, []string{stuck}, st.FailedNodes)
	boot := sets["compute"].Phase("boot")
	taken := boot.Errors["taken over by session "+v2.Name]
	assert.NotEmpty(t, taken, "the v1 status names the new owner")
	excluded := map[string]bool{}
	for _, id := range nodesIn(sets, "boot", bos.CategoryExcluded) {
		excluded[id] = true
	}
	for _, id := range second {
		assert.True(t, excluded[id], "%s left the v1 session", id)
	}
	c.requireBooted(first[1:], stack.DefaultConfigurationName)
	c.requireBooted(second, stack.DefaultConfigurationName)
	comps := c.components()
	for _, id := range second {
		assert.Equal(t, v2.Name, comps[id].Session, id)
	}
	for _, id := range first {
		assert.Equal(t, v1, comps[id].Session, id)
	}
}

// TestV1PartitionAndOrdinals: a v1 template whose partition leaves out an NCN named in
// its node list, with two boot sets in boot_ordinal order: the NCN is never touched, and
// every node of the lower ordinal powers on before any node of the higher one.
func TestV1PartitionAndOrdinals(t *testing.T) { bubble(t, testV1PartitionAndOrdinals) }

func testV1PartitionAndOrdinals(t *testing.T) {
	c, log := v1Cluster(t, clusterOptions{nodes: 20})
	path, err := c.st.ImagePath(ims.ImageCompute)
	require.NoError(t, err)
	ncn := "x3000c0s1b0n0" // a management node: not in partition p1
	zero, one := 0, 1
	later := bos.V1BootSet{Path: path, Type: "s3", NodeList: c.computes[:5], BootOrdinal: &one}
	sooner := bos.V1BootSet{Path: path, Type: "s3", NodeList: append([]string{ncn}, c.computes[5:10]...), BootOrdinal: &zero}
	ctx := c.ctx()
	_, err = c.st.BOSClient.V1CreateTemplate(ctx, bos.V1SessionTemplate{Name: "ordered", Partition: "p1",
		CFS: &bos.V1CFS{Configuration: stack.DefaultConfigurationName}, BootSets: map[string]bos.V1BootSet{"a-later": later, "b-sooner": sooner}})
	require.NoError(t, err)
	start := time.Now()
	st, sets := c.v1Wait(c.v1Session("boot", "ordered", ""), time.Minute)
	assert.Empty(t, st.FailedNodes)
	assert.Equal(t, c.computes[:5], sets["a-later"].Phase("boot").Nodes(bos.CategorySucceeded))
	assert.Equal(t, c.computes[5:10], sets["b-sooner"].Phase("boot").Nodes(bos.CategorySucceeded), "the partition left the NCN out")
	assert.Zero(t, c.node(ncn).BootCount)
	assert.Equal(t, "Off", c.node(ncn).Power)

	group := map[string]string{}
	for _, id := range c.computes[:5] {
		group[id] = "later"
	}
	for _, id := range c.computes[5:10] {
		group[id] = "sooner"
	}
	var order []string
	for _, e := range log.since(start) {
		if e.state == "On" && (len(order) == 0 || order[len(order)-1] != group[e.node]) {
			order = append(order, group[e.node])
		}
	}
	assert.Equal(t, []string{"sooner", "later"}, order, "boot_ordinal 0 boots before 1")
}

// TestV1TemplateMigration: BOS starts on a store that holds a legacy v1 template (as BOS
// 2.0–2.6 stored it: cfs_url, a boot set network, ordinals). Start-up converts it; the
// original stays under <name>_v1_deprecated; the converted template works through v1 and
// v2 sessions; a restart on the same store changes nothing.
func TestV1TemplateMigration(t *testing.T) {
	m := miniredis.RunT(t)
	url := "redis://" + m.Addr()
	ctx := context.Background()
	pre, err := store.Open(ctx, store.Config{URL: url})
	require.NoError(t, err)
	legacy := `{"name":"legacy","description":"from BOS 1.x","cfs_url":"https://vcs/config.git","cfs_branch":"master",
		"enable_cfs":true,"cfs":{"configuration":"compute-config","clone_url":"https://vcs/config.git","branch":"master"},
		"boot_sets":{"compute":{"name":"compute","path":"%s","type":"s3","network":"nmn","boot_ordinal":1,"shutdown_ordinal":1,
		"node_roles_groups":["Compute"]}}}`
	tweak := func(o *stack.Options) { o.RedisURL = url }

	// The image path exists only once the stack runs: a first start finds it, then the
	// legacy record goes into the store while BOS is down.
	var path string
	t.Run("first start", func(t *testing.T) {
		c, _ := v1Cluster(t, clusterOptions{nodes: 10, tweak: tweak})
		var err error
		path, err = c.st.ImagePath(ims.ImageCompute)
		require.NoError(t, err)
	})
	require.NoError(t, pre.PutTemplateJSON(ctx, "", "legacy", []byte(fmt.Sprintf(legacy, path))))
	require.NoError(t, pre.Close())

	var before []store.TemplateRecord
	t.Run("migrating start", func(t *testing.T) {
		c, _ := v1Cluster(t, clusterOptions{nodes: 10, tweak: tweak})
		cl := c.st.BOSClient
		v1, err := cl.V1GetTemplate(c.ctx(), "legacy")
		require.NoError(t, err)
		assert.False(t, v1.Legacy(), "converted: no cfs_url, no network")
		assert.Equal(t, 1, *v1.BootSets["compute"].BootOrdinal, "ordinals kept")
		assert.Equal(t, "compute-config", v1.Configuration())
		orig, err := cl.V1GetTemplate(c.ctx(), "legacy_v1_deprecated")
		require.NoError(t, err)
		assert.Equal(t, "https://vcs/config.git", orig.CFSURL, "the original is kept")
		assert.Equal(t, "nmn", orig.BootSets["compute"].Network)
		v2, err := cl.GetTemplate(c.ctx(), "legacy")
		require.NoError(t, err)
		assert.Equal(t, "X86", v2.BootSets["compute"].Arch)

		st, _ := c.v1Wait(c.v1Session("boot", "legacy", ""), time.Minute)
		assert.Empty(t, st.FailedNodes, "a v1 session on the converted template")
		c.requireBooted(c.computes, stack.DefaultConfigurationName)
		ext := c.waitComplete(c.session(bos.OpReboot, "legacy", "", false), time.Minute)
		assert.Equal(t, 100.0, ext.PercentSuccessful, "a v2 session on the converted template")

		var err2 error
		before, err2 = c.st.Store.ListTemplatesJSON(c.ctx())
		require.NoError(t, err2)
	})
	t.Run("restart", func(t *testing.T) {
		c, _ := v1Cluster(t, clusterOptions{nodes: 10, tweak: tweak})
		after, err := c.st.Store.ListTemplatesJSON(c.ctx())
		require.NoError(t, err)
		assert.Equal(t, before, after, "a restart migrates nothing more")
	})
}
