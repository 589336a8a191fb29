package e2e

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/api/pcsapi"
	"github.com/cray-bos/bos/ims"
	"github.com/cray-bos/bos/internal/problem"
	"github.com/cray-bos/bos/internal/stack"
	"github.com/cray-bos/bos/internal/topology"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/simulator"
)

// The handlers of the scenario commands, in the order of doc.go.

func cmdCluster(s *scenario, t *testing.T, d *datadriven.TestData) string {
	if s.c != nil {
		d.Fatalf(t, "one cluster per script")
	}
	var n int // backend= is read by TestScenario, which runs the script only there
	d.ScanArgs(t, "nodes", &n)
	o := clusterOptions{nodes: n, options: map[string]any{}, power: arg(d, "power")}
	if a, ok := d.Arg("faults"); ok {
		o.faults.Rates = map[simulator.Fault]float64{}
		for _, v := range a.Vals {
			f, r, _ := strings.Cut(v, "=")
			rate, err := strconv.ParseFloat(r, 64)
			if err != nil {
				d.Fatalf(t, "faults: %q is not fault=rate", v)
			}
			o.faults.Rates[simulator.Fault(f)] = rate
		}
	}
	if a, ok := d.Arg("options"); ok {
		for _, v := range a.Vals {
			k, val, _ := strings.Cut(v, "=")
			if i, err := strconv.Atoi(val); err == nil {
				o.options[k] = i
			} else if b, err := strconv.ParseBool(val); err == nil {
				o.options[k] = b
			} else {
				o.options[k] = val
			}
		}
	}
	if spec := arg(d, "cfs-fail"); spec != "" { // node lists need the compute nodes before the start
		topo, err := topology.Generate(topology.DefaultOptions(n))
		require.NoError(t, err)
		computes := topo.ByRole(topology.RoleCompute)
		for _, item := range strings.Split(spec, ",") {
			ids, err := expandComputes(computes, item)
			require.NoError(t, err)
			o.cfsFail = append(o.cfsFail, ids...)
		}
	}
	s.c = startCluster(t, s.backend, o)
	return fmt.Sprintf("computes: %d", len(s.c.computes))
}

func cmdTemplate(s *scenario, t *testing.T, d *datadriven.TestData) string {
	var name string
	d.ScanArgs(t, "name", &name)
	image, config := argOr(d, "image", ims.ImageCompute), argOr(d, "config", stack.DefaultConfigurationName)
	ctx := s.c.ctx()
	if config != stack.DefaultConfigurationName {
		_, err := cfsClient(s.c).PutConfiguration(ctx, config, cfsConfig(config))
		require.NoError(t, err)
	}
	path, err := s.c.st.ImagePath(image)
	require.NoError(t, err)
	_, err = s.c.st.BOSClient.PutTemplate(ctx, name, stack.DefaultTemplate(path, config))
	require.NoError(t, err)
	return ""
}

func cmdSession(s *scenario, t *testing.T, d *datadriven.TestData) string {
	alias := arg(d, "name")
	if _, dup := s.byAlias[alias]; dup {
		d.Fatalf(t, "session %s exists", alias)
	}
	sc := bos.SessionCreate{Name: alias, Operation: arg(d, "op"), TemplateName: argOr(d, "template", stack.DefaultTemplateName),
		Stage: d.HasArg("stage")}
	if d.HasArg("limit") {
		limit := strings.Join(s.nodes(t, arg(d, "limit")), ",")
		sc.Limit = &limit
	}
	create := s.c.st.BOSClient.CreateSession
	if d.HasArg("takeover") {
		create = s.c.st.BOSClient.CreateSessionTakeover
	}
	sess, err := create(s.c.ctx(), sc)
	var pd *problem.Details
	if errors.As(err, &pd) {
		return fmt.Sprintf("refused: %d %s\n%s", pd.Status, pd.Title, pd.Detail)
	}
	require.NoError(t, err)
	if alias == "" {
		alias = fmt.Sprintf("s%d", len(s.aliases)+1)
	}
	s.byAlias[alias] = sess.Name
	s.aliases = append(s.aliases, alias)
	out := "created " + alias
	for _, took := range sess.Status.TookOver {
		out += fmt.Sprintf("\ntook over %d nodes from %s session %s", len(took.Nodes), took.API, s.alias(took.Session))
	}
	return out
}

