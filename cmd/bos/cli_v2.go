package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/spf13/pflag"

	bos "github.com/cray-bos/bos/orchestrator"

	"github.com/cray-bos/bos/api/bosapi"
)

// cliV2Families is the `bos v2` command tree, in the order of the BOS API documentation.
func cliV2Families() []family {
	return []family{
		{name: "sessiontemplates", short: "Session templates: what to boot (images, kernel parameters, CFS configuration) on which nodes", verbs: []verb{
			{name: "list", short: "List session templates (a tenant sees its own)", setup: noFlags(func(c *call) (any, error) {
				return v2Call(c, func(cl *bosapi.Client) (any, error) { return cl.ListTemplates(c.ctx) })
			})},
			{name: "describe", args: []string{"NAME"}, short: "Show a session template", setup: noFlags(func(c *call) (any, error) {
				return v2Call(c, func(cl *bosapi.Client) (any, error) { return cl.GetTemplate(c.ctx, c.args[0]) })
			})},
			{name: "create", args: []string{"NAME"}, short: "Create or replace a session template from a JSON file",
				long:    "create PUTs the template in --file (\"-\" reads stdin) under NAME; the flags override its top-level fields.\nAn existing template of that name is replaced, as in BOS.",
				example: "  bos v2 sessiontemplatetemplate list --format json > t.json   # edit it, then\n  bos v2 sessiontemplates create compute --file t.json",
				setup:   templateCreate},
			{name: "update", args: []string{"NAME"}, short: "Merge changes into a session template (PATCH)",
				long:    "update PATCHes the partial template in --file and the fields given as flags into NAME:\nboot sets merge by name (each needs its path and type, as in BOS), cfs merges, other fields are replaced.",
				example: "  bos v2 sessiontemplates update compute --cfs-configuration compute-config-2\n  echo '{\"boot_sets\":{\"compute\":{\"path\":\"s3://boot-images/IMAGE/manifest.json\",\"type\":\"s3\",\"kernel_parameters\":\"quiet\"}}}' | bos v2 sessiontemplates update compute --file -",
				setup:   templateUpdate},
			{name: "delete", args: []string{"NAME"}, short: "Delete a session template", setup: noFlags(func(c *call) (any, error) {
				return v2Done(c, "session template "+c.args[0]+" deleted", func(cl *bosapi.Client) error { return cl.DeleteTemplate(c.ctx, c.args[0]) })
			})},
			{name: "validate", args: []string{"NAME"}, short: `Check a template as a boot session would: "Valid", the warnings or the error`, setup: noFlags(func(c *call) (any, error) {
				return v2Call(c, func(cl *bosapi.Client) (any, error) { return cl.ValidateTemplate(c.ctx, c.args[0]) })
			})},
		}},
		{name: "sessiontemplatetemplate", short: "An example session template to start from", verbs: []verb{
			{name: "list", short: "Show the example session template", setup: noFlags(func(c *call) (any, error) {
				return v2Call(c, func(cl *bosapi.Client) (any, error) { return cl.TemplateTemplate(c.ctx) })
			})},
		}},
		{name: "sessions", short: "Sessions: apply a template's boot, reboot or shutdown to its nodes", verbs: []verb{
			{name: "create", short: "Start a session", setup: sessionCreate,
				example: "  bos v2 sessions create --template-name compute --operation reboot --limit x1000c0s0b0n0,x1000c0s0b0n1\n  bos v2 sessions create --template-name compute --operation boot --stage   # then: bos v2 applystaged"},
			{name: "list", short: "List sessions (a tenant sees its own)", setup: sessionList},
			{name: "describe", args: []string{"NAME"}, short: "Show a session", setup: noFlags(func(c *call) (any, error) {
				return v2Call(c, func(cl *bosapi.Client) (any, error) { return cl.GetSession(c.ctx, c.args[0]) })
			})},
			{name: "delete", args: []string{"[NAME]"}, short: "Delete a session, or (without NAME) the sessions the filters select",
				long:  "delete NAME deletes one session (its nodes keep converging). Without NAME it deletes every\nsession matching --status, --min-age and --max-age; without --status only complete sessions\n(the API, as BOS, deletes every session when given no filter).",
				setup: sessionDelete},
			{name: "status", args: []string{"NAME"}, short: "Show a session's progress: phases, success and failure shares, errors",
				long:    "status shows the session's status. With --watch it follows the session to the end as bos up --boot\ndoes: a progress line, the status, the failed nodes by cause and the command that retries them.\n\n" + watchExitCodes,
				example: "  bos v2 sessions status r1 --watch",
				setup: watchable(func(c *call) (any, error) {
					return v2Call(c, func(cl *bosapi.Client) (any, error) { return cl.SessionStatus(c.ctx, c.args[0]) })
				}, func(c *call, cl *bosapi.Client) sessionView { return v2View{c: cl, name: c.args[0]} })},
		}},
		{name: "components", short: "Components: each node's desired, actual and staged state", verbs: []verb{
			{name: "list", short: "List components", setup: componentList},
			{name: "describe", args: []string{"ID"}, short: "Show a component", setup: noFlags(func(c *call) (any, error) {
				return v2Call(c, func(cl *bosapi.Client) (any, error) { return cl.GetComponent(c.ctx, c.args[0]) })
			})},
			{name: "history", args: []string{"ID"}, short: "Show a component's history, newest first: changes, actions and their results",
				example: "  bos v2 components history x1000c0s0b0n0\n  bos v2 components history x1000c0s0b0n0 --format json",
				setup: noFlags(func(c *call) (any, error) {
					return v2Call(c, func(cl *bosapi.Client) (any, error) { return cl.ComponentHistory(c.ctx, c.args[0]) })
				})},
			{name: "update", args: []string{"[ID...]"}, short: "Change components: one, several (IDs or a,b,c) or a session's (--filter-session)",
				example: "  bos v2 components update x1000c0s0b0n0 --enabled=false\n  bos v2 components update x1000c0s0b0n0,x1000c0s0b0n1 --retry-policy 5\n  bos v2 components update --filter-session S --enabled=false",
				setup:   componentUpdate},
		}},
		{name: "applystaged", short: "Apply the staged state of nodes (from --stage sessions): they boot now", leaf: &verb{
			name: "applystaged", setup: applyStaged,
			example: "  bos v2 applystaged --xnames x1000c0s0b0n0,x1000c0s0b0n1",
		}},
		{name: "options", short: "BOS's global options (timeouts, retries, polling)", verbs: []verb{
			{name: "list", short: "Show every option", setup: noFlags(func(c *call) (any, error) {
				return v2Call(c, func(cl *bosapi.Client) (any, error) { return cl.Options(c.ctx) })
			})},
			{name: "update", short: "Change options: one flag per option", setup: optionsUpdate,
				example: "  bos v2 options update --max-boot-wait-time 600 --default-retry-policy 5"},
		}},
		{name: "version", short: "The API version", verbs: []verb{
			{name: "list", short: "Show the API version", setup: noFlags(func(c *call) (any, error) {
				return v2Call(c, func(cl *bosapi.Client) (any, error) { return cl.Version(c.ctx) })
			})},
		}},
		{name: "healthz", short: "The service's health", verbs: []verb{
			{name: "list", short: "Show the API's and the database's health", setup: noFlags(func(c *call) (any, error) {
				return v2Call(c, func(cl *bosapi.Client) (any, error) { return cl.Healthz(c.ctx) })
			})},
		}},
	}
}

