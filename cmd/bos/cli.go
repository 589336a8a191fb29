package main

// The client half of the binary: `bos v2 ...` and `bos v1 ...` mirror `cray bos v2 ...` and
// `cray bos v1 ...` (verbs list, describe, create, update, delete; positional arguments for
// path parameters; body fields as --kebab-case flags). Families of commands are rows of a
// table (cliV2Families, cliV1Families) built into cobra commands by one function, so each
// command is only its flags and the client call it makes.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/internal/stack"
)

// Environment variables the client reads.
const (
	envURL       = "BOS_URL"        // the BOS address, as --url
	envURLsFile  = "BOS_URLS_FILE"  // a URLs file written by bos up/serve, as --urls-file
	envTokenFile = "BOS_TOKEN_FILE" // a file holding a bearer token, as --token-file
)

// family is a group of commands under one noun (`sessions`), or one command itself when
// leaf is set (`applystaged`).
type family struct {
	name  string
	short string
	verbs []verb
	sub   []family
	leaf  *verb
}

// verb is one command: its positional arguments and a setup that registers its flags and
// returns what it does.
type verb struct {
	name    string
	args    []string // positional names: "NAME", "[NAME]" (optional), "ID..." (one or more), "[ID...]" (any number)
	short   string
	long    string
	example string
	setup   func(fs *pflag.FlagSet) action
}

// action runs a command and returns what to print: a value rendered in the chosen format,
// a notice (printed to stderr), or nil.
type action func(c *call) (any, error)

// notice is a result that only confirms what was done (deletions).
type notice string

// call is what an action works with.
type call struct {
	ctx   context.Context
	env   *cliEnv
	args  []string
	flags *pflag.FlagSet
	stdin io.Reader
	// parent is the command's context without the --timeout of ctx (each request is
	// still bounded by the HTTP client's), for commands that follow a session.
	parent      context.Context
	stdout, err io.Writer
}

// v2 is the typed v2 client for this call's address and tenant.
func (c *call) v2() (*bosapi.Client, error) {
	base, err := c.env.baseURL()
	if err != nil {
		return nil, err
	}
	cl := bosapi.NewClient(base, c.env.httpClient())
	if c.env.tenant != "" {
		cl = cl.WithTenant(c.env.tenant)
	}
	token, err := c.env.token()
	if err != nil {
		return nil, err
	}
	if token != "" {
		cl = cl.WithToken(token)
	}
	return cl, nil
}

// changed reports whether the user gave flag name.
func (c *call) changed(name string) bool { return c.flags.Changed(name) }

// cliEnv holds the flags every client command of a service shares.
type cliEnv struct {
	svc                           *service
	url, urlsFile, tenant, format string
	tokenFile                     string
	timeout                       time.Duration
	transport                     *http.Transport
}

// service says where a client finds a service's address: a flag, an environment
// variable, then an entry of the URLs file.
type service struct {
	name, flag, env, entry string
	pick                   func(stack.URLs) string
	apiPaths               []string // API paths an address may be copied with; dropped
	tenants                bool     // has the --tenant flag
}

var (
	bosService = &service{name: "BOS", flag: "url", env: envURL, entry: "bos", tenants: true,
		pick: func(u stack.URLs) string { return u.BOS }, apiPaths: []string{"/v2", "/v1"}}
	hsmService = &service{name: "HSM", flag: "hsm-url", env: envHSMURL, entry: "hsm",
		pick: func(u stack.URLs) string { return u.HSM }, apiPaths: []string{hsmapi.BasePath}}
)

