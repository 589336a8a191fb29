package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cray-bos/bos/api/bosapi"
	bos "github.com/cray-bos/bos/orchestrator"
)

// `bos rollout ...` is the client of /v2/rollouts, our extension to BOS (docs/rollouts.md):
// create, list, describe, pause, resume, abort. The address, tenant and output flags are
// those of `bos v2`.
func newRolloutCommand() *cobra.Command {
	env := &cliEnv{}
	command := func(cmd, short string) verb {
		return verb{name: cmd, args: []string{"NAME"}, short: short, setup: noFlags(func(c *call) (any, error) {
			return rolloutCall(c, func(cl *bosapi.Client) (any, error) { return cl.RolloutCommand(c.ctx, c.args[0], cmd) })
		})}
	}
	cmd := env.familyCommand(family{name: "rollout", short: "Safe rolling upgrades through Slurm: canary, max unavailable, failure budget", verbs: []verb{
		{name: "create", args: []string{"NAME"}, short: "Start a rollout of a session template", setup: rolloutCreate,
			long: `create stages --template-name (narrowed by --limit) on its nodes, then hands the nodes to
Slurm for reboot (scontrol reboot ASAP nextstate=resume) a few at a time: the canaries
first and alone, then idle nodes, then those whose jobs end soonest, never more than
--max-unavailable out of service. A node is done when BOS has it stable on the new image,
Slurm has it back in service and the health check passes. After --failure-budget failed
nodes the rollout pauses itself, leaving them drained with the reason.`,
			example: "  bos rollout create upgrade --template-name compute-next --canary 2 --max-unavailable 10% --failure-budget 3\n" +
				"  bos rollout create upgrade --template-name compute-next --max-unavailable 20 --health-url 'http://checks/{xname}'"},
		{name: "list", short: "List rollouts", setup: noFlags(func(c *call) (any, error) {
			return rolloutCall(c, func(cl *bosapi.Client) (any, error) { return cl.ListRollouts(c.ctx) })
		})},
		{name: "describe", args: []string{"NAME"}, short: "Show a rollout and every node's phase", setup: noFlags(func(c *call) (any, error) {
			return rolloutCall(c, func(cl *bosapi.Client) (any, error) { return cl.GetRollout(c.ctx, c.args[0]) })
		})},
		command(bos.RolloutPause, "Hand no more nodes to Slurm (those handed go on)"),
		command(bos.RolloutResume, "Resume a paused rollout (the failure budget counts again)"),
		command(bos.RolloutAbort, "Cancel reboots Slurm has not issued and clear the stage of nodes not rebooted"),
	}}, "v2", false)
	env.register(cmd.PersistentFlags())
	return cmd
}

// rolloutCall runs fn with the v2 client of c.
func rolloutCall(c *call, fn func(*bosapi.Client) (any, error)) (any, error) {
	cl, err := c.v2()
	if err != nil {
		return nil, err
	}
	return fn(cl)
}

