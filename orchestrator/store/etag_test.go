package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/etag"
	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// tagged is one kind of record seen through the store's conditional methods; each write
// changes the record (bumps a counter in it), so its tag changes.
type tagged struct {
	seed   func(t *testing.T) // create the record
	get    func() (string, error)
	put    func(etag.Condition) (string, error) // nil: the kind has no PUT
	update func(etag.Condition) (string, error)
	delete func(etag.Condition) error
}

func taggedKinds(s *store.Store) map[string]tagged {
	ctx := context.Background()
	const id, name, tenant = "x1000c0s0b0n0", "t", "blue"
	comp := orchestrator.NewComponent(id, t0)
	tpl := orchestrator.SessionTemplate{Name: name, Tenant: tenant, EnableCFS: true,
		BootSets: map[string]orchestrator.BootSet{"a": {Path: "p", Type: "s3", NodeList: []string{id}}}}
	sess := orchestrator.Session{Name: name, Tenant: tenant, Operation: "boot", TemplateName: name,
		Status: orchestrator.SessionStatus{Status: orchestrator.SessionPending, StartTime: t0}}
	n := 0
	return map[string]tagged{
		"component": {
			seed: func(t *testing.T) { _, err := s.PutComponent(ctx, comp); require.NoError(t, err) },
			get:  func() (string, error) { _, tag, err := s.GetComponentTagged(ctx, id); return tag, err },
			put: func(c etag.Condition) (string, error) {
				n++
				rec := comp
				rec.RetryPolicy = &n
				_, tag, err := s.PutComponentIf(ctx, rec, c)
				return tag, err
			},
			update: func(c etag.Condition) (string, error) {
				_, tag, err := s.UpdateComponentIf(ctx, id, c, func(x *orchestrator.Component) error {
					x.EventStats.PowerOnAttempts++
					return nil
				})
				return tag, err
			},
			delete: func(c etag.Condition) error { return s.DeleteComponentIf(ctx, id, c) },
		},
		"template": {
			seed: func(t *testing.T) { require.NoError(t, s.PutTemplate(ctx, tpl)) },
			get:  func() (string, error) { _, tag, err := s.GetTemplateTagged(ctx, tenant, name); return tag, err },
			put: func(c etag.Condition) (string, error) {
				n++
				rec := tpl
				rec.Description = fmt.Sprint(n)
				return s.PutTemplateIf(ctx, rec, c)
			},
			update: func(c etag.Condition) (string, error) {
				_, tag, err := s.UpdateTemplateIf(ctx, tenant, name, c, func(x *orchestrator.SessionTemplate) error {
					x.Description += "+"
					return nil
				})
				return tag, err
			},
			delete: func(c etag.Condition) error { return s.DeleteTemplateIf(ctx, tenant, name, c) },
		},
		"session": {
			seed: func(t *testing.T) { require.NoError(t, s.CreateSession(ctx, sess)) },
			get:  func() (string, error) { _, tag, err := s.GetSessionTagged(ctx, tenant, name); return tag, err },
			update: func(c etag.Condition) (string, error) {
				_, tag, err := s.UpdateSessionIf(ctx, tenant, name, c, func(x *orchestrator.Session) error {
					x.Components += "+"
					return nil
				})
				return tag, err
			},
			delete: func(c etag.Condition) error { return s.DeleteSessionIf(ctx, tenant, name, c) },
		},
	}
}

