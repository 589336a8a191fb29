package reconciler

import (
	"context"
	"time"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/power"
	"github.com/cray-bos/bos/orchestrator/store"
)

// Effects are the things BOS does to nodes: boot parameters to BSS, desired configuration
// to CFS, power through Redfish. The v2 reconciler and the v1 lockstep agent both act
// through one Effects, so a node is booted the same way whichever API asked for it.
// Each method works on a batch and reports failures per node; none stores anything but
// the BSS token (the token record and desired_state.bss_token).
type Effects struct {
	Store *store.Store
	BSS   BootParameters
	CFS   Configuration
	Power power.PowerControl
	// Now stamps token records; nil means time.Now.
	Now func() time.Time
	// NoWake writes desired_state.bss_token without waking the nodes (store.NoWake): the
	// v2 reconciler schedules its own looks at the nodes it acts on.
	NoWake bool
	// Fence, when set, guards the write of desired_state.bss_token that precedes a
	// power-on (store.FencedBy): a replica that no longer owns a node neither writes it
	// nor powers it on.
	Fence *store.Fence
	// Restamp, when set, is told the StoredHash of each record PowerOn wrote its token
	// to (the v2 reconciler's memo of the node then names the record as stored: a
	// resync does not take that write for a change since the node's last look).
	Restamp func(stored map[string]uint64)
}

func (e *Effects) writeOptions() []store.WriteOption {
	opts := []store.WriteOption{store.PerRecord} // each node's decision is its own
	if e.NoWake {
		opts = append(opts, store.NoWake)
	}
	if e.Fence != nil {
		opts = append(opts, store.FencedBy(*e.Fence))
	}
	return opts
}

func (e *Effects) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// PowerOn is BOS's power_on operator for a batch: boot parameters to BSS (one PUT per
// artifact set, the token recorded and written to desired_state.bss_token), CFS told
// the desired configuration with CFS disabled and its state cleared until the node
// boots, then power on. A node whose BSS or CFS step failed is not powered on
// (deviation: BOS powers it on anyway and it boots stale parameters).
//
// comps are the records as the caller decided on them. Each node is acted on only if its
// stored record still carries that decision (same last_action, desired boot artifacts and
// bss_token), checked in the same compare-and-set that writes the token: a session that
// took the node over meanwhile (sessions.TakesNode) gets neither this token nor this power-on, and
// the next look decides for it. CFS gets the stored configuration and session.
//
// A node whose desired_state.bss_token is set (Decide keeps it only on a retried power-on)
// and names the desired artifacts keeps it: BSS is not written again, so a node already
// booting from the first attempt boots the token BOS expects.
func (e *Effects) PowerOn(ctx context.Context, comps []bos.Component) map[string]error {
	failed := map[string]error{}
	now := e.now()
	decided := make(map[string]bos.Component, len(comps))
	for _, c := range comps {
		decided[c.ID] = c
	}
	reuse := e.reusableTokens(ctx, comps)
	type bootKey struct {
		artifacts bos.BootArtifacts
		token     string // "" = PUT to BSS for a new one
	}
	var acting []bos.Component
	for key, hosts := range groupBy(comps, func(c bos.Component) bootKey {
		return bootKey{c.DesiredState.BootArtifacts, reuse[c.ID]}
	}) {
		token, err := key.token, error(nil)
		if token == "" {
			token, err = e.BSS.Put(ctx, hosts, key.artifacts)
			if err == nil {
				err = e.Store.PutToken(ctx, token, bos.TokenRecord{BootArtifacts: key.artifacts, Timestamp: now})
			}
		}
		if err == nil {
			type tokenWrite struct {
				c  bos.Component
				ok bool
			}
			var outs []store.Outcome[tokenWrite]
			outs, err = store.UpdateEach(ctx, e.Store, hosts, func(c *bos.Component) (tokenWrite, error) {
				if !sameDecision(c, decided[c.ID]) {
					return tokenWrite{}, store.ErrSkip // changed meanwhile: the next look handles it
				}
				c.DesiredState.BSSToken = token
				return tokenWrite{*c, true}, nil
			}, e.writeOptions()...)
			if err == nil {
				stored := make(map[string]uint64, len(outs))
				for _, o := range outs {
					if o.Result.ok {
						acting = append(acting, o.Result.c)
						stored[o.ID] = o.Stored
					}
				}
				if e.Restamp != nil {
					e.Restamp(stored)
				}
			}
		}
		if err != nil {
			for _, h := range hosts {
				failed[h] = err
			}
		}
	}
	e.setDesired(ctx, acting, false, true, failed)
	for id, err := range e.Power.Reset(ctx, idsOf(without(acting, failed)), power.ResetOn) {
		failed[id] = err
	}
	return failed
}

