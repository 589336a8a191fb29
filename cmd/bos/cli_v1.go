package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	bos "github.com/cray-bos/bos/orchestrator"

	"github.com/cray-bos/bos/api/bosapi"
)

// cliV1Families is the `bos v1` command tree, as `cray bos v1` had it: singular nouns,
// path parameters as positional arguments, deepest first (`status describe BOOT_SET ID`).
func cliV1Families() []family {
	return []family{
		{name: "session", short: "v1 sessions: a boot, reboot, shutdown or configure of a template's nodes, in lockstep", verbs: []verb{
			{name: "create", short: "Start a v1 session", setup: v1SessionCreate,
				long: "create starts a v1 session: all its nodes move through each phase of the operation together\n(shutdown, boot, configure). When it ends, \"session describe\" lists the failed nodes and the\ncommand that retries just them.",
				example: "  bos v1 session create --template-name compute --operation reboot\n" +
					"  bos v1 session create --template-name compute --operation boot --limit x1000c0s0b0n0,x1000c0s0b0n1"},
			{name: "list", short: "List the ids of every v1 session", setup: noFlags(func(c *call) (any, error) {
				return v1Call(c, func(cl *bosapi.Client) (any, error) {
					ids, err := cl.V1ListSessions(c.ctx)
					return v1SessionIDs(ids), err
				})
			})},
			{name: "describe", args: []string{"ID"}, short: "Show a v1 session: its state, failed nodes and retry command", setup: noFlags(func(c *call) (any, error) {
				return v1Call(c, func(cl *bosapi.Client) (any, error) { return cl.V1GetSession(c.ctx, c.args[0]) })
			})},
			{name: "delete", args: []string{"ID"}, short: "Delete a v1 session and its status (a running session stops)", setup: noFlags(func(c *call) (any, error) {
				return v1Done(c, "session "+c.args[0]+" deleted", func(cl *bosapi.Client) error { return cl.V1DeleteSession(c.ctx, c.args[0]) })
			})},
		}, sub: []family{
			{name: "status", short: "A v1 session's status document: boot sets, phases, node categories", leaf: &v1StatusWatch, verbs: []verb{
				v1StatusList,
				{name: "describe", args: []string{"[CATEGORY]", "[PHASE]", "BOOT_SET", "ID"}, short: "Show a boot set's status, or one phase or category of it",
					long:    "describe shows the status of boot set BOOT_SET of session ID; given PHASE (shutdown, boot,\nconfigure) only that phase, given CATEGORY too (not_started, in_progress, succeeded, failed,\nexcluded) only its nodes. As in cray bos v1, the deepest name comes first.",
					example: "  bos v1 session status describe compute SESSION_ID\n  bos v1 session status describe failed boot compute SESSION_ID",
					setup:   noFlags(v1StatusDescribe)},
			}},
		}},
		{name: "sessiontemplate", short: "v1 session templates (the same store as v2's sessiontemplates)", verbs: []verb{
			{name: "create", short: "Create or silently replace a session template", setup: v1TemplateCreate,
				long:    "create POSTs the v1 template in --file (\"-\" reads stdin) with its name set from --name, or,\nwithout --file, the template the flags describe.",
				example: "  bos v1 sessiontemplate create --name compute --file compute.json"},
			{name: "list", short: "List every session template, in its v1 form", setup: noFlags(func(c *call) (any, error) {
				return v1Call(c, func(cl *bosapi.Client) (any, error) { return cl.V1ListTemplates(c.ctx) })
			})},
			{name: "describe", args: []string{"NAME"}, short: "Show a session template in its v1 form", setup: noFlags(func(c *call) (any, error) {
				return v1Call(c, func(cl *bosapi.Client) (any, error) { return cl.V1GetTemplate(c.ctx, c.args[0]) })
			})},
			{name: "delete", args: []string{"NAME"}, short: "Delete a session template", setup: noFlags(func(c *call) (any, error) {
				return v1Done(c, "session template "+c.args[0]+" deleted", func(cl *bosapi.Client) error { return cl.V1DeleteTemplate(c.ctx, c.args[0]) })
			})},
		}},
		{name: "sessiontemplatetemplate", short: "An example v1 session template", verbs: []verb{
			{name: "list", short: "Show the example v1 session template", setup: noFlags(func(c *call) (any, error) {
				return v1Call(c, func(cl *bosapi.Client) (any, error) { return cl.V1TemplateTemplate(c.ctx) })
			})},
		}},
		{name: "version", short: "The v1 API version", verbs: []verb{
			{name: "list", short: "Show the v1 API version", setup: noFlags(func(c *call) (any, error) {
				return v1Call(c, func(cl *bosapi.Client) (any, error) { return cl.V1Version(c.ctx) })
			})},
		}},
		{name: "healthz", short: "The service's health (v1)", verbs: []verb{
			{name: "list", short: "Show the API's and the database's health", setup: noFlags(func(c *call) (any, error) {
				return v1Call(c, func(cl *bosapi.Client) (any, error) { return cl.V1Healthz(c.ctx) })
			})},
		}},
	}
}