// noFlags is the setup of a command with no flags of its own.
func noFlags(a action) func(*pflag.FlagSet) action {
	return func(*pflag.FlagSet) action { return a }
}

// v2Call runs fn with the v2 client of c.
func v2Call(c *call, fn func(*bosapi.Client) (any, error)) (any, error) {
	cl, err := c.v2()
	if err != nil {
		return nil, err
	}
	return fn(cl)
}

// v2Done runs fn and, on success, returns msg as a notice.
func v2Done(c *call, msg string, fn func(*bosapi.Client) error) (any, error) {
	return v2Call(c, func(cl *bosapi.Client) (any, error) {
		if err := fn(cl); err != nil {
			return nil, err
		}
		return notice(msg), nil
	})
}

// templateFields are the top-level template fields settable by flag.
type templateFields struct {
	file, description, cfsConfiguration string
	enableCFS                           bool
}

func (f *templateFields) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.file, "file", "", `JSON session template ("-" = stdin)`)
	fs.StringVar(&f.description, "description", "", "description of the template")
	fs.BoolVar(&f.enableCFS, "enable-cfs", true, "configure the nodes with CFS after booting")
	fs.StringVar(&f.cfsConfiguration, "cfs-configuration", "", "CFS configuration of every boot set without its own")
}

// apply sets the flags the user gave into the JSON object m.
func (f *templateFields) apply(c *call, m map[string]any) {
	if c.changed("description") {
		m["description"] = f.description
	}
	if c.changed("enable-cfs") {
		m["enable_cfs"] = f.enableCFS
	}
	if c.changed("cfs-configuration") {
		m["cfs"] = map[string]any{"configuration": f.cfsConfiguration}
	}
}