// alias is the script's name for session name (the name itself when it has none).
func (s *scenario) alias(name string) string {
	for a, n := range s.byAlias {
		if n == name {
			return a
		}
	}
	return name
}

func cmdWait(s *scenario, t *testing.T, d *datadriven.TestData) string {
	name := s.session(t, d)
	until, timeout := argOr(d, "until", "complete"), 2*time.Minute
	if v := arg(d, "timeout"); v != "" {
		var err error
		timeout, err = time.ParseDuration(v)
		require.NoError(t, err)
	}
	ctx := s.c.ctx()
	deadline := time.Now().Add(timeout)
	for {
		st, err := s.c.st.BOSClient.SessionStatus(ctx, name)
		require.NoError(t, err)
		var done bool
		switch until {
		case "complete":
			done = st.Status == bos.SessionComplete
		case "setup":
			done = st.Status != bos.SessionPending
		case "staged": // set up, and every node of the session has it staged
			if st.Status != bos.SessionPending {
				sess, err := s.c.st.BOSClient.GetSession(ctx, name)
				require.NoError(t, err)
				comps, err := s.c.st.BOSClient.ListComponents(ctx, bosapi.ComponentQuery{StagedSession: name})
				require.NoError(t, err)
				done = len(comps) == count(sess.Components)
			}
		default:
			d.Fatalf(t, "until=%s: want complete, setup or staged", until)
		}
		if done {
			return ""
		}
		if time.Now().After(deadline) {
			return fmt.Sprintf("timeout after %s: session %s; nodes by status:\n%s", timeout, st.Status, groups(s.c.fields(s.c.computes, []string{"status", "enabled"})))
		}
		time.Sleep(100 * time.Millisecond) // polling a condition with a deadline
	}
}

func cmdSleep(s *scenario, t *testing.T, d *datadriven.TestData) string {
	if len(d.CmdArgs) != 1 {
		d.Fatalf(t, "sleep DURATION")
	}
	dur, err := time.ParseDuration(d.CmdArgs[0].Key)
	require.NoError(t, err)
	time.Sleep(dur) // the bubble's clock: the stack runs until it is all blocked for dur
	return ""
}

func cmdStatus(s *scenario, t *testing.T, d *datadriven.TestData) string {
	name, ctx := s.session(t, d), s.c.ctx()
	sess, err := s.c.st.BOSClient.GetSession(ctx, name)
	require.NoError(t, err)
	st, err := s.c.st.BOSClient.SessionStatus(ctx, name)
	require.NoError(t, err)
	var b strings.Builder
	fmt.Fprintf(&b, "status: %s\n", st.Status)
	if sess.Status.Error != nil {
		fmt.Fprintf(&b, "error: %s\n", *sess.Status.Error)
	}
	fmt.Fprintf(&b, "components: %d, managed: %d\n", count(sess.Components), st.ManagedComponentsCount)
	fmt.Fprintf(&b, "successful: %s, failed: %s, staged: %s\n", pct(st.PercentSuccessful), pct(st.PercentFailed), pct(st.PercentStaged))
	p := st.Phases
	fmt.Fprintf(&b, "phases: complete %s, powering_on %s, powering_off %s, configuring %s\n",
		pct(p.PercentComplete), pct(p.PercentPoweringOn), pct(p.PercentPoweringOff), pct(p.PercentConfiguring))
	total, errs := 0, make([]string, 0, len(st.ErrorSummary))
	for e, sum := range st.ErrorSummary {
		total += sum.Count
		errs = append(errs, e)
	}
	sort.Strings(errs)
	fmt.Fprintf(&b, "error_summary: %d nodes\n", total)
	for _, e := range errs {
		fmt.Fprintf(&b, "  %s: %d (%s)\n", e, st.ErrorSummary[e].Count, st.ErrorSummary[e].List)
	}
	return b.String()
}

