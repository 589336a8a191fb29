package sessions

import (
	"context"
	"fmt"
	"time"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
)

// cleanupPageSize is the page size of CleanupActualState when max_component_batch_size
// is 0 (unlimited): pages keep memory flat on large systems either way.
const cleanupPageSize = 2800

// CleanupActualState is BOS's actual_state_cleanup operator (reference 4.3, 4.6 step 6):
// a component whose actual boot artifacts are not all empty and whose
// actual_state.last_updated is older than component_actual_state_ttl (or missing) gets an
// empty actual state, so a node that stopped reporting stops counting as booted into its
// desired image.
//
// last_action becomes actual_state_cleanup only on disabled components. Deviation from
// BOS, which writes it on every component it cleans: on an enabled component the last
// action drives the reconciler (power-on timeouts, the boot wait, the 409 rule), and
// overwriting it in flight turns power_on_called back into power_on_pending.
//
// Components are read a page of max_component_batch_size at a time; each write re-checks
// staleness under compare-and-set, so a report that lands meanwhile wins. It returns the
// ids cleaned and the oldest last_updated of the actual states it left (now when none is
// older: a state written since is stamped later): none can turn stale before that plus
// the TTL, so no pass before then can clean anything.
func CleanupActualState(ctx context.Context, st *store.Store, opts bos.Options, now time.Time) (cleaned []string, oldest time.Time, err error) {
	now = now.UTC()
	oldest = now
	cutoff := now.Add(-opts.ActualStateTTL())
	stale := func(c *bos.Component) bool {
		return !c.ActualState.BootArtifacts.IsEmpty() && c.ActualState.LastUpdated.Before(cutoff)
	}
	page := opts.MaxComponentBatchSize
	if page <= 0 {
		page = cleanupPageSize
	}
	after := ""
	for {
		comps, err := st.ListComponents(ctx, store.Filter{StartAfterID: after, PageSize: page})
		if err != nil {
			return cleaned, oldest, fmt.Errorf("actual state cleanup: %w", err)
		}
		if len(comps) == 0 {
			return cleaned, oldest, nil
		}
		var ids []string
		for i := range comps {
			switch a := &comps[i].ActualState; {
			case stale(&comps[i]):
				ids = append(ids, comps[i].ID)
			case !a.BootArtifacts.IsEmpty() && a.LastUpdated.Before(oldest):
				oldest = a.LastUpdated
			}
		}
		if len(ids) > 0 {
			out, err := st.UpdateComponents(ctx, ids, func(c *bos.Component) error {
				if !stale(c) {
					return store.ErrSkip
				}
				p := cleanupPatch(c.Enabled)
				p.SetAutoFields(now, nil)
				p.ApplyTo(c)
				return nil
			})
			for _, c := range out {
				cleaned = append(cleaned, c.ID)
			}
			if err != nil {
				return cleaned, oldest, fmt.Errorf("actual state cleanup: %w", err)
			}
		}
		if len(comps) < page {
			return cleaned, oldest, nil
		}
		after = comps[len(comps)-1].ID
	}
}

// cleanupPatch empties the actual state; on a disabled component it also records the
// action (see CleanupActualState for why enabled ones keep theirs).
func cleanupPatch(enabled bool) *bos.ComponentPatch {
	token := ""
	p := &bos.ComponentPatch{
		ActualState: &bos.ActualStatePatch{BootArtifacts: bos.ArtifactsPatch(bos.BootArtifacts{}), BSSToken: &token},
	}
	if !enabled {
		action, failed := bos.ActionActualStateCleanup, false
		p.LastAction = &bos.LastActionPatch{Action: &action, Failed: &failed}
	}
	return p
}