func (e *cliEnv) register(fs *pflag.FlagSet) {
	svc := e.service()
	fs.StringVar(&e.url, svc.flag, "", fmt.Sprintf("%s address, scheme://host:port (default $%s, else the %s entry of --urls-file)", svc.name, svc.env, svc.entry))
	fs.StringVar(&e.urlsFile, "urls-file", "", fmt.Sprintf(`read the %s address from this file ({"%s": URL}, as bos up writes it; default $%s)`, svc.name, svc.entry, envURLsFile))
	if svc.tenants {
		fs.StringVar(&e.tenant, "tenant", "", "act as this tenant (sends the Cray-Tenant-Name header)")
		fs.StringVar(&e.tokenFile, "token-file", "", "file holding a bearer token for a BOS that requires one (default $"+envTokenFile+")")
	}
	fs.StringVar(&e.format, "format", "table", "output format: table or json")
	fs.DurationVar(&e.timeout, "timeout", time.Minute, "give up on a request after this long")
}

func (e *cliEnv) service() *service {
	if e.svc == nil {
		return bosService
	}
	return e.svc
}

// baseURL resolves the service's address: the flag, the environment, then the URLs file.
func (e *cliEnv) baseURL() (string, error) {
	svc := e.service()
	raw := e.url
	if raw == "" {
		raw = os.Getenv(svc.env)
	}
	if raw == "" {
		file := e.urlsFile
		if file == "" {
			file = os.Getenv(envURLsFile)
		}
		if file == "" {
			return "", fmt.Errorf("no %s address: give --%s URL, set %s, or name a URLs file with --urls-file (or %s)", svc.name, svc.flag, svc.env, envURLsFile)
		}
		urls, err := readURLs(file)
		if err != nil {
			return "", err
		}
		if raw = svc.pick(urls); raw == "" {
			return "", fmt.Errorf("urls file %s has no %q entry (is %s running there?)", file, svc.entry, svc.name)
		}
	}
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%s address %q: want http(s)://host:port", svc.name, raw)
	}
	// The client adds the API path (/v2, /v1, /hsm/v2); an address copied with one still works.
	path := strings.TrimRight(u.Path, "/")
	for _, p := range svc.apiPaths {
		path = strings.TrimSuffix(path, p)
	}
	return u.Scheme + "://" + u.Host + path, nil
}