// TestConditionalWrites: every conditional write of every kind against a present and a
// missing record, with each form of If-Match. A refused write leaves the record as it
// was; a successful one returns the tag a fresh read gives.
func TestConditionalWrites(t *testing.T) {
	const (
		none    = "none"
		star    = "*"
		current = "current" // the record's tag
		stale   = "stale"   // a tag the record had before its last write
		weak    = "weak"    // W/ + the current tag: never matches
	)
	tests := []struct {
		op     string // put, update, delete
		exists bool
		header string
		want   string // error code, "" for success
	}{
		{"update", true, none, ""},
		{"update", true, star, ""},
		{"update", true, current, ""},
		{"update", true, stale, orchestrator.EPRECONDITION},
		{"update", true, weak, orchestrator.EPRECONDITION},
		{"update", false, none, orchestrator.ENOTFOUND},
		{"update", false, star, orchestrator.ENOTFOUND},
		{"update", false, stale, orchestrator.ENOTFOUND},
		{"delete", true, none, ""},
		{"delete", true, star, ""},
		{"delete", true, current, ""},
		{"delete", true, stale, orchestrator.EPRECONDITION},
		{"delete", true, weak, orchestrator.EPRECONDITION},
		{"delete", false, none, orchestrator.ENOTFOUND},
		{"delete", false, star, orchestrator.ENOTFOUND},
		{"put", true, none, ""},
		{"put", true, star, ""},
		{"put", true, current, ""},
		{"put", true, stale, orchestrator.EPRECONDITION},
		{"put", true, weak, orchestrator.EPRECONDITION},
		{"put", false, none, ""},
		{"put", false, star, orchestrator.EPRECONDITION},
		{"put", false, stale, orchestrator.EPRECONDITION},
	}
	storetest.Each(t, func(t *testing.T, backend string) {
		for _, tt := range tests {
			for kind := range taggedKinds(nil) {
				t.Run(fmt.Sprintf("%s/%s/exists=%v/%s", kind, tt.op, tt.exists, tt.header), func(t *testing.T) {
					s := storetest.Open(t, backend, store.Config{})
					k := taggedKinds(s)[kind]
					if tt.op == "put" && k.put == nil {
						t.Skip("no PUT for this kind")
					}
					var staleTag string
					if tt.exists {
						k.seed(t)
						var err error
						staleTag, err = k.get()
						require.NoError(t, err)
						_, err = k.update(etag.Condition{}) // the record moves on
						require.NoError(t, err)
					} else {
						staleTag = etag.Of([]byte("a record that is gone"))
					}
					before, _ := k.get()
					var lines []string
					switch tt.header {
					case star:
						lines = []string{"*"}
					case current:
						lines = []string{before}
					case stale:
						lines = []string{staleTag}
					case weak:
						lines = []string{"W/" + before}
					}
					cond, err := etag.ParseIfMatch(lines)
					require.NoError(t, err)

					var tag string
					switch tt.op {
					case "put":
						tag, err = k.put(cond)
					case "update":
						tag, err = k.update(cond)
					case "delete":
						err = k.delete(cond)
					}
					assert.Equal(t, tt.want, orchestrator.ErrorCode(err), "err: %v", err)
					after, getErr := k.get()
					switch {
					case tt.want != "":
						assert.Equal(t, before, after, "a refused write changes nothing")
					case tt.op == "delete":
						assert.True(t, orchestrator.IsNotFound(getErr), "deleted: %v", getErr)
					default:
						require.NoError(t, getErr)
						assert.Equal(t, after, tag, "the returned tag is the stored record's")
						assert.NotEqual(t, before, after, "the write changed the record")
					}
				})
			}
		}
	})
}

// TestConditionalUpdatesLoseNothing: 50 writers each read a component's counter with its
// tag and write counter+1 only if the tag still holds, retrying on EPRECONDITION. Every
// increment must survive, on both backends.
func TestConditionalUpdatesLoseNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		s := storetest.Open(t, backend, store.Config{})
		const id, writers = "x1000c0s0b0n0", 50
		_, err := s.PutComponent(ctx, orchestrator.NewComponent(id, t0))
		require.NoError(t, err)
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					c, tag, err := s.GetComponentTagged(ctx, id)
					if err != nil {
						errs <- err
						return
					}
					next := c.EventStats.PowerOnAttempts + 1
					cond, _ := etag.ParseIfMatch([]string{tag})
					_, _, err = s.UpdateComponentIf(ctx, id, cond, func(x *orchestrator.Component) error {
						x.EventStats.PowerOnAttempts = next // what was read, plus one: lost if unchecked
						return nil
					})
					if orchestrator.ErrorCode(err) == orchestrator.EPRECONDITION {
						continue
					}
					errs <- err
					return
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		c, err := s.GetComponent(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, writers, c.EventStats.PowerOnAttempts)
	})
}
