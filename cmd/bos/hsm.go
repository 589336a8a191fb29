package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/internal/problem"
)

// `bos hsm groups ...` manages HSM groups through HSM's API (/hsm/v2/groups), as `cray hsm
// groups ...` does: the node groups session templates, limits and CRUS name.
func newHSMCommand() *cobra.Command {
	env := &cliEnv{svc: hsmService}
	cmd := &cobra.Command{
		Use:   "hsm",
		Short: "Client of HSM (Hardware State Manager): node groups",
		Long: `The HSM API from the command line, as "cray hsm": groups of nodes, which session templates
(node_groups), session limits and CRUS name.

The HSM address comes from --hsm-url, $` + envHSMURL + `, or the "hsm" entry of a URLs file
(--urls-file or $` + envURLsFile + `, as "bos up" writes it). Errors from HSM print its problem
title and detail; the exit status is then 1.`,
	}
	groups := env.familyCommand(family{name: "groups", short: "HSM groups: named sets of components", verbs: []verb{
		{name: "list", short: "List every group", setup: noFlags(func(c *call) (any, error) {
			return hsmCall(c, func(cl *hsmapi.Client) (any, error) { return cl.Groups(c.ctx) })
		})},
		{name: "describe", args: []string{"LABEL"}, short: "Show a group and its members", setup: noFlags(func(c *call) (any, error) {
			return hsmCall(c, func(cl *hsmapi.Client) (any, error) { return cl.Group(c.ctx, c.args[0]) })
		})},
		{name: "create", args: []string{"LABEL"}, short: "Create a group, empty or with --members", setup: hsmGroupCreate,
			example: "  bos hsm groups create crus-failed\n  bos hsm groups create test --description 'two nodes' --members x1000c0s0b0n0,x1000c0s0b0n1"},
		{name: "delete", args: []string{"LABEL"}, short: "Delete a group (its members stay)", setup: noFlags(func(c *call) (any, error) {
			return hsmDone(c, "group "+c.args[0]+" deleted", func(cl *hsmapi.Client) error { return cl.DeleteGroup(c.ctx, c.args[0]) })
		})},
	}, sub: []family{
		{name: "members", short: "A group's members", verbs: []verb{
			{name: "list", args: []string{"LABEL"}, short: "List a group's members", setup: noFlags(func(c *call) (any, error) {
				return hsmCall(c, func(cl *hsmapi.Client) (any, error) { return cl.GroupMembers(c.ctx, c.args[0]) })
			})},
			{name: "add", args: []string{"LABEL", "ID..."}, short: "Add components to a group (IDs or a,b,c)", setup: noFlags(func(c *call) (any, error) {
				ids := splitIDs(c.args[1:])
				return hsmDone(c, fmt.Sprintf("added %d to group %s", len(ids), c.args[0]), func(cl *hsmapi.Client) error {
					for _, id := range ids {
						if err := cl.AddGroupMember(c.ctx, c.args[0], id); err != nil {
							return err
						}
					}
					return nil
				})
			}), example: "  bos hsm groups members add compute-test x1000c0s0b0n0,x1000c0s0b0n1"},
			{name: "remove", args: []string{"LABEL", "ID..."}, short: "Remove components from a group (IDs or a,b,c)", setup: noFlags(func(c *call) (any, error) {
				ids := splitIDs(c.args[1:])
				return hsmDone(c, fmt.Sprintf("removed %d from group %s", len(ids), c.args[0]), func(cl *hsmapi.Client) error {
					for _, id := range ids {
						if err := cl.RemoveGroupMember(c.ctx, c.args[0], id); err != nil {
							return err
						}
					}
					return nil
				})
			})},
		}},
	}}, "hsm", false)
	env.register(cmd.PersistentFlags())
	cmd.AddCommand(groups)
	return cmd
}

// splitIDs splits comma-separated arguments.
func splitIDs(args []string) []string {
	var ids []string
	for _, a := range args {
		for id := range strings.SplitSeq(a, ",") {
			if id = strings.TrimSpace(id); id != "" {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// hsmCall runs fn with an HSM client of c's address. HSM's problems are returned as
// themselves (status, title, detail), not wrapped in the client's call name.
func hsmCall(c *call, fn func(*hsmapi.Client) (any, error)) (any, error) {
	base, err := c.env.baseURL()
	if err != nil {
		return nil, err
	}
	out, err := fn(hsmapi.NewClient(base, c.env.httpClient()))
	if d, ok := errors.AsType[*problem.Details](err); ok {
		return nil, d
	}
	return out, err
}

// hsmDone runs fn and, on success, returns msg as a notice.
func hsmDone(c *call, msg string, fn func(*hsmapi.Client) error) (any, error) {
	return hsmCall(c, func(cl *hsmapi.Client) (any, error) {
		if err := fn(cl); err != nil {
			return nil, err
		}
		return notice(msg), nil
	})
}

func hsmGroupCreate(fs *pflag.FlagSet) action {
	var g hsmapi.Group
	fs.StringVar(&g.Description, "description", "", "what the group is for")
	fs.StringSliceVar(&g.Tags, "tags", nil, "tags (comma-separated)")
	fs.StringVar(&g.ExclusiveGroup, "exclusive-group", "", "exclusive group: a component may be in only one group with this tag")
	fs.StringSliceVar(&g.Members.IDs, "members", nil, "initial members (comma-separated xnames)")
	return func(c *call) (any, error) {
		g := g
		g.Label = c.args[0]
		return hsmDone(c, "group "+g.Label+" created", func(cl *hsmapi.Client) error { return cl.CreateGroup(c.ctx, g) })
	}
}

// hsmGroupsTable is the list view, one row per group.
func hsmGroupsTable(list []hsmapi.Group) table {
	t := table{header: []string{"LABEL", "DESCRIPTION", "EXCLUSIVE", "TAGS", "MEMBERS"}}
	for _, g := range list {
		t.rows = append(t.rows, []string{g.Label, dash(clip(g.Description, 50)), dash(g.ExclusiveGroup),
			dash(strings.Join(g.Tags, ",")), strconv.Itoa(len(g.Members.IDs))})
	}
	return t
}

// hsmGroupDescription is one group as FIELD VALUE rows, then its members one per line.
func hsmGroupDescription(g hsmapi.Group) table {
	members := table{header: []string{fmt.Sprintf("members (%d):", len(g.Members.IDs))}}
	for _, id := range g.Members.IDs {
		members.rows = append(members.rows, []string{"  " + id})
	}
	return table{rows: [][]string{
		{"label", g.Label}, {"description", dash(g.Description)}, {"exclusiveGroup", dash(g.ExclusiveGroup)},
		{"tags", dash(strings.Join(g.Tags, ","))},
	}, then: []table{members}}
}