// object is the template (or partial template) the user gave: --file, checked strictly
// against shape (so a misspelt field fails here), with the flags applied over it.
func (f *templateFields) object(c *call, shape any) (map[string]any, error) {
	m := map[string]any{}
	if f.file != "" {
		raw, err := readJSONFile(c, f.file)
		if err != nil {
			return nil, err
		}
		if err := decodeStrict("--file "+f.file, raw, shape); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(raw, &m); err != nil || m == nil {
			return nil, fmt.Errorf("--file %s: a session template is a JSON object", f.file)
		}
	}
	f.apply(c, m)
	return m, nil
}

func templateCreate(fs *pflag.FlagSet) action {
	var f templateFields
	f.register(fs)
	return func(c *call) (any, error) {
		if f.file == "" {
			return nil, errors.New("a session template needs boot sets: give them with --file (see: bos v2 sessiontemplatetemplate list)")
		}
		m, err := f.object(c, &bos.SessionTemplate{})
		if err != nil {
			return nil, err
		}
		raw, _ := json.Marshal(m)
		t, err := bos.DecodeTemplate(raw)
		if err != nil {
			return nil, fmt.Errorf("--file %s: %w", f.file, err)
		}
		return v2Call(c, func(cl *bosapi.Client) (any, error) { return cl.PutTemplate(c.ctx, c.args[0], t) })
	}
}

func templateUpdate(fs *pflag.FlagSet) action {
	var f templateFields
	f.register(fs)
	return func(c *call) (any, error) {
		m, err := f.object(c, &bos.SessionTemplate{})
		if err != nil {
			return nil, err
		}
		if len(m) == 0 {
			return nil, errors.New("nothing to change: give --file or a field flag (--description, --enable-cfs, --cfs-configuration)")
		}
		return v2Call(c, func(cl *bosapi.Client) (any, error) { return cl.PatchTemplate(c.ctx, c.args[0], m) })
	}
}

func sessionCreate(fs *pflag.FlagSet) action {
	var (
		sc       bos.SessionCreate
		limit    string
		takeover bool
	)
	fs.StringVar(&sc.TemplateName, "template-name", "", "session template to apply (required)")
	fs.StringVar(&sc.Operation, "operation", "", "boot, reboot or shutdown (required)")
	fs.StringVar(&limit, "limit", "", "only these nodes: comma-separated xnames, groups or roles; &X intersects, !X excludes")
	fs.BoolVar(&sc.Stage, "stage", false, "stage the change on the nodes instead of acting; applystaged acts")
	fs.BoolVar(&sc.IncludeDisabled, "include-disabled", false, "include nodes disabled in HSM")
	fs.StringVar(&sc.Name, "name", "", "session name (default: a random UUID)")
	fs.BoolVar(&takeover, "takeover", false, "take over nodes that unfinished sessions hold even where the option reject_overlapping_sessions refuses with 409")
	return func(c *call) (any, error) {
		if sc.TemplateName == "" || sc.Operation == "" {
			return nil, errors.New("--template-name and --operation are required")
		}
		body := sc
		if c.changed("limit") {
			body.Limit = &limit
		}
		return v2Call(c, func(cl *bosapi.Client) (any, error) {
			if takeover {
				return cl.CreateSessionTakeover(c.ctx, body)
			}
			return cl.CreateSession(c.ctx, body)
		})
	}
}

