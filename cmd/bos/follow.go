package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	bos "github.com/cray-bos/bos/orchestrator"

	"github.com/cray-bos/bos/api/bosapi"
)

// Exit statuses of the commands that follow a session (bos up --boot, the status
// commands with --watch); 1 is any other error.
const (
	exitFailedNodes = 3   // the session completed, some nodes failed
	exitTimedOut    = 4   // gave up following before the session completed
	exitInterrupted = 130 // Ctrl-C or SIGTERM
)

// exitError ends the command with its code; msg (if any) is printed as is.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

var errInterrupted = &exitError{code: exitInterrupted, msg: "interrupted"}

// exitStatus is what main prints and the process's exit code for err.
func exitStatus(err error) (string, int) {
	var ee *exitError
	switch {
	case err == nil:
		return "", 0
	case errors.As(err, &ee):
		return ee.msg, ee.code
	case errors.Is(err, errSilent):
		return "", 1
	}
	return "ERROR: " + err.Error(), 1
}

// sessionView reads one session, v2 or v1, for follow.
type sessionView interface {
	// look reads the progress; a non-empty failure says the session could not run.
	look(ctx context.Context) (l look, failure string, err error)
	// report reads what to print when following ends.
	report(ctx context.Context) (report, error)
}

// report is what a followed session ended with.
type report struct {
	doc    any     // the status document, printed on stdout
	causes []cause // failed nodes by error text, largest group first
	where  []count // nodes by phase and status (printed when the session has not completed)
	retry  string  // the command that retries the failed nodes
}

type cause struct {
	text string
	ids  []string
}

type count struct {
	what string
	n    int
}

// followConfig says how to follow.
type followConfig struct {
	name     string        // the session, for messages
	timeout  time.Duration // 0 = until it completes
	interval time.Duration // between looks
	out, err io.Writer     // the status document; progress and summary
	format   string        // of the status document: json or table
	progress *progress
}

// follow looks at a session every interval until it completes, showing progress, then
// prints its status document and, when nodes failed or following timed out, a summary.
// The error says how it ended (exitError codes), nil when every node succeeded.
func follow(ctx context.Context, v sessionView, cfg followConfig) error {
	fctx, cancel := ctx, context.CancelFunc(func() {})
	if cfg.timeout > 0 {
		fctx, cancel = context.WithTimeout(ctx, cfg.timeout)
	}
	defer cancel()
	p := cfg.progress
	start := p.now()
	seen := false
	var last look
	for {
		l, failure, err := v.look(fctx)
		switch {
		case err == nil && failure != "":
			p.done()
			return fmt.Errorf("session %s failed: %s", cfg.name, failure)
		case err == nil:
			seen, last = true, l
			p.show(p.now().Sub(start), l)
		case !seen && fctx.Err() == nil:
			return err // a session that cannot be read at all (not found, BOS down)
		}
		if seen && last.complete || !sleep(fctx, cfg.interval) {
			break
		}
	}
	p.done()
	if ctx.Err() != nil {
		return errInterrupted
	}
	// A fresh context: the report is read after fctx expired.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer rcancel()
	r, err := v.report(rctx)
	if err != nil {
		return fmt.Errorf("session %s: reading its final state: %w", cfg.name, err)
	}
	if err := render(cfg.out, cfg.format, r.doc); err != nil {
		return err
	}
	if !last.complete {
		fmt.Fprintf(cfg.err, "timed out after %s following session %s; it is still running. Where its nodes are:\n", cfg.timeout, cfg.name)
		for _, c := range r.where {
			fmt.Fprintf(cfg.err, "  %6d  %s\n", c.n, c.what)
		}
		printCauses(cfg.err, r)
		return &exitError{code: exitTimedOut}
	}
	if len(r.causes) == 0 {
		return nil
	}
	printCauses(cfg.err, r)
	return &exitError{code: exitFailedNodes}
}

// maxIDsShown is how many ids of each cause the summary names.
const maxIDsShown = 5

func printCauses(w io.Writer, r report) {
	if len(r.causes) == 0 {
		return
	}
	n := 0
	for _, c := range r.causes {
		n += len(c.ids)
	}
	fmt.Fprintf(w, "%d failed nodes, by cause:\n", n)
	for _, c := range r.causes {
		ids := strings.Join(c.ids[:min(len(c.ids), maxIDsShown)], ",")
		if more := len(c.ids) - maxIDsShown; more > 0 {
			ids += fmt.Sprintf(" and %d more", more)
		}
		fmt.Fprintf(w, "  %6d  %s\n          %s\n", len(c.ids), c.text, ids)
	}
	if r.retry != "" {
		fmt.Fprintf(w, "retry them with:\n  %s\n", r.retry)
	}
}

// groupCauses turns node → error text into causes, largest first (then by text), each
// with its ids sorted.
func groupCauses(errs map[string]string) []cause {
	byText := map[string][]string{}
	for id, text := range errs {
		if text == "" {
			text = "(no error recorded)"
		}
		byText[text] = append(byText[text], id)
	}
	out := make([]cause, 0, len(byText))
	for text, ids := range byText {
		sort.Strings(ids)
		out = append(out, cause{text: text, ids: ids})
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i].ids) != len(out[j].ids) {
			return len(out[i].ids) > len(out[j].ids)
		}
		return out[i].text < out[j].text
	})
	return out
}

func sortedCounts(m map[string]int) []count {
	out := make([]count, 0, len(m))
	for what, n := range m {
		out = append(out, count{what, n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].n != out[j].n {
			return out[i].n > out[j].n
		}
		return out[i].what < out[j].what
	})
	return out
}