// token reads the bearer token from --token-file or $BOS_TOKEN_FILE; "" without either.
func (e *cliEnv) token() (string, error) {
	file := e.tokenFile
	if file == "" {
		file = os.Getenv(envTokenFile)
	}
	if file == "" {
		return "", nil
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	token := strings.TrimSpace(string(raw))
	if token == "" {
		return "", fmt.Errorf("token file %s is empty", file)
	}
	return token, nil
}

// httpClient returns a client on the command's own transport, so the connections it opens
// are closed when the command ends (closeIdle) instead of lingering in a shared pool.
func (e *cliEnv) httpClient() *http.Client {
	if e.transport == nil {
		e.transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	return &http.Client{Timeout: e.timeout, Transport: e.transport}
}

func (e *cliEnv) closeIdle() {
	if e.transport != nil {
		e.transport.CloseIdleConnections()
	}
}

// addClientCommands adds `bos v2`, `bos v1` and, for interactive use, the v2 families at
// the top level (`bos sessions list` = `bos v2 sessions list`, with a note on stderr).
func addClientCommands(root *cobra.Command) {
	env := &cliEnv{}
	v2 := &cobra.Command{
		Use:   "v2",
		Short: "Client of the BOS v2 API: session templates, sessions, components, options",
		Long: `The BOS v2 API from the command line, as "cray bos v2": each command is one request;
results print as a table or as the API's JSON (--format json).

The BOS address comes from --url, $` + envURL + `, or the "bos" entry of a URLs file
(--urls-file or $` + envURLsFile + `, as "bos up" and "bos serve" write it).
Errors from BOS print its problem title and detail; the exit status is then 1.`,
	}
	v2.RunE = groupRun
	env.register(v2.PersistentFlags())
	for _, f := range cliV2Families() {
		v2.AddCommand(env.familyCommand(f, "v2", false))
	}
	v1 := &cobra.Command{
		Use:   "v1",
		Short: "Client of the BOS v1 API: session templates and sessions (lockstep)",
		Long: `The BOS v1 API from the command line, as "cray bos v1" did. The address and output
flags are those of "bos v2".`,
	}
	v1.RunE = groupRun
	env.register(v1.PersistentFlags())
	for _, f := range cliV1Families() {
		v1.AddCommand(env.familyCommand(f, "v1", false))
	}
	root.AddCommand(v2, v1)
	for _, f := range cliV2Families() {
		cmd := env.familyCommand(f, "v2", true)
		cmd.Hidden = true // listed once, under v2
		env.register(cmd.PersistentFlags())
		root.AddCommand(cmd)
	}
}

// familyCommand builds the cobra command of a family. defaulted marks the copy at the top
// level, whose commands say on stderr that they chose v2.
func (e *cliEnv) familyCommand(f family, version string, defaulted bool) *cobra.Command {
	cmd := &cobra.Command{Use: f.name, Short: f.short, RunE: groupRun}
	if f.leaf != nil {
		e.bind(cmd, *f.leaf, version, defaulted) // a family may also have verbs (v1 session status)
		if len(f.verbs) > 0 {
			cmd.Args = leafOrVerbArgs(cmd.Args)
		}
	}
	for _, v := range f.verbs {
		sub := &cobra.Command{Use: v.name}
		e.bind(sub, v, version, defaulted)
		cmd.AddCommand(sub)
	}
	for _, s := range f.sub {
		cmd.AddCommand(e.familyCommand(s, version, defaulted))
	}
	return cmd
}

// leafOrVerbArgs checks the arguments of a family that runs itself and has verbs (`v1
// session status ID` and `v1 session status list ID`): when they do not fit and the first
// is close to a verb's name, it was a mistyped verb.
func leafOrVerbArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	if check == nil {
		check = cobra.ArbitraryArgs
	}
	return func(cmd *cobra.Command, args []string) error {
		err := check(cmd, args)
		if err != nil && len(args) > 0 && len(suggestions(cmd, args[0])) > 0 {
			return unknownCommand(cmd, args[0])
		}
		return err
	}
}

// groupRun is what a group of commands does when run: help without arguments, an error
// for an unknown command (cobra would print help and succeed).
func groupRun(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	return unknownCommand(cmd, args[0])
}

// unknownCommand is the error for a mistyped command under group cmd, with the
// subcommands it may have meant.
func unknownCommand(cmd *cobra.Command, typed string) error {
	msg := fmt.Sprintf("unknown command %q for %q", typed, cmd.CommandPath())
	if s := suggestions(cmd, typed); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return errors.New(msg)
}

// suggestions are the subcommands of cmd that start with typed, or are the closest to it
// within two edits; the closest first. Unlike cobra's SuggestionsFor (whose distance is
// only set up on the root) this works at every level, and it includes hidden commands
// (bos sessions = bos v2 sessions).
func suggestions(cmd *cobra.Command, typed string) []string {
	typed = strings.ToLower(typed)
	type match struct {
		name   string
		dist   int
		prefix bool
	}
	var found []match
	best := 3
	for _, c := range cmd.Commands() {
		if c.Deprecated != "" || c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		m := match{name: c.Name(), dist: 1 << 30}
		for _, name := range append(append([]string{c.Name()}, c.Aliases...), c.SuggestFor...) {
			name = strings.ToLower(name)
			m.prefix = m.prefix || strings.HasPrefix(name, typed)
			m.dist = min(m.dist, editDistance(typed, name))
		}
		best = min(best, m.dist)
		found = append(found, m)
	}
	found = slices.DeleteFunc(found, func(m match) bool { return !m.prefix && m.dist > best })
	slices.SortStableFunc(found, func(a, b match) int { return cmp.Compare(a.dist, b.dist) })
	var out []string
	for _, m := range found {
		out = append(out, m.name)
	}
	return out
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// strictGroups makes every command group of the tree under root (root included) fail on
// an unknown subcommand, with suggestions, even when flags follow the typo: cobra checks
// only the root, and reports a mistyped command followed by its flags as an unknown flag.
func strictGroups(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasSubCommands() {
			if c.Run == nil && c.RunE == nil {
				c.RunE = groupRun
			}
			if c.Args == nil {
				c.Args = cobra.ArbitraryArgs
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		if c.HasSubCommands() && c.Flags().NArg() > 0 {
			return unknownCommand(c, c.Flags().Arg(0))
		}
		return err
	})
}

// bind makes cmd run v.
func (e *cliEnv) bind(cmd *cobra.Command, v verb, version string, defaulted bool) {
	if len(v.args) > 0 {
		cmd.Use += " " + strings.Join(v.args, " ")
	}
	if v.short != "" {
		cmd.Short = v.short // a leaf family keeps its own
	}
	cmd.Long, cmd.Example = v.long, v.example
	cmd.Args = positional(v.args)
	act := v.setup(cmd.Flags())
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if defaulted {
			fmt.Fprintf(cmd.ErrOrStderr(), "bos: no API version given, using %s; scripts should name it: %s\n",
				version, strings.Replace(cmd.CommandPath(), "bos ", "bos "+version+" ", 1))
		}
		// Positional arguments are path segments: an empty one would name the collection
		// (bos v2 sessions delete "" was DELETE /v2/sessions/, a bulk delete).
		for i, a := range args {
			if strings.TrimSpace(a) == "" {
				return fmt.Errorf("argument %d is empty; usage: %s", i+1, cmd.UseLine())
			}
		}
		if e.format != "table" && e.format != "json" {
			return fmt.Errorf("--format must be table or json, not %q", e.format)
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), e.timeout)
		defer cancel()
		defer e.closeIdle()
		out, err := act(&call{ctx: ctx, env: e, args: args, flags: cmd.Flags(), stdin: cmd.InOrStdin(),
			parent: cmd.Context(), stdout: cmd.OutOrStdout(), err: cmd.ErrOrStderr()})
		if err != nil {
			return err
		}
		switch out := out.(type) {
		case nil:
			return nil
		case notice:
			fmt.Fprintln(cmd.ErrOrStderr(), out)
			return nil
		default:
			return render(cmd.OutOrStdout(), e.format, out)
		}
	}
}