func sessionFilters(fs *pflag.FlagSet, q *bosapi.SessionQuery) {
	fs.StringVar(&q.Status, "status", "", "only sessions in this status: pending, running or complete")
	fs.StringVar(&q.MinAge, "min-age", "", "only sessions older than this (e.g. 30m, 2h, 1d, 1w)")
	fs.StringVar(&q.MaxAge, "max-age", "", "only sessions younger than this")
}

func sessionList(fs *pflag.FlagSet) action {
	var q bosapi.SessionQuery
	sessionFilters(fs, &q)
	return func(c *call) (any, error) {
		return v2Call(c, func(cl *bosapi.Client) (any, error) { return cl.ListSessions(c.ctx, q) })
	}
}

func sessionDelete(fs *pflag.FlagSet) action {
	var q bosapi.SessionQuery
	sessionFilters(fs, &q)
	return func(c *call) (any, error) {
		if len(c.args) == 1 {
			if q != (bosapi.SessionQuery{}) {
				return nil, errors.New("give a session NAME or filters (--status, --min-age, --max-age), not both")
			}
			return v2Done(c, "session "+c.args[0]+" deleted", func(cl *bosapi.Client) error { return cl.DeleteSession(c.ctx, c.args[0]) })
		}
		bulk := q
		if bulk.Status == "" {
			bulk.Status = bos.SessionComplete
		}
		return v2Done(c, "matching sessions deleted", func(cl *bosapi.Client) error { return cl.DeleteSessions(c.ctx, bulk) })
	}
}

func componentList(fs *pflag.FlagSet) action {
	var (
		q       bosapi.ComponentQuery
		enabled bool
	)
	fs.StringSliceVar(&q.IDs, "ids", nil, "only these xnames (comma-separated)")
	fs.StringVar(&q.Session, "session", "", "only components owned by this session")
	fs.StringVar(&q.StagedSession, "staged-session", "", "only components staged by this session")
	fs.BoolVar(&enabled, "enabled", false, "only enabled (true) or disabled (false) components")
	fs.StringVar(&q.Phase, "phase", "", "only components in this phase: powering_on, powering_off, configuring")
	fs.StringSliceVar(&q.Status, "status", nil, "only components in these statuses (comma-separated), e.g. stable,failed")
	fs.StringVar(&q.StartAfterID, "start-after-id", "", "page: start after this xname")
	fs.IntVar(&q.PageSize, "page-size", 0, "page: at most this many components (0 = all)")
	return func(c *call) (any, error) {
		query := q
		if c.changed("enabled") {
			query.Enabled = &enabled
		}
		return v2Call(c, func(cl *bosapi.Client) (any, error) { return cl.ListComponents(c.ctx, query) })
	}
}

func componentUpdate(fs *pflag.FlagSet) action {
	var (
		file, filterSession, errText, session string
		enabled, skipBad                      bool
		retry                                 int
	)
	fs.StringVar(&file, "file", "", `JSON component patch ("-" = stdin); the flags below override its fields`)
	fs.BoolVar(&enabled, "enabled", false, "whether BOS acts on the components")
	fs.StringVar(&errText, "error", "", "set the components' error text (\"\" clears it)")
	fs.StringVar(&session, "session", "", "set the owning session (\"\" detaches the components)")
	fs.IntVar(&retry, "retry-policy", 0, "attempts per power action for these components")
	fs.StringVar(&filterSession, "filter-session", "", "change every component owned by this session (instead of IDs)")
	fs.BoolVar(&skipBad, "skip-bad-ids", false, "skip unknown IDs instead of failing the whole request")
	return func(c *call) (any, error) {
		var ids []string
		for _, a := range c.args {
			for _, id := range strings.Split(a, ",") {
				if id != "" {
					ids = append(ids, id)
				}
			}
		}
		if (len(ids) == 0) == (filterSession == "") {
			return nil, errors.New("name the components: IDs or --filter-session, one of the two")
		}
		var p bos.ComponentPatch
		if file != "" {
			raw, err := readJSONFile(c, file)
			if err != nil {
				return nil, err
			}
			if err := decodeStrict("--file "+file, raw, &p); err != nil {
				return nil, err
			}
		}
		if c.changed("enabled") {
			p.Enabled = &enabled
		}
		if c.changed("error") {
			p.Error = &errText
		}
		if c.changed("session") {
			p.Session = &session
		}
		if c.changed("retry-policy") {
			p.RetryPolicy = &retry
		}
		if reflect.ValueOf(p).IsZero() {
			return nil, errors.New("nothing to change: give --file or a field flag (--enabled, --error, --session, --retry-policy)")
		}
		return v2Call(c, func(cl *bosapi.Client) (any, error) {
			if len(ids) == 1 && !skipBad {
				return cl.PatchComponent(c.ctx, ids[0], p)
			}
			return cl.PatchComponentsFiltered(c.ctx, p, ids, filterSession, skipBad)
		})
	}
}