// v1Call runs fn with the client of c (the v1 methods of bosapi.Client).
func v1Call(c *call, fn func(*bosapi.Client) (any, error)) (any, error) { return v2Call(c, fn) }

// v1Done runs fn and, on success, returns msg as a notice.
func v1Done(c *call, msg string, fn func(*bosapi.Client) error) (any, error) {
	return v2Done(c, msg, fn)
}

// v1SessionIDs is the answer of `session list`, a list of ids (one per row in a table).
type v1SessionIDs []string

func v1SessionCreate(fs *pflag.FlagSet) action {
	var (
		sc       bos.V1SessionCreate
		takeover bool
	)
	fs.StringVar(&sc.TemplateName, "template-name", "", "session template to apply (required)")
	fs.StringVar(&sc.TemplateUUID, "template-uuid", "", "old name of --template-name")
	_ = fs.MarkDeprecated("template-uuid", "use --template-name")
	fs.StringVar(&sc.Operation, "operation", "", "boot, reboot, shutdown or configure (required)")
	fs.StringVar(&sc.Limit, "limit", "", "only these nodes: comma-separated xnames, groups, roles or partitions; &X intersects, !X excludes, all = every node")
	fs.BoolVar(&takeover, "takeover", false, "take over nodes that unfinished sessions hold (otherwise BOS refuses with 409 unless reject_overlapping_sessions is none)")
	return func(c *call) (any, error) {
		if (sc.TemplateName == "" && sc.TemplateUUID == "") || sc.Operation == "" {
			return nil, errors.New("--template-name and --operation are required")
		}
		return v1Call(c, func(cl *bosapi.Client) (any, error) {
			if takeover {
				return cl.V1CreateSessionTakeover(c.ctx, sc)
			}
			return cl.V1CreateSession(c.ctx, sc)
		})
	}
}

// v1StatusDescribe reads its arguments deepest first: [[CATEGORY] PHASE] BOOT_SET ID.
func v1StatusDescribe(c *call) (any, error) {
	n := len(c.args)
	id, bootSet := c.args[n-1], c.args[n-2]
	return v1Call(c, func(cl *bosapi.Client) (any, error) {
		switch n {
		case 2:
			return cl.V1BootSetStatus(c.ctx, id, bootSet)
		case 3:
			return cl.V1PhaseStatus(c.ctx, id, bootSet, c.args[0])
		}
		return cl.V1CategoryStatus(c.ctx, id, bootSet, c.args[1], c.args[0])
	})
}

func v1TemplateCreate(fs *pflag.FlagSet) action {
	var (
		name string
		f    templateFields
	)
	fs.StringVar(&name, "name", "", "template name (required)")
	f.register(fs)
	return func(c *call) (any, error) {
		if name == "" {
			return nil, errors.New("--name is required")
		}
		m, err := f.object(c, &bos.V1SessionTemplate{})
		if err != nil {
			return nil, err
		}
		m["name"] = name
		raw, _ := json.Marshal(m)
		var t bos.V1SessionTemplate
		if err := json.Unmarshal(raw, &t); err != nil {
			return nil, fmt.Errorf("session template: %w", err)
		}
		return v1Call(c, func(cl *bosapi.Client) (any, error) { return cl.V1CreateTemplate(c.ctx, t) })
	}
}

// v1StatusList is `session status list ID`; v1StatusWatch is the same as `session status
// ID`, mostly for --watch.
var (
	v1StatusList = verb{name: "list", args: []string{"ID"}, short: "Show a session's status: its boot sets, times, failed nodes",
		long:    "Shows the session's status document. With --watch it follows the session to the end as bos up\n--boot does: a progress line, the status, the failed nodes by cause and the retry command.\n\n" + watchExitCodes,
		example: "  bos v1 session status list SESSION_ID --watch",
		setup: watchable(func(c *call) (any, error) {
			return v1Call(c, func(cl *bosapi.Client) (any, error) { return cl.V1SessionStatus(c.ctx, c.args[0]) })
		}, func(c *call, cl *bosapi.Client) sessionView { return v1View{c: cl, id: c.args[0]} })}
	v1StatusWatch = func() verb {
		v := v1StatusList
		v.name, v.short = "status", "Show a session's status (as status list ID); --watch follows it to the end"
		v.example = "  bos v1 session status SESSION_ID --watch"
		return v
	}()
)
