package slurmreboot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/internal/problem"
	"github.com/cray-bos/bos/internal/xname"
)

// Defaults.
const (
	// DefaultTimeout bounds one whole run: the HSM lookups, the applystaged call and
	// their retries. slurmctld waits for the program without a limit of its own, so the
	// program must bound itself.
	DefaultTimeout = 60 * time.Second
	// lookupBatch is how many NIDs go in one HSM query string.
	lookupBatch = 100
	// attempts per HTTP call that may be retried (see retryable).
	attempts = 3
)

// ErrIncomplete is returned (wrapped, with the details) when the run finished but not
// every node was applied: a name had no xname, or BOS put an xname in failed or ignored.
var ErrIncomplete = errors.New("not every node was applied")

// Config says where BOS and HSM are and how to talk to them.
type Config struct {
	// BOSURL is BOS's base URL, scheme://host:port (the client adds /v2). Required.
	BOSURL string
	// HSMURL is HSM's base URL, scheme://host:port (the client adds /hsm/v2). Required
	// unless every node name is an xname.
	HSMURL string
	// Tenant, when set, is sent as Cray-Tenant-Name to BOS: nodes outside the tenant are
	// ignored by BOS (and so make the run fail).
	Tenant string
	// Token, when set, is sent as "Authorization: Bearer <Token>" to BOS and HSM (what the
	// API gateway wants; our services ignore it).
	Token string
	// Timeout bounds one run. Default DefaultTimeout.
	Timeout time.Duration
	// RetryDelay is the wait before the first retry of a call that may be retried; it
	// doubles each time. Default 250ms.
	RetryDelay time.Duration
	// HTTPClient is used for every request; nil means a client of its own (no timeout
	// beyond Timeout).
	HTTPClient *http.Client
	// Logger receives one line per step; nil discards.
	Logger *slog.Logger
}

// Program maps Slurm node names to xnames and applies their staged BOS state. It is
// safe for concurrent use; each Run is independent.
type Program struct {
	cfg Config
	bos *bosapi.Client
	hsm *hsmapi.Client
}

