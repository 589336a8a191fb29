package store

import "context"

// Rollouts (our extension, package orchestrator/rollout owns the shape) live beside
// BOS's records as JSON the store does not interpret, one key per rollout:
//
//	{p}rollout:{namespace}/{name}  string  one rollout record
//	{p}rollouts                    set     every rollout id ({namespace}/{name})
//
// The namespace is the tenant's, as for sessions: every tenant may reuse a name.

// RolloutID is the store's id of a tenant's rollout.
func RolloutID(tenant, name string) string { return namespace(tenant) + "/" + name }

func (s *Store) rollouts() blobs {
	return blobs{s: s, what: "Rollout", key: func(id string) string { return s.k("rollout:", id) }, ids: s.k("rollouts")}
}

// CreateRollout stores a new rollout record; ECONFLICT if the id is taken.
func (s *Store) CreateRollout(ctx context.Context, id string, data []byte) error {
	return s.rollouts().create(ctx, id, data)
}

// GetRollout returns one record, or ENOTFOUND.
func (s *Store) GetRollout(ctx context.Context, id string) ([]byte, error) {
	return s.rollouts().get(ctx, id)
}

// ListRollouts returns every record, by id.
func (s *Store) ListRollouts(ctx context.Context) (map[string][]byte, error) {
	return s.rollouts().list(ctx)
}

// UpdateRollout rewrites one record with compare-and-set, as UpdateCRUSSession does.
func (s *Store) UpdateRollout(ctx context.Context, id string, mutate func([]byte) ([]byte, error)) ([]byte, error) {
	return s.rollouts().update(ctx, id, mutate)
}

// DeleteRollout removes one record, or returns ENOTFOUND.
func (s *Store) DeleteRollout(ctx context.Context, id string) error {
	return s.rollouts().delete(ctx, id)
}
