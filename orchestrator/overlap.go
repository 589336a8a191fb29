package orchestrator

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// The overlap rule (ours; BOS has none, reference bos-v1.md 5.7 and bos-v2.md 4.7): a new
// session, v1 or v2, whose nodes are held by an unfinished session is refused with 409
// naming that session and the shared nodes, unless the caller asks to take them over
// (takeover=true). A node is held by a session from its creation until it completes:
// while pending, by the nodes its template and limit select; once running, by the nodes
// whose component names it as their session. Staged v2 sessions neither hold nor are
// refused: they only write staged state. docs/bos-api-deviations.md has the full rule.

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

// ConflictTitle is the problem title of an overlap refusal.
const ConflictTitle = "Nodes are held by another session"

// maxConflictIDs is how many shared nodes the refusal lists per session.
const maxConflictIDs = 20

// OverlapError is the ECONFLICT refusal for conflicts: each holding session (API, name,
// state) with the count and the first shared nodes, and how to take them over.
func OverlapError(conflicts []SessionConflict) error {
	parts := make([]string, 0, len(conflicts))
	for _, c := range conflicts {
		name := c.Session
		if c.Tenant != "" {
			name = c.Tenant + "/" + name
		}
		list := strings.Join(c.Shared[:min(len(c.Shared), maxConflictIDs)], ",")
		if len(c.Shared) > maxConflictIDs {
			list += ",..."
		}
		parts = append(parts, fmt.Sprintf("%s session %s (%s) holds %d of them: %s", c.API, name, c.State, len(c.Shared), list))
	}
	return &Error{Code: ECONFLICT, Title: ConflictTitle, Message: "The session's nodes are held by another session: " +
		strings.Join(parts, "; ") + ". Wait for it to complete, narrow the limit, or create the session with takeover=true to take the nodes over."}
}