// positional turns argument names into cobra's check.
func positional(names []string) cobra.PositionalArgs {
	required, optional, variadic := 0, 0, false
	for _, n := range names {
		switch {
		case strings.HasPrefix(n, "[") && strings.HasSuffix(n, "...]"):
			return cobra.ArbitraryArgs
		case strings.HasPrefix(n, "["):
			optional++
		case strings.HasSuffix(n, "..."):
			required++
			variadic = true
		default:
			required++
		}
	}
	switch {
	case variadic:
		return cobra.MinimumNArgs(required)
	case optional == 0:
		return cobra.ExactArgs(required)
	}
	return cobra.RangeArgs(required, required+optional)
}

// readJSONFile reads a JSON document from path ("-" = stdin), for --file flags.
func readJSONFile(c *call, path string) ([]byte, error) {
	var (
		b   []byte
		err error
	)
	if path == "-" {
		b, err = io.ReadAll(c.stdin)
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("--file: %w", err)
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("--file %s: not valid JSON", path)
	}
	// Timestamps as BOS writes them (naive, UTC) or RFC 3339, as the API takes them.
	if b, err = bosapi.FromWire(b); err != nil {
		return nil, fmt.Errorf("--file %s: %w", path, err)
	}
	return b, nil
}

// decodeStrict decodes b into v, refusing unknown fields so a typo fails here rather than
// as a 400 from BOS.
func decodeStrict(what string, b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if dec.More() {
		return errors.New(what + ": more than one JSON value")
	}
	return nil
}
