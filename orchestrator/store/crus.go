package store

import "context"

// CRUS sessions live beside BOS's records, as JSON the store does not interpret (package
// orchestrator/crus owns the shape):
//
//	{p}crus:session:{id}  string  one CRUS session record
//	{p}crus:sessions      set     every CRUS session id
//
// One key per session keeps compare-and-set writes of different sessions independent.

func (s *Store) crus() blobs {
	return blobs{s: s, what: "CRUS session", key: func(id string) string { return s.k("crus:session:", id) }, ids: s.k("crus:sessions")}
}

// CreateCRUSSession stores a new CRUS session record; ECONFLICT if the id is taken.
func (s *Store) CreateCRUSSession(ctx context.Context, id string, data []byte) error {
	return s.crus().create(ctx, id, data)
}

// GetCRUSSession returns one record, or ENOTFOUND.
func (s *Store) GetCRUSSession(ctx context.Context, id string) ([]byte, error) {
	return s.crus().get(ctx, id)
}

// ListCRUSSessions returns every record, by id. Ids whose record vanished meanwhile (a
// concurrent delete) are skipped.
func (s *Store) ListCRUSSessions(ctx context.Context) (map[string][]byte, error) {
	return s.crus().list(ctx)
}

// UpdateCRUSSession rewrites one record with compare-and-set: mutate gets the stored
// JSON and returns the new JSON (nil: write nothing). It may run more than once. An error
// from mutate is returned as is; ENOTFOUND if the record does not exist.
func (s *Store) UpdateCRUSSession(ctx context.Context, id string, mutate func([]byte) ([]byte, error)) ([]byte, error) {
	return s.crus().update(ctx, id, mutate)
}

// DeleteCRUSSession removes one record, or returns ENOTFOUND.
func (s *Store) DeleteCRUSSession(ctx context.Context, id string) error {
	return s.crus().delete(ctx, id)
}
