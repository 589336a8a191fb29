package reconciler

import (
	"context"
	"time"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
)

// Ownership says which nodes this replica works on when several share one Redis
// (orchestrator/ownership implements it).
type Ownership interface {
	// Owns reports whether this replica may act on node id now.
	Owns(id string) bool
	// Until is when its right to act on id ends: a power call must be done by then.
	Until(id string) time.Time
	// LeaderUntil is when this replica's lead ends unless renewed, zero when it does not
	// lead: the leader sets sessions up, completes them and runs housekeeping, and stops
	// at that moment by its own clock (time.Now's).
	LeaderUntil() time.Time
	// Fence guards its writes of nodes: each is made only while it owns the node.
	Fence() *store.Fence
}

// The reconciler reaches the world through these small interfaces and HSM through
// selection.Inventory. adapters.go implements them over the clients of hsm, bss, cfs and
// ims, which speak the real services' APIs, and redfish.go over gofish; nothing here knows
// whether the far side is simulated.

// BootParameters is BSS.
type BootParameters interface {
	// Put stores one artifact set for hosts (PUT /bootparameters) and returns the referral
	// token BSS minted for it.
	Put(ctx context.Context, hosts []string, a bos.BootArtifacts) (token string, err error)
}

// Configuration is CFS.
type Configuration interface {
	// Components returns the CFS view of the given ids; ids CFS does not know are absent.
	Components(ctx context.Context, ids []string) (map[string]CFSView, error)
	// SetDesired sets desired_config on ids, enables or disables them, clears their state
	// when clearState, and tags them with the BOS session (bos_session).
	SetDesired(ctx context.Context, ids []string, configuration string, enabled, clearState bool, session string) error
}