// v2View follows a v2 session.
type v2View struct {
	c    *bosapi.Client
	name string
}

func (v v2View) look(ctx context.Context) (look, string, error) {
	s, err := v.c.SessionStatus(ctx, v.name)
	if err != nil {
		return look{}, "", err
	}
	l := look{total: s.ManagedComponentsCount, done: s.PercentSuccessful, failed: s.PercentFailed,
		complete: s.Status == bos.SessionComplete,
		phases: []share{{"powering off", "off", s.Phases.PercentPoweringOff}, {"powering on", "on", s.Phases.PercentPoweringOn},
			{"configuring", "cfg", s.Phases.PercentConfiguring}}}
	if l.complete {
		sess, err := v.c.GetSession(ctx, v.name)
		if err != nil {
			return look{}, "", err
		}
		if e := sess.Status.Error; e != nil && *e != "" {
			return l, *e, nil
		}
	}
	return l, "", nil
}

func (v v2View) report(ctx context.Context) (report, error) {
	status, err := v.c.SessionStatus(ctx, v.name)
	if err != nil {
		return report{}, err
	}
	sess, err := v.c.GetSession(ctx, v.name)
	if err != nil {
		return report{}, err
	}
	comps, err := v.c.ListComponents(ctx, bosapi.ComponentQuery{Session: v.name})
	if err != nil {
		return report{}, err
	}
	failed := map[string]string{}
	where := map[string]int{}
	for _, c := range comps {
		st := bos.ComputeStatus(&c)
		switch {
		case st == bos.StatusFailed:
			failed[c.ID] = c.Error
			where["failed"]++
		case st == bos.StatusStable:
			where["done"]++
		default:
			where[strings.TrimPrefix(c.Status.Phase+" / "+st, " / ")]++
		}
	}
	r := report{doc: status, causes: groupCauses(failed), where: sortedCounts(where)}
	if len(failed) > 0 {
		ids := slices.Sorted(maps.Keys(failed))
		r.retry = "bos v2 sessions create --template-name " + shellQuote(sess.TemplateName) + " --operation " + sess.Operation +
			" --limit " + strings.Join(ids, ",")
	}
	return r, nil
}

// shellQuote quotes s for a POSIX shell when it holds anything beyond name characters.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._", r))
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// sleep waits d, or less if ctx ends first (then it returns false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// v1View follows a v1 session.
type v1View struct {
	c  *bosapi.Client
	id string
}

// nodes reads the session's status and says where each node is: the first phase it has
// not passed, "done", or "failed" (in any phase); errs holds the error of each failed node.
func (v v1View) nodes(ctx context.Context) (status bos.V1SessionStatus, where map[string]string, errs map[string]string, phases []string, err error) {
	status, err = v.c.V1SessionStatus(ctx, v.id)
	if err != nil {
		return status, nil, nil, nil, err
	}
	where, errs = map[string]string{}, map[string]string{}
	for _, name := range status.BootSets {
		bs, err := v.c.V1BootSetStatus(ctx, v.id, name)
		if err != nil {
			return status, nil, nil, nil, err
		}
		cat := map[string]map[string]string{} // phase → node → category
		for _, ph := range bs.Phases {
			if !slices.Contains(phases, ph.Name) {
				phases = append(phases, ph.Name)
			}
			cat[ph.Name] = map[string]string{}
			for _, c := range ph.Categories {
				for _, id := range c.NodeList {
					cat[ph.Name][id] = c.Name
				}
			}
			for msg, ids := range ph.Errors {
				for _, id := range ids {
					errs[id] = msg
				}
			}
		}
		for _, ph := range bs.Phases {
			for id, c := range cat[ph.Name] {
				switch {
				case where[id] == "failed":
				case c == bos.CategoryFailed:
					where[id] = "failed"
				case where[id] == "" && c != bos.CategorySucceeded && c != bos.CategoryExcluded:
					where[id] = ph.Name
				}
			}
		}
		for _, ph := range bs.Phases {
			for id := range cat[ph.Name] {
				if where[id] == "" {
					where[id] = "done"
				}
			}
		}
	}
	return status, where, errs, phases, nil
}

func (v v1View) look(ctx context.Context) (look, string, error) {
	d, err := v.c.V1GetSession(ctx, v.id)
	if err != nil {
		return look{}, "", err
	}
	if d.Error != "" {
		return look{}, d.Error, nil
	}
	_, where, _, phases, err := v.nodes(ctx)
	if err != nil {
		return look{}, "", err
	}
	n := map[string]int{}
	for _, w := range where {
		n[w]++
	}
	pct := func(k int) float64 {
		if len(where) == 0 {
			return 0
		}
		return float64(k) / float64(len(where)) * 100
	}
	l := look{total: len(where), done: pct(n["done"]), failed: pct(n["failed"]), complete: d.Complete}
	short := map[string]string{bos.V1PhaseShutdown: "off", bos.V1PhaseBoot: "boot", bos.V1PhaseConfigure: "cfg"}
	for _, ph := range phases {
		s := short[ph]
		if s == "" {
			s = ph
		}
		l.phases = append(l.phases, share{long: ph, short: s, pct: pct(n[ph])})
	}
	return l, "", nil
}

func (v v1View) report(ctx context.Context) (report, error) {
	status, where, errs, _, err := v.nodes(ctx)
	if err != nil {
		return report{}, err
	}
	failed := map[string]string{}
	counts := map[string]int{}
	for id, w := range where {
		counts[w]++
		if w == "failed" {
			failed[id] = errs[id]
		}
	}
	return report{doc: status, causes: groupCauses(failed), where: sortedCounts(counts), retry: status.RetryCommand}, nil
}