func cmdSessions(s *scenario, t *testing.T, d *datadriven.TestData) string {
	sessions, err := s.c.st.BOSClient.ListSessions(s.c.ctx(), bosapi.SessionQuery{})
	require.NoError(t, err)
	lines := make([]string, 0, len(sessions))
	for _, sess := range sessions {
		lines = append(lines, s.normalise(fmt.Sprintf("%s: %s template=%s stage=%t %s", sess.Name, sess.Operation, sess.TemplateName, sess.Stage, sess.Status.Status)))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func cmdComponents(s *scenario, t *testing.T, d *datadriven.TestData) string {
	ids := s.selectNodes(t, d)
	fields := []string{"status", "enabled"}
	if a, ok := d.Arg("by"); ok {
		fields = a.Vals
	}
	return s.c.print(ids, s.c.fields(ids, fields), d.HasArg("list"))
}

func cmdNodes(s *scenario, t *testing.T, d *datadriven.TestData) string {
	ids := s.selectNodes(t, d)
	fields := []string{"power"}
	if a, ok := d.Arg("by"); ok {
		fields = a.Vals
	}
	lines := make([]string, len(ids))
	for i, id := range ids {
		n := s.c.node(id)
		var kv []string
		for _, f := range fields {
			var v string
			switch f {
			case "power":
				v = n.Power
			case "booted":
				v = strconv.FormatBool(n.Booted)
			case "boots":
				v = strconv.Itoa(n.BootCount)
			case "image":
				v = imageName(n.Kernel)
			default:
				d.Fatalf(t, "nodes by=%s: want power, booted, boots or image", f)
			}
			kv = append(kv, f+"="+v)
		}
		lines[i] = strings.Join(kv, " ")
	}
	return s.c.print(ids, lines, d.HasArg("list"))
}

func cmdBooted(s *scenario, t *testing.T, d *datadriven.TestData) string {
	ids := s.selectNodes(t, d)
	bad := s.c.notBooted(ids, arg(d, "config"))
	if len(bad) == 0 {
		return "ok"
	}
	n, more := len(bad), ""
	if n > 50 {
		bad, more = bad[:50], "\n..."
	}
	return fmt.Sprintf("%d of %d nodes not booted as wanted:\n%s%s", n, len(ids), strings.Join(bad, "\n"), more)
}

func cmdFault(s *scenario, t *testing.T, d *datadriven.TestData) string {
	set := d.HasArg("set")
	if set == d.HasArg("clear") {
		d.Fatalf(t, "fault set|clear on=NODES fault=F")
	}
	f := simulator.Fault(arg(d, "fault"))
	for _, id := range s.nodes(t, arg(d, "on")) {
		if !set {
			require.NoError(t, s.c.st.Sim.ClearFault(id, f))
			continue
		}
		require.NoError(t, s.c.st.Sim.SetFault(id, f))
		t.Cleanup(func() { _ = s.c.st.Sim.ClearFault(id, f) }) // let held power transitions finish before the stack closes
	}
	return ""
}

func cmdFaults(s *scenario, t *testing.T, d *datadriven.TestData) string {
	var lines []string
	for id, fs := range s.c.st.Sim.Faults() {
		names := make([]string, len(fs))
		for i, f := range fs {
			names[i] = string(f)
		}
		lines = append(lines, id+": "+strings.Join(names, ","))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// cmdTransitions counts PCS's transition tasks by operation and status.
func cmdTransitions(s *scenario, t *testing.T, d *datadriven.TestData) string {
	if s.c.st.URLs.PCS == "" {
		d.Fatalf(t, "transitions needs cluster power=pcs")
	}
	var list pcsapi.TransitionList
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(time.Second) { // fake time
		list = pcsapi.TransitionList{}
		_, err := problem.DoJSON(s.c.ctx(), s.c.st.HTTPClient(), http.MethodGet, s.c.st.URLs.PCS+"/apis/power-control/v1/transitions", nil, nil, &list)
		require.NoError(t, err)
		if !slices.ContainsFunc(list.Transitions, func(tr pcsapi.Transition) bool { return tr.TransitionStatus != pcsapi.TransitionCompleted }) {
			break
		}
		require.True(t, time.Now().Before(deadline), "PCS transitions still running after 2m")
	}
	counts := map[string]int{}
	for _, tr := range list.Transitions {
		c := tr.TaskCounts
		for status, n := range map[string]int{"succeeded": c.Succeeded, "failed": c.Failed, "unsupported": c.Unsupported, "unfinished": c.New + c.InProgress} {
			if n > 0 {
				counts[tr.Operation+" "+status] += n
			}
		}
	}
	var lines []string
	for k, n := range counts {
		lines = append(lines, fmt.Sprintf("%s: %d", k, n))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func cmdApplyStaged(s *scenario, t *testing.T, d *datadriven.TestData) string {
	resp, err := s.c.st.BOSClient.ApplyStaged(s.c.ctx(), s.nodes(t, arg(d, "nodes")))
	require.NoError(t, err)
	var b strings.Builder
	for _, l := range []struct {
		name string
		ids  []string
	}{{"succeeded", resp.Succeeded}, {"failed", resp.Failed}, {"ignored", resp.Ignored}} {
		sort.Strings(l.ids)
		fmt.Fprintf(&b, "%s: %d", l.name, len(l.ids))
		if len(l.ids) > 0 && len(l.ids) <= 10 {
			fmt.Fprintf(&b, " (%s)", strings.Join(l.ids, ","))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// selectNodes is the nodes argument (default: computes) less those whose BOS status is not
// the status argument, if there is one.
func (s *scenario) selectNodes(t *testing.T, d *datadriven.TestData) []string {
	ids := s.nodes(t, argOr(d, "nodes", "computes"))
	if status := arg(d, "status"); status != "" {
		comps := s.c.components()
		ids = slices.DeleteFunc(ids, func(id string) bool { return comps[id].Status.Status != status })
	}
	return ids
}

// fields describes each component as "field=value ..." (see doc.go for the fields).
func (c *cluster) fields(ids []string, fields []string) []string {
	comps := c.components()
	none := func(s string) string {
		if s == "" {
			return "none"
		}
		return s
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		comp := comps[id]
		var kv []string
		for _, f := range fields {
			var v string
			switch f {
			case "status":
				v = comp.Status.Status
			case "phase":
				v = none(comp.Status.Phase)
			case "enabled":
				v = strconv.FormatBool(comp.Enabled)
			case "session":
				v = none(comp.Session)
			case "config":
				v = none(comp.DesiredState.Configuration)
			case "staged":
				v = none(comp.StagedState.Session)
			case "image":
				v = imageName(comp.DesiredState.BootArtifacts.Kernel)
			case "actual":
				v = imageName(comp.ActualState.BootArtifacts.Kernel)
			case "last_action":
				v = none(comp.LastAction.Action)
			case "error":
				v = strconv.Quote(comp.Error)
			case "attempts":
				e := comp.EventStats
				v = fmt.Sprintf("on:%d,graceful:%d,forceful:%d", e.PowerOnAttempts, e.PowerOffGracefulAttempts, e.PowerOffForcefulAttempts)
			default:
				c.t.Fatalf("components by=%s: want status, phase, enabled, session, config, staged, image, actual, last_action, error or attempts", f)
			}
			kv = append(kv, f+"="+v)
		}
		out[i] = strings.Join(kv, " ")
	}
	return out
}

// print lists "id line" per node, or counts the lines.
func (c *cluster) print(ids, lines []string, list bool) string {
	if !list {
		return groups(lines)
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id + " " + lines[i]
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// count is the number of ids in a comma-separated list.
func count(list string) int {
	if list == "" {
		return 0
	}
	return strings.Count(list, ",") + 1
}