func applyStaged(fs *pflag.FlagSet) action {
	var xnames []string
	fs.StringSliceVar(&xnames, "xnames", nil, "nodes whose staged state to apply (comma-separated or repeated; required)")
	return func(c *call) (any, error) {
		if len(xnames) == 0 {
			return nil, errors.New("--xnames is required")
		}
		return v2Call(c, func(cl *bosapi.Client) (any, error) { return cl.ApplyStaged(c.ctx, xnames) })
	}
}

// optionsUpdate has one flag per option, made from the fields of bos.Options (so a new
// option gets its flag without a change here); only the flags given are sent.
func optionsUpdate(fs *pflag.FlagSet) action {
	values := map[string]any{} // option name → pointer to its flag value
	def := reflect.ValueOf(bos.DefaultOptions())
	t := def.Type()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		flag := strings.ReplaceAll(name, "_", "-")
		usage := fmt.Sprintf("set %s (BOS default: %v)", name, def.Field(i).Interface())
		switch t.Field(i).Type.Kind() {
		case reflect.Int:
			values[name] = fs.Int(flag, 0, usage)
		case reflect.Bool:
			values[name] = fs.Bool(flag, false, usage)
		case reflect.String:
			values[name] = fs.String(flag, "", usage)
		}
	}
	return func(c *call) (any, error) {
		patch := map[string]any{}
		for name, p := range values {
			if c.changed(strings.ReplaceAll(name, "_", "-")) {
				patch[name] = reflect.ValueOf(p).Elem().Interface()
			}
		}
		if len(patch) == 0 {
			return nil, errors.New("nothing to change: give at least one option flag (see --help)")
		}
		return v2Call(c, func(cl *bosapi.Client) (any, error) { return cl.PatchOptions(c.ctx, patch) })
	}
}

// watchExitCodes documents the exit status of --watch.
const watchExitCodes = `Exit status with --watch: 0 every node succeeded; 1 an error (the session could not be
read or could not run); 3 it completed with failed nodes; 4 --watch-timeout expired first;
130 interrupted (Ctrl-C).`

// watchable adds --watch and --watch-timeout to a status command: without --watch it
// runs show; with it, it follows the session view makes.
func watchable(show action, view func(*call, *bosapi.Client) sessionView) func(*pflag.FlagSet) action {
	return func(fs *pflag.FlagSet) action {
		var (
			watch   bool
			timeout time.Duration
		)
		fs.BoolVar(&watch, "watch", false, "follow the session to the end with a progress line, then summarise it")
		fs.DurationVar(&timeout, "watch-timeout", 0, "with --watch, give up after this long (0 = follow until it ends)")
		return func(c *call) (any, error) {
			if !watch {
				return show(c)
			}
			cl, err := c.v2()
			if err != nil {
				return nil, err
			}
			return nil, follow(c.parent, view(c, cl), followConfig{
				name: c.args[0], timeout: timeout, interval: time.Second,
				out: c.stdout, err: c.err, format: c.env.format, progress: newProgress(c.err),
			})
		}
	}
}