func rolloutCreate(fs *pflag.FlagSet) action {
	var rc bos.RolloutCreate
	var maxUnavailable, budget, healthURL, healthCmd string
	var healthTimeout time.Duration
	fs.StringVar(&rc.TemplateName, "template-name", "", "session template to roll out (required)")
	fs.StringVar(&rc.Limit, "limit", "", "narrow the template's nodes, as a session's limit")
	fs.IntVar(&rc.Policy.Canary, "canary", 0, "the first N nodes go first and alone")
	fs.StringSliceVar(&rc.Policy.CanaryNodes, "canary-nodes", nil, "xnames to use as canaries instead")
	fs.StringVar(&maxUnavailable, "max-unavailable", "", "most nodes out of service at once: N or N% (required)")
	fs.StringVar(&budget, "failure-budget", "1", "pause after this many failed nodes: N or N%")
	fs.IntVar(&rc.Policy.NodeTimeoutSeconds, "node-timeout", 0, "seconds a node may stay out of service before it fails (0: 1800)")
	fs.StringVar(&healthURL, "health-url", "", "health check: a GET that must answer 2xx; {xname} and {name} are replaced")
	fs.StringVar(&healthCmd, "health-command", "", "health check: a command (split on spaces) that must exit 0; {xname} and {name} are replaced")
	fs.DurationVar(&healthTimeout, "health-timeout", 0, "bound on one health check (0: 10s)")
	var steer bool
	fs.BoolVar(&steer, "steer-jobs", true, "make the nodes still to roll Slurm's last choice for new jobs (weight raised until handed over); --steer-jobs=false leaves Slurm's weights alone")
	return func(c *call) (any, error) {
		rc.Name = c.args[0]
		if !c.changed("template-name") || !c.changed("max-unavailable") {
			return nil, fmt.Errorf("missing --template-name or --max-unavailable")
		}
		var err error
		if rc.Policy.MaxUnavailable, err = bos.ParseAmount(maxUnavailable); err != nil {
			return nil, fmt.Errorf("--max-unavailable: %w", err)
		}
		if rc.Policy.FailureBudget, err = bos.ParseAmount(budget); err != nil {
			return nil, fmt.Errorf("--failure-budget: %w", err)
		}
		if c.changed("steer-jobs") {
			rc.Policy.SteerJobs = &steer
		}
		if healthURL != "" || healthCmd != "" {
			rc.Policy.HealthCheck = &bos.HealthCheck{URL: healthURL, Command: strings.Fields(healthCmd),
				TimeoutSeconds: int(healthTimeout.Round(time.Second) / time.Second)}
		}
		return rolloutCall(c, func(cl *bosapi.Client) (any, error) { return cl.CreateRollout(c.ctx, rc) })
	}
}

// rolloutTable is the list view, one row per rollout.
func rolloutTable(list []bos.Rollout) table {
	t := table{header: []string{"NAME", "STATE", "TEMPLATE", "NODES", "HEALTHY", "FAILED", "IN FLIGHT", "WAVES", "REASON"}}
	for _, r := range list {
		t.rows = append(t.rows, []string{r.Name, r.State, r.TemplateName, strconv.Itoa(r.Counts.Total), strconv.Itoa(r.Counts.Healthy),
			strconv.Itoa(r.Counts.Failed), strconv.Itoa(r.Counts.Handed + r.Counts.Out), strconv.Itoa(r.Waves), dash(clip(r.Reason, 60))})
	}
	return t
}

// rolloutDescription is one rollout as FIELD VALUE rows, then its nodes not yet healthy
// or cancelled (every node with --output json).
func rolloutDescription(r bos.Rollout) table {
	p := r.Policy
	c := r.Counts
	nodes := table{header: []string{"XNAME", "NAME", "PHASE", "CANARY", "WAVE", "REASON"}}
	for _, n := range r.Nodes {
		if n.Phase == bos.NodeHealthy || n.Phase == bos.NodeCancelled && n.Reason == "rollout aborted" {
			continue
		}
		nodes.rows = append(nodes.rows, []string{n.Xname, n.Name, n.Phase, strconv.FormatBool(n.Canary), strconv.Itoa(n.Wave), dash(n.Reason)})
	}
	return table{rows: [][]string{
		{"name", r.Name}, {"state", r.State}, {"reason", dash(r.Reason)}, {"template_name", r.TemplateName}, {"limit", dash(r.Limit)},
		{"stage_session", r.StageSession},
		{"policy", fmt.Sprintf("canary %d%s, max unavailable %s (%d nodes), failure budget %s (%d nodes)%s", p.Canary,
			canaryList(p.CanaryNodes), p.MaxUnavailable, r.MaxUnavailable, p.FailureBudget, r.FailureBudget, steering(p.Steering()))},
		{"nodes", fmt.Sprintf("%d: %d waiting, %d handed, %d out, %d healthy, %d failed, %d cancelled",
			c.Total, c.Waiting, c.Handed, c.Out, c.Healthy, c.Failed, c.Cancelled)},
		{"waves", strconv.Itoa(r.Waves)},
	}, then: []table{nodes}}
}

func steering(on bool) string {
	if on {
		return ", steering jobs"
	}
	return ""
}

func canaryList(xnames []string) string {
	if len(xnames) == 0 {
		return ""
	}
	return " (" + strings.Join(xnames, ",") + ")"
}