// sameDecision reports whether the stored record c still carries the power-on decided in d.
func sameDecision(c *bos.Component, d bos.Component) bool {
	return sameCall(c.LastAction, d.LastAction) &&
		c.DesiredState.BootArtifacts == d.DesiredState.BootArtifacts &&
		c.DesiredState.BSSToken == d.DesiredState.BSSToken
}

// reusableTokens maps each node whose desired_state.bss_token is recorded for its desired
// artifacts to that token. A store error reuses nothing: a new token is always correct,
// at worst a second boot.
func (e *Effects) reusableTokens(ctx context.Context, comps []bos.Component) map[string]string {
	var tokens []string
	for _, c := range comps {
		if t := c.DesiredState.BSSToken; t != "" {
			tokens = append(tokens, t)
		}
	}
	out := map[string]string{}
	if len(tokens) == 0 {
		return out
	}
	recs, err := e.Store.GetTokens(ctx, tokens)
	if err != nil {
		return out
	}
	for _, c := range comps {
		if rec, ok := recs[c.DesiredState.BSSToken]; ok && rec.BootArtifacts == c.DesiredState.BootArtifacts {
			out[c.ID] = c.DesiredState.BSSToken
		}
	}
	return out
}

// PowerOff asks the BMCs of ids for a graceful (ResetGracefulOff) or forceful
// (ResetForceOff) power-off and returns the nodes whose request failed.
func (e *Effects) PowerOff(ctx context.Context, ids []string, kind power.ResetKind) map[string]error {
	return e.Power.Reset(ctx, ids, kind)
}

// Configure is BOS's configuration operator: CFS gets each node's desired configuration
// and is enabled, tagged with the node's session (one PATCH per configuration and
// session). It returns the nodes whose PATCH failed.
func (e *Effects) Configure(ctx context.Context, comps []bos.Component) map[string]error {
	failed := map[string]error{}
	e.setDesired(ctx, comps, true, false, failed)
	return failed
}

// setDesired tells CFS each node's desired configuration, one PATCH per (configuration,
// session), enabling or disabling the nodes and clearing their state if asked; a failed
// PATCH fails all its nodes in failed.
func (e *Effects) setDesired(ctx context.Context, comps []bos.Component, enabled, clearState bool, failed map[string]error) {
	type cfsKey struct{ config, session string }
	for key, ids := range groupBy(comps, func(c bos.Component) cfsKey { return cfsKey{c.DesiredState.Configuration, c.Session} }) {
		if err := e.CFS.SetDesired(ctx, ids, key.config, enabled, clearState, key.session); err != nil {
			for _, id := range ids {
				failed[id] = err
			}
		}
	}
}

// without returns the components not in failed.
func without(comps []bos.Component, failed map[string]error) []bos.Component {
	var out []bos.Component
	for _, c := range comps {
		if failed[c.ID] == nil {
			out = append(out, c)
		}
	}
	return out
}

func idsOf(comps []bos.Component) []string {
	ids := make([]string, len(comps))
	for i, c := range comps {
		ids[i] = c.ID
	}
	return ids
}

func groupBy[K comparable](comps []bos.Component, key func(bos.Component) K) map[K][]string {
	out := map[K][]string{}
	for _, c := range comps {
		k := key(c)
		out[k] = append(out[k], c.ID)
	}
	return out
}
