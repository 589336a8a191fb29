package orchestrator

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// The overlap rule: a new session, v1 or v2, whose nodes are held by an unfinished
// session takes those nodes over, as in BOS, where the newer session's setup simply
// overwrites the nodes' desired state (reference bos-v2.md 4.7, bos-v1.md 5.7); ours
// records which nodes it took from which session (SessionStatus.TookOver, and the log).
// The option reject_overlapping_sessions (Options.RejectsOverlap) makes an API refuse
// such a session with 409 instead, naming the holders and the shared nodes, unless the
// caller asks to take them over (takeover=true); by default v1 refuses and v2 takes over.
// A node is held by a session from its creation until it completes: while pending, by
// the nodes its template and limit select; once running, by the nodes whose component
// names it as their session. Staged v2 sessions neither hold nor take: they only write
// staged state. The store decides atomically across processes (store.CreateSession's
// admit). docs/bos-api-deviations.md has the full rule.

// NodeSelector is what picks a session's nodes: its template's boot sets, the template's
// partition (v1 only), the limit, the tenant and include_disabled. SessionKey, when set,
// names the session being created (V2SessionKey, V1SessionKey): the resolver may keep the
// inventory it read for that session's setup.
type NodeSelector struct {
	Tenant          string
	Template        SessionTemplate
	Partition       string
	Limit           string
	IncludeDisabled bool
	SessionKey      string
}

// V2SessionKey and V1SessionKey name a session across both APIs.
func V2SessionKey(tenant, name string) string { return "v2/" + tenant + "/" + name }
func V1SessionKey(id string) string           { return "v1/" + id }

// NodeSelection is the outcome of one selector: its nodes (sorted), or the EINVALID error
// that keeps it from selecting any (a bad limit, an unknown partition).
type NodeSelection struct {
	Nodes []string
	Err   error
}

// NodeResolver resolves node selectors the way session setup does (through the HSM
// inventory, read once per call), so that session creation can check overlaps. The
// error is for the inventory as a whole (EUNAVAILABLE); selectors fail one by one.
type NodeResolver interface {
	ResolveNodes(ctx context.Context, sel []NodeSelector) ([]NodeSelection, error)
}

// SessionHolder is an unfinished session and the nodes it holds (sorted).
type SessionHolder struct {
	API     string // "v1" or "v2"
	Tenant  string
	Session string // v2 name or v1 id
	State   string // pending or running
	Nodes   []string
}

// SessionConflict is a holder and the nodes it shares with a new session (sorted).
type SessionConflict struct {
	SessionHolder
	Shared []string
}

// Overlaps returns the holders that share nodes with want (any order), in holder order.
func Overlaps(want []string, holders []SessionHolder) []SessionConflict {
	set := make(map[string]struct{}, len(want))
	for _, id := range want {
		set[id] = struct{}{}
	}
	var out []SessionConflict
	for _, h := range holders {
		var shared []string
		for _, id := range h.Nodes {
			if _, ok := set[id]; ok {
				shared = append(shared, id)
			}
		}
		if len(shared) > 0 {
			sort.Strings(shared)
			out = append(out, SessionConflict{SessionHolder: h, Shared: shared})
		}
	}
	return out
}

// SessionTakeover records the nodes a new session took over from one unfinished session:
// its API, tenant and name (v2) or id (v1), and the nodes (sorted).
type SessionTakeover struct {
	API     string   `json:"api"`
	Tenant  string   `json:"tenant,omitempty"`
	Session string   `json:"session"`
	Nodes   []string `json:"nodes"`
}

// DecideOverlap applies the rule to a new session's conflicts: with reject, any conflict
// is the 409 of OverlapError; otherwise the session takes the shared nodes over, and the
// result records from whom (nil without conflicts).
func DecideOverlap(conflicts []SessionConflict, reject bool) ([]SessionTakeover, error) {
	if len(conflicts) == 0 {
		return nil, nil
	}
	if reject {
		return nil, OverlapError(conflicts)
	}
	out := make([]SessionTakeover, len(conflicts))
	for i, c := range conflicts {
		out[i] = SessionTakeover{API: c.API, Tenant: c.Tenant, Session: c.Session, Nodes: c.Shared}
	}
	return out, nil
}

// ConflictTitle is the problem title of an overlap refusal.
const ConflictTitle = "Nodes are held by another session"

// maxConflictIDs is how many shared nodes a refusal or a log line lists per session.
const maxConflictIDs = 20

// NodeSample joins the first nodes of ids with commas, ending in ",..." when there are
// more: what a refusal or a log line shows of a long list.
func NodeSample(ids []string) string {
	list := strings.Join(ids[:min(len(ids), maxConflictIDs)], ",")
	if len(ids) > maxConflictIDs {
		list += ",..."
	}
	return list
}

// OverlapError is the ECONFLICT refusal for conflicts: each holding session (API, name,
// state) with the count and the first shared nodes, and how to take them over.
func OverlapError(conflicts []SessionConflict) error {
	parts := make([]string, 0, len(conflicts))
	for _, c := range conflicts {
		name := c.Session
		if c.Tenant != "" {
			name = c.Tenant + "/" + name
		}
		parts = append(parts, fmt.Sprintf("%s session %s (%s) holds %d of them: %s", c.API, name, c.State, len(c.Shared), NodeSample(c.Shared)))
	}
	return &Error{Code: ECONFLICT, Title: ConflictTitle, Message: "The session's nodes are held by another session: " +
		strings.Join(parts, "; ") + ". Wait for it to complete, narrow the limit, or create the session with takeover=true to take the nodes over (the option reject_overlapping_sessions decides the default)."}
}

// Creation is a session's place in the order of session creations: the epoch its
// admission committed (0 on records stored before epochs were recorded) and its start
// time, the fallback order when either side has no epoch.
type Creation struct {
	Epoch int64
	Time  time.Time
}

// After reports whether c was created after o: by epoch when both have one, else by
// start time.
func (c Creation) After(o Creation) bool {
	if c.Epoch > 0 && o.Epoch > 0 {
		return c.Epoch > o.Epoch
	}
	return c.Time.After(o.Time)
}

// Compare orders creations oldest first (-1, 0, +1), as After does.
func (c Creation) Compare(o Creation) int {
	switch {
	case c.After(o):
		return 1
	case o.After(c):
		return -1
	}
	return 0
}