// New checks cfg and builds the clients.
func New(cfg Config) (*Program, error) {
	if cfg.BOSURL == "" {
		return nil, errors.New("slurm-reboot: no BOS URL configured")
	}
	if cfg.Timeout < 0 || cfg.RetryDelay < 0 {
		return nil, errors.New("slurm-reboot: Timeout and RetryDelay must not be negative")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.RetryDelay == 0 {
		cfg.RetryDelay = 250 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if cfg.Token != "" {
		cp := *hc
		base := cp.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		cp.Transport = bearer{token: cfg.Token, next: base}
		hc = &cp
	}
	p := &Program{cfg: cfg, bos: bosapi.NewClient(cfg.BOSURL, hc)}
	if cfg.Tenant != "" {
		p.bos = p.bos.WithTenant(cfg.Tenant)
	}
	if cfg.HSMURL != "" {
		p.hsm = hsmapi.NewClient(cfg.HSMURL, hc)
	}
	return p, nil
}

// bearer adds the token to every request.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// Result is what one run did.
type Result struct {
	// Nodes are the Slurm node names asked for, without duplicates, in the given order.
	Nodes []string
	// Xnames maps each node name that was found to its xname.
	Xnames map[string]string
	// Unmapped are the names with no xname (not nidNNNNNN nor an xname, or unknown to HSM).
	Unmapped []string
	// Succeeded, Failed and Ignored are BOS's applystaged answer (xnames).
	Succeeded, Failed, Ignored []string
}

// OK reports whether every node was applied.
func (r Result) OK() bool {
	if len(r.Unmapped) > 0 || len(r.Failed) > 0 || len(r.Ignored) > 0 {
		return false
	}
	ok := make(map[string]bool, len(r.Succeeded))
	for _, x := range r.Succeeded {
		ok[x] = true
	}
	for _, x := range r.Xnames {
		if !ok[x] {
			return false
		}
	}
	return true
}

// ParseNodeList splits the argument slurmctld passes (argv[1]: node names joined by
// commas, fully expanded, never a bracketed range). Empty items are skipped; a bracket
// means the caller passed a hostlist, which Slurm never does, and is an error rather than
// a guess.
func ParseNodeList(arg string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(arg, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.ContainsAny(f, "[] \t") {
			return nil, fmt.Errorf("node list %q: %q is not a node name (slurmctld passes expanded names)", arg, f)
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("node list %q names no node", arg)
	}
	return out, nil
}

// Reboot is slurmsim's RebootProgram: one Run, its error only.
func (p *Program) Reboot(ctx context.Context, nodes []string) error {
	_, err := p.Run(ctx, nodes)
	return err
}

// Run applies the staged state of nodes: names → xnames through HSM, one POST
// /v2/applystaged for all of them, then the answer is checked. The error is nil only if
// every node was applied; when the run got as far as BOS's answer, the error wraps
// ErrIncomplete and the Result says which nodes went where.
func (p *Program) Run(ctx context.Context, nodes []string) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	log := p.cfg.Logger
	res := Result{Nodes: dedupe(nodes), Xnames: map[string]string{}}
	log.Info("slurm-reboot: applying staged state", "nodes", len(res.Nodes), "list", strings.Join(res.Nodes, ","))

	if err := p.mapNodes(ctx, &res); err != nil {
		log.Error("slurm-reboot: node lookup failed", "err", err)
		return res, fmt.Errorf("slurm-reboot: look up xnames: %w", err)
	}
	if len(res.Unmapped) > 0 {
		log.Error("slurm-reboot: nodes without an xname", "nodes", strings.Join(res.Unmapped, ","))
	}
	xnames := make([]string, 0, len(res.Xnames))
	for _, n := range res.Nodes {
		if x, ok := res.Xnames[n]; ok {
			xnames = append(xnames, x)
		}
	}
	xnames = dedupe(xnames) // nid1 and nid000001 are one node
	if len(xnames) > 0 {
		var resp bosapi.ApplyStagedResponse
		err := p.retry(ctx, "applystaged", dialFailed, func(ctx context.Context) (err error) {
			resp, err = p.bos.ApplyStaged(ctx, xnames)
			return err
		})
		if err != nil {
			log.Error("slurm-reboot: applystaged failed", "err", err)
			return res, fmt.Errorf("slurm-reboot: applystaged: %w", err)
		}
		res.Succeeded, res.Failed, res.Ignored = resp.Succeeded, resp.Failed, resp.Ignored
		log.Info("slurm-reboot: applystaged answered", "succeeded", len(res.Succeeded), "failed", len(res.Failed), "ignored", len(res.Ignored))
		if len(res.Failed) > 0 {
			log.Error("slurm-reboot: BOS failed to apply", "xnames", strings.Join(res.Failed, ","))
		}
		if len(res.Ignored) > 0 {
			log.Error("slurm-reboot: BOS ignored (nothing staged, unknown, or outside the tenant)", "xnames", strings.Join(res.Ignored, ","))
		}
	}
	if !res.OK() {
		return res, fmt.Errorf("slurm-reboot: %w: %d of %d nodes applied (%d without xname, %d failed, %d ignored)",
			ErrIncomplete, len(res.Succeeded), len(res.Nodes), len(res.Unmapped), len(res.Failed), len(res.Ignored))
	}
	log.Info("slurm-reboot: every node applied", "nodes", len(res.Nodes))
	return res, nil
}

// mapNodes fills res.Xnames and res.Unmapped. Names that are node xnames stand for
// themselves; nidNNNNNN names are looked up in HSM by NID (type Node), lookupBatch NIDs
// per query.
func (p *Program) mapNodes(ctx context.Context, res *Result) error {
	byNID := map[int][]string{} // NID → names (nid1 and nid000001 are the same node)
	var nids []int
	for _, name := range res.Nodes {
		if x := xname.Normalize(name); xname.TypeOf(x) == xname.Node {
			res.Xnames[name] = x
			continue
		}
		nid, ok := slurmapi.NIDOf(name)
		if !ok {
			res.Unmapped = append(res.Unmapped, name)
			continue
		}
		if _, seen := byNID[nid]; !seen {
			nids = append(nids, nid)
		}
		byNID[nid] = append(byNID[nid], name)
	}
	if len(nids) > 0 && p.hsm == nil {
		return errors.New("no HSM URL configured to map nid names to xnames")
	}
	for start := 0; start < len(nids); start += lookupBatch {
		chunk := nids[start:min(start+lookupBatch, len(nids))]
		f := hsmapi.ComponentFilter{Type: []string{string(xname.Node)}, NIDOnly: true}
		for _, nid := range chunk {
			f.NID = append(f.NID, strconv.Itoa(nid))
		}
		var comps []hsmapi.Component
		err := p.retry(ctx, "hsm lookup", transient, func(ctx context.Context) (err error) {
			comps, err = p.hsm.GetComponents(ctx, f)
			return err
		})
		if err != nil {
			return err
		}
		for _, c := range comps {
			for _, name := range byNID[c.NID] {
				res.Xnames[name] = c.ID
			}
		}
	}
	for _, name := range res.Nodes {
		if _, ok := res.Xnames[name]; !ok && !slices.Contains(res.Unmapped, name) {
			res.Unmapped = append(res.Unmapped, name)
		}
	}
	return nil
}

// retry runs call until it succeeds, fails in a way again() does not accept, attempts
// run out, or ctx ends.
func (p *Program) retry(ctx context.Context, what string, again func(error) bool, call func(context.Context) error) error {
	delay := p.cfg.RetryDelay
	var err error
	for i := 1; ; i++ {
		if err = call(ctx); err == nil || i == attempts || !again(err) || ctx.Err() != nil {
			return err
		}
		p.cfg.Logger.Warn("slurm-reboot: retrying", "call", what, "attempt", i, "err", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
		delay *= 2
	}
}

// dialFailed: the request never reached the server, so sending it again cannot apply a
// node twice (a second applystaged of a reboot would reboot it again).
func dialFailed(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// transient: worth retrying an idempotent read.
func transient(err error) bool {
	if dialFailed(err) {
		return true
	}
	switch st := problem.StatusOf(err); {
	case st == http.StatusTooManyRequests, st >= 500:
		return true
	case st != 0:
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) // connection reset, timeout of one attempt...
}

func dedupe(names []string) []string {
	seen := make(map[string]bool, len(names))
	out := make([]string, 0, len(names))
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}
