package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cray-bos/bos/orchestrator/crus"
)

// `bos crus ...` is the client of CRUS (served on BOS's listener), as `cray crus session
// ...` was: create, list, describe, delete. The address and output flags are those of
// `bos v2`.
func newCRUSCommand() *cobra.Command {
	env := &cliEnv{}
	cmd := env.familyCommand(family{name: "crus", short: "Compute Rolling Upgrade Service: upgrade an HSM group a step of nodes at a time", verbs: []verb{
		{name: "create", short: "Start a rolling upgrade", setup: crusCreate,
			long: `create starts a CRUS session: the nodes of --starting-label are upgraded --upgrade-step-size
at a time: drained in Slurm, rebooted by a BOS session of --upgrade-template-id limited to
--upgrading-label, checked, and resumed. Nodes that fail land in --failed-label. The three
HSM groups must exist and differ; the upgrading and failed groups are emptied by CRUS.`,
			example: "  bos crus create --starting-label compute --upgrading-label crus-upgrading --failed-label crus-failed \\\n      --upgrade-step-size 50 --upgrade-template-id compute-next"},
		{name: "list", short: "List upgrade sessions", setup: noFlags(func(c *call) (any, error) {
			return crusCall(c, func(cl *crus.Client) (any, error) { return cl.List(c.ctx) })
		})},
		{name: "describe", args: []string{"UPGRADE_ID"}, short: "Show an upgrade session and its messages", setup: noFlags(func(c *call) (any, error) {
			return crusCall(c, func(cl *crus.Client) (any, error) { return cl.Get(c.ctx, c.args[0]) })
		})},
		{name: "delete", args: []string{"UPGRADE_ID"}, short: "Stop an upgrade session and remove it (asynchronously)",
			long: `delete marks the session DELETING; CRUS then hands the current step's drained nodes back to
Slurm (nodes caught mid-reboot are marked failed) and removes the session. Steps not
started are left alone.`,
			setup: noFlags(func(c *call) (any, error) {
				return crusCall(c, func(cl *crus.Client) (any, error) {
					s, err := cl.Delete(c.ctx, c.args[0])
					if err != nil || c.env.format == "json" {
						return s, err
					}
					return notice("crus session " + s.UpgradeID + " is " + s.State), nil
				})
			})},
	}}, "crus", false)
	env.register(cmd.PersistentFlags())
	_ = cmd.PersistentFlags().MarkHidden("tenant") // CRUS has no tenants
	return cmd
}

// crusCall runs fn with a CRUS client on the BOS address of c.
func crusCall(c *call, fn func(*crus.Client) (any, error)) (any, error) {
	base, err := c.env.baseURL()
	if err != nil {
		return nil, err
	}
	return fn(crus.NewClient(base, c.env.httpClient()))
}

func crusCreate(fs *pflag.FlagSet) action {
	var req crus.CreateRequest
	fs.StringVar(&req.StartingLabel, "starting-label", "", "HSM group holding every node to upgrade (required)")
	fs.StringVar(&req.UpgradingLabel, "upgrading-label", "", "HSM group CRUS fills with each step's nodes (required)")
	fs.StringVar(&req.FailedLabel, "failed-label", "", "HSM group CRUS fills with the nodes that failed (required)")
	fs.IntVar(&req.UpgradeStepSize, "upgrade-step-size", 0, "most nodes out of service at once (required, >= 1)")
	fs.StringVar(&req.UpgradeTemplateID, "upgrade-template-id", "", "BOS session template to reboot the nodes into (required)")
	fs.StringVar(&req.WorkloadManagerType, "workload-manager-type", crus.WorkloadManagerSlurm, "workload manager (only slurm)")
	return func(c *call) (any, error) {
		var missing []string
		for _, f := range []string{"starting-label", "upgrading-label", "failed-label", "upgrade-step-size", "upgrade-template-id"} {
			if !c.changed(f) {
				missing = append(missing, "--"+f)
			}
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("missing %s", strings.Join(missing, ", "))
		}
		return crusCall(c, func(cl *crus.Client) (any, error) { return cl.Create(c.ctx, req) })
	}
}

// crusTable is the list view, one row per session.
func crusTable(list []crus.Session) table {
	t := table{header: []string{"UPGRADE ID", "STATE", "COMPLETED", "STARTING", "UPGRADING", "FAILED", "STEP SIZE", "TEMPLATE", "LAST MESSAGE"}}
	for _, s := range list {
		last := "-"
		if len(s.Messages) > 0 {
			last = clip(s.Messages[len(s.Messages)-1], 70)
		}
		t.rows = append(t.rows, []string{s.UpgradeID, s.State, strconv.FormatBool(s.Completed), s.StartingLabel,
			s.UpgradingLabel, s.FailedLabel, strconv.Itoa(s.UpgradeStepSize), s.UpgradeTemplateID, last})
	}
	return t
}

// crusDescription is one session as FIELD VALUE rows, then its messages one per line.
func crusDescription(s crus.Session) table {
	msgs := table{header: []string{fmt.Sprintf("messages (%d):", len(s.Messages))}}
	for _, m := range s.Messages {
		msgs.rows = append(msgs.rows, []string{"  " + m})
	}
	return table{rows: [][]string{
		{"upgrade_id", s.UpgradeID}, {"state", s.State}, {"completed", strconv.FormatBool(s.Completed)},
		{"starting_label", s.StartingLabel}, {"upgrading_label", s.UpgradingLabel}, {"failed_label", s.FailedLabel},
		{"upgrade_step_size", strconv.Itoa(s.UpgradeStepSize)}, {"upgrade_template_id", s.UpgradeTemplateID},
		{"workload_manager_type", s.WorkloadManagerType}, {"kind", s.Kind}, {"api_version", s.APIVersion},
	}, then: []table{msgs}}
}
