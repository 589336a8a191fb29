package store_test

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

// randomComponents makes n components with random state.
func randomComponents(rng *rand.Rand, n int, sessions []string) []orchestrator.Component {
	comps := make([]orchestrator.Component, n)
	for i := range comps {
		c := orchestrator.Component{ID: fmt.Sprintf("x%dc0s%db0n%d", 1000+i/64, i%64/2, i%2)}
		c.Session = sessions[rng.Intn(len(sessions))]
		c.StagedState.Session = sessions[rng.Intn(len(sessions))]
		c.Enabled = rng.Intn(2) == 0
		c.Status.Phase = orchestrator.Phases[rng.Intn(len(orchestrator.Phases))]
		c.Status.StatusOverride = []string{"", "", "", orchestrator.StatusOnHold, orchestrator.StatusFailed}[rng.Intn(5)]
		c.LastAction.Action = orchestrator.Actions[rng.Intn(len(orchestrator.Actions))]
		c.LastAction.Failed = rng.Intn(4) == 0
		if rng.Intn(3) == 0 {
			c.Error = fmt.Sprintf("error %d", rng.Intn(3))
		}
		comps[i] = c
	}
	return comps
}

// naive applies a filter to full records: the oracle for the index-based store.
func naive(all []orchestrator.Component, f store.Filter) []string {
	var out []string
	for _, c := range all {
		switch {
		case f.IDs != nil && !slices.Contains(f.IDs, c.ID),
			f.Session != "" && c.Session != f.Session,
			f.StagedSession != "" && c.StagedState.Session != f.StagedSession,
			f.Enabled != nil && c.Enabled != *f.Enabled,
			f.Phase != nil && c.Status.Phase != *f.Phase,
			len(f.Status) > 0 && !slices.Contains(f.Status, orchestrator.ComputeStatus(&c)),
			c.ID <= f.StartAfterID:
			continue
		}
		out = append(out, c.ID)
	}
	sort.Strings(out)
	if f.PageSize > 0 && len(out) > f.PageSize {
		out = out[:f.PageSize]
	}
	return out
}

// norm makes nil and empty lists compare equal.
func norm(list []string) []string { return append([]string{}, list...) }

func ids(comps []orchestrator.Component) []string {
	out := make([]string, len(comps))
	for i, c := range comps {
		out[i] = c.ID
	}
	return out
}

func randomFilter(rng *rand.Rand, all []orchestrator.Component, sessions []string) store.Filter {
	var f store.Filter
	if rng.Intn(3) == 0 {
		f.Session = sessions[rng.Intn(len(sessions))]
	}
	if rng.Intn(4) == 0 {
		f.StagedSession = sessions[rng.Intn(len(sessions))]
	}
	if rng.Intn(3) == 0 {
		f.Enabled = ptr(rng.Intn(2) == 0)
	}
	if rng.Intn(3) == 0 {
		f.Phase = ptr(orchestrator.Phases[rng.Intn(len(orchestrator.Phases))])
	}
	for i := rng.Intn(3); i > 0; i-- {
		f.Status = append(f.Status, orchestrator.Statuses[rng.Intn(len(orchestrator.Statuses))])
	}
	if rng.Intn(4) == 0 {
		f.IDs = []string{}
		for i := rng.Intn(40); i > 0; i-- {
			f.IDs = append(f.IDs, all[rng.Intn(len(all))].ID)
		}
		f.IDs = append(f.IDs, "x9999c0s0b0n0") // missing ids are ignored
	}
	if rng.Intn(3) == 0 {
		f.StartAfterID = all[rng.Intn(len(all))].ID
	}
	if rng.Intn(3) == 0 {
		f.PageSize = 1 + rng.Intn(50)
	}
	return f
}

// TestFiltersAgainstOracle checks every index-based read against a scan of full records,
// before and after random updates, so index maintenance is exercised too.
func TestFiltersAgainstOracle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		s := storetest.Open(t, backend, store.Config{})
		rng := rand.New(rand.NewSource(1))
		sessions := []string{"", "s1", "s2", "s3"}
		comps := randomComponents(rng, 600, sessions)
		_, err := s.PutComponents(ctx, comps)
		require.NoError(t, err)

		check := func(round int) {
			all, err := s.ListComponents(ctx, store.Filter{})
			require.NoError(t, err)
			require.Len(t, all, 600)
			assert.True(t, sort.SliceIsSorted(all, func(i, j int) bool { return all[i].ID < all[j].ID }), "listed in id order")
			for i := 0; i < 150; i++ {
				f := randomFilter(rng, all, sessions)
				want := naive(all, f)
				got, err := s.ListComponents(ctx, f)
				require.NoError(t, err)
				require.Equal(t, norm(want), norm(ids(got)), "round %d filter %+v", round, f)
				gotIDs, err := s.ComponentIDs(ctx, f)
				require.NoError(t, err)
				require.Equal(t, norm(want), norm(gotIDs), "ids, round %d filter %+v", round, f)
			}
			for _, sess := range sessions[1:] {
				st, err := s.SessionStats(ctx, sess, nil)
				require.NoError(t, err)
				require.Equal(t, orchestrator.StatsFromComponents(sess, all), st, "stats of %s", sess)
				half := func(id string) bool { return id < all[300].ID }
				st, err = s.SessionStats(ctx, sess, half)
				require.NoError(t, err)
				var within []orchestrator.Component
				for _, c := range all {
					if half(c.ID) {
						within = append(within, c)
					}
				}
				require.Equal(t, orchestrator.StatsFromComponents(sess, within), st, "tenant-restricted stats of %s", sess)
			}
		}
		check(0)
		for round := 1; round <= 3; round++ {
			changes := randomComponents(rng, 600, sessions)
			pick := map[string]orchestrator.Component{}
			for i := 0; i < 200; i++ {
				c := changes[rng.Intn(len(changes))]
				pick[c.ID] = c
			}
			var todo []string
			for id := range pick {
				todo = append(todo, id)
			}
			_, err := s.UpdateComponents(ctx, todo, func(c *orchestrator.Component) error {
				n := pick[c.ID]
				c.Session, c.StagedState.Session, c.Enabled, c.Status, c.LastAction, c.Error = n.Session, n.StagedState.Session, n.Enabled, n.Status, n.LastAction, n.Error
				return nil
			})
			require.NoError(t, err)
			deleted, err := s.DeleteComponents(ctx, []string{changes[round].ID})
			require.NoError(t, err)
			require.Len(t, deleted, 1)
			_, err = s.PutComponent(ctx, changes[round])
			require.NoError(t, err)
			check(round)
		}
	})
}

func TestComponentCRUD(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		var mu sync.Mutex
		var changed []string
		s := storetest.Open(t, backend, store.Config{OnComponentsChanged: func(ids []string) {
			mu.Lock()
			defer mu.Unlock()
			changed = append(changed, ids...)
		}})
		takeChanged := func() []string {
			mu.Lock()
			defer mu.Unlock()
			out := changed
			changed = nil
			sort.Strings(out)
			return out
		}

		_, err := s.GetComponent(ctx, "x1c0s0b0n0")
		assert.Equal(t, orchestrator.ENOTFOUND, orchestrator.ErrorCode(err))
		_, err = s.UpdateComponent(ctx, "x1c0s0b0n0", func(*orchestrator.Component) error { return nil })
		assert.Equal(t, orchestrator.ENOTFOUND, orchestrator.ErrorCode(err))
		assert.Equal(t, orchestrator.ENOTFOUND, orchestrator.ErrorCode(s.DeleteComponent(ctx, "x1c0s0b0n0")))

		added, err := s.AddComponents(ctx, []orchestrator.Component{
			orchestrator.NewComponent("x1c0s0b0n0", t0), orchestrator.NewComponent("x1c0s0b0n1", t0),
		})
		require.NoError(t, err)
		assert.Len(t, added, 2)
		assert.Equal(t, []string{"x1c0s0b0n0", "x1c0s0b0n1"}, takeChanged())

		c, err := s.UpdateComponent(ctx, "x1c0s0b0n0", func(c *orchestrator.Component) error {
			c.Enabled = true
			c.Session = "s1"
			c.Status.Phase = orchestrator.PhasePoweringOff
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, orchestrator.StatusPowerOffPending, c.Status.Status, "status computed on write")
		got, err := s.GetComponent(ctx, "x1c0s0b0n0")
		require.NoError(t, err)
		assert.Equal(t, c, got)
		assert.Equal(t, []string{"x1c0s0b0n0"}, takeChanged())

		// Reads are copies: changing one does not change the store.
		got.Session = "tampered"
		again, err := s.GetComponent(ctx, "x1c0s0b0n0")
		require.NoError(t, err)
		assert.Equal(t, "s1", again.Session)

		// A write that changes nothing is not sent and not announced.
		_, err = s.UpdateComponent(ctx, "x1c0s0b0n0", func(c *orchestrator.Component) error { return nil })
		require.NoError(t, err)
		assert.Empty(t, takeChanged())

		// AddComponents leaves existing records alone.
		added, err = s.AddComponents(ctx, []orchestrator.Component{orchestrator.NewComponent("x1c0s0b0n0", t0)})
		require.NoError(t, err)
		assert.Empty(t, added)
		got, err = s.GetComponent(ctx, "x1c0s0b0n0")
		require.NoError(t, err)
		assert.True(t, got.Enabled)

		// Mutate errors come back unchanged and write nothing; ErrSkip skips.
		boom := orchestrator.Errorf(orchestrator.ECONFLICT, "boom")
		_, err = s.UpdateComponent(ctx, "x1c0s0b0n0", func(c *orchestrator.Component) error { c.Enabled = false; return boom })
		assert.ErrorIs(t, err, boom)
		out, err := s.UpdateComponents(ctx, []string{"x1c0s0b0n0", "x1c0s0b0n1", "x9c0s0b0n0", "x1c0s0b0n1"}, func(c *orchestrator.Component) error {
			if c.ID == "x1c0s0b0n0" {
				return store.ErrSkip
			}
			c.Error = "e"
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, []string{"x1c0s0b0n1"}, ids(out), "missing and skipped ids left out, duplicates once")
		got, err = s.GetComponent(ctx, "x1c0s0b0n0")
		require.NoError(t, err)
		assert.True(t, got.Enabled)

		// The store refuses records that break the schema.
		_, err = s.UpdateComponent(ctx, "x1c0s0b0n1", func(c *orchestrator.Component) error { c.Status.Phase = "booting"; return nil })
		assert.Equal(t, orchestrator.EINVALID, orchestrator.ErrorCode(err))

		existing, err := s.ExistingComponentIDs(ctx, []string{"x9c0s0b0n0", "x1c0s0b0n1", "x1c0s0b0n1"})
		require.NoError(t, err)
		assert.Equal(t, []string{"x1c0s0b0n1"}, existing)

		takeChanged()
		require.NoError(t, s.DeleteComponent(ctx, "x1c0s0b0n0"))
		assert.Equal(t, []string{"x1c0s0b0n0"}, takeChanged())
		list, err := s.ListComponents(ctx, store.Filter{Session: "s1"})
		require.NoError(t, err)
		assert.Empty(t, list, "indexes cleaned on delete")
		list, err = s.ListComponents(ctx, store.Filter{})
		require.NoError(t, err)
		assert.Equal(t, []string{"x1c0s0b0n1"}, ids(list))
	})
}

// TestConcurrentWriters: 100 writers increment one component at once, half through
// single updates and half through bulk updates that also touch other components; no
// increment may be lost.
func TestConcurrentWriters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		s := storetest.Open(t, backend, store.Config{})
		hot := "x1c0s0b0n0"
		others := []string{"x1c0s1b0n0", "x1c0s2b0n0", "x1c0s3b0n0"}
		var seed []orchestrator.Component
		for _, id := range append([]string{hot}, others...) {
			seed = append(seed, orchestrator.NewComponent(id, t0))
		}
		_, err := s.PutComponents(ctx, seed)
		require.NoError(t, err)

		const writers = 100
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for i := 0; i < writers; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				inc := func(c *orchestrator.Component) error { c.EventStats.PowerOnAttempts++; return nil }
				var err error
				if i%2 == 0 {
					_, err = s.UpdateComponent(ctx, hot, inc)
				} else {
					_, err = s.UpdateComponents(ctx, append([]string{others[i%3], hot}, others...), inc)
				}
				errs <- err
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		c, err := s.GetComponent(ctx, hot)
		require.NoError(t, err)
		assert.Equal(t, writers, c.EventStats.PowerOnAttempts)
		for _, id := range others {
			c, err := s.GetComponent(ctx, id)
			require.NoError(t, err)
			assert.Equal(t, writers/2, c.EventStats.PowerOnAttempts, id)
		}
	})
}

func TestPaging(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		s := storetest.Open(t, backend, store.Config{})
		var comps []orchestrator.Component
		for i := 0; i < 2500; i++ {
			c := orchestrator.NewComponent(fmt.Sprintf("x%dc0s0b0n0", 1000+i), t0)
			c.Session = "big"
			comps = append(comps, c)
		}
		_, err := s.PutComponents(ctx, comps)
		require.NoError(t, err)
		for _, f := range []store.Filter{{}, {Session: "big"}} {
			var all []string
			after := ""
			for pages := 0; ; pages++ {
				require.Less(t, pages, 10)
				f.StartAfterID, f.PageSize = after, 1000
				page, err := s.ListComponents(ctx, f)
				require.NoError(t, err)
				all = append(all, ids(page)...)
				if len(page) < 1000 {
					break
				}
				after = page[len(page)-1].ID
			}
			assert.Equal(t, ids(comps), all, "filter %+v", f)
		}
	})
}

func TestTemplatesAndSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		s := storetest.Open(t, backend, store.Config{})
		tpl := func(tenant, name string) orchestrator.SessionTemplate {
			return orchestrator.SessionTemplate{Name: name, Tenant: tenant, EnableCFS: true,
				BootSets: map[string]orchestrator.BootSet{"a": {Path: "p", Type: "s3", NodeList: []string{"x1c0s0b0n0"}}}}
		}
		require.NoError(t, s.PutTemplate(ctx, tpl("", "t")))
		require.NoError(t, s.PutTemplate(ctx, tpl("blue", "t")))
		require.NoError(t, s.PutTemplate(ctx, tpl("blue", "u")))

		got, err := s.GetTemplate(ctx, "blue", "t")
		require.NoError(t, err)
		assert.Equal(t, "blue", got.Tenant)
		_, err = s.GetTemplate(ctx, "red", "t")
		assert.Equal(t, orchestrator.ENOTFOUND, orchestrator.ErrorCode(err))
		assert.Contains(t, orchestrator.ErrorMessage(err), "for tenant 'red'")
		_, err = s.GetTemplate(ctx, "", "u")
		assert.Equal(t, orchestrator.ENOTFOUND, orchestrator.ErrorCode(err), "no tenant sees only the untenanted namespace")

		all, err := s.ListTemplates(ctx, "", true)
		require.NoError(t, err)
		assert.Len(t, all, 3)
		blue, err := s.ListTemplates(ctx, "blue", false)
		require.NoError(t, err)
		assert.Len(t, blue, 2)

		upd, err := s.UpdateTemplate(ctx, "blue", "t", func(t *orchestrator.SessionTemplate) error { t.Description = "d"; return nil })
		require.NoError(t, err)
		assert.Equal(t, "d", upd.Description)
		_, err = s.UpdateTemplate(ctx, "blue", "nope", func(*orchestrator.SessionTemplate) error { return nil })
		assert.Equal(t, orchestrator.ENOTFOUND, orchestrator.ErrorCode(err))
		require.NoError(t, s.DeleteTemplate(ctx, "blue", "t"))
		assert.Equal(t, orchestrator.ENOTFOUND, orchestrator.ErrorCode(s.DeleteTemplate(ctx, "blue", "t")))
		_, err = s.GetTemplate(ctx, "", "t")
		require.NoError(t, err, "the untenanted twin survives")

		sess := func(tenant, name, status string, age time.Duration) orchestrator.Session {
			return orchestrator.Session{Name: name, Tenant: tenant, Operation: "boot", TemplateName: "t",
				Status: orchestrator.SessionStatus{Status: status, StartTime: t0.Add(-age)}}
		}
		require.NoError(t, s.CreateSession(ctx, sess("", "a", "pending", time.Minute)))
		require.NoError(t, s.CreateSession(ctx, sess("blue", "a", "complete", 48*time.Hour)))
		require.NoError(t, s.CreateSession(ctx, sess("blue", "b", "running", time.Hour)))
		err = s.CreateSession(ctx, sess("blue", "a", "pending", 0))
		assert.Equal(t, orchestrator.ECONFLICT, orchestrator.ErrorCode(err))

		list, err := s.ListSessions(ctx, "", true, orchestrator.SessionFilter{}, t0)
		require.NoError(t, err)
		assert.Len(t, list, 3)
		f, err := orchestrator.ParseSessionFilter("1d", "", "")
		require.NoError(t, err)
		list, err = s.ListSessions(ctx, "blue", false, f, t0)
		require.NoError(t, err)
		require.Len(t, list, 1)
		assert.Equal(t, "a", list[0].Name)

		up, err := s.UpdateSession(ctx, "", "a", func(s *orchestrator.Session) error { s.Components = "x1"; return nil })
		require.NoError(t, err)
		assert.Equal(t, "x1", up.Components)
		_, err = s.UpdateSession(ctx, "blue", "zzz", func(*orchestrator.Session) error { return nil })
		assert.Equal(t, orchestrator.ENOTFOUND, orchestrator.ErrorCode(err))

		st := orchestrator.SessionExtendedStatus{Status: "complete", ManagedComponentsCount: 7}
		require.NoError(t, s.SaveSessionStatus(ctx, "blue", "a", st))
		saved, ok, err := s.GetSessionStatus(ctx, "blue", "a")
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, 7, saved.ManagedComponentsCount)
		require.NoError(t, s.DeleteSession(ctx, "blue", "a"))
		_, ok, err = s.GetSessionStatus(ctx, "blue", "a")
		require.NoError(t, err)
		assert.False(t, ok, "deleting a session deletes its saved status")
		assert.Equal(t, orchestrator.ENOTFOUND, orchestrator.ErrorCode(s.DeleteSession(ctx, "blue", "a")))

		n, err := s.DeleteSessions(ctx, []orchestrator.Session{sess("", "a", "", 0), sess("blue", "b", "", 0), sess("blue", "gone", "", 0)})
		require.NoError(t, err)
		assert.Equal(t, 2, n)
		list, err = s.ListSessions(ctx, "", true, orchestrator.SessionFilter{}, t0)
		require.NoError(t, err)
		assert.Empty(t, list)
	})
}

func TestSessionStatusFreezes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		s := storetest.Open(t, backend, store.Config{})
		c := orchestrator.NewComponent("x1c0s0b0n0", t0)
		c.Session, c.Enabled, c.Status.Phase = "s", true, orchestrator.PhasePoweringOn
		_, err := s.PutComponent(ctx, c)
		require.NoError(t, err)
		sess := orchestrator.Session{Name: "s", Status: orchestrator.SessionStatus{Status: orchestrator.SessionRunning, StartTime: t0}}
		st, err := s.SessionStatus(ctx, sess, nil, t0.Add(time.Minute))
		require.NoError(t, err)
		assert.Equal(t, 1, st.ManagedComponentsCount)
		assert.Zero(t, st.Phases.PercentComplete)

		sess.Status.Status = orchestrator.SessionComplete
		frozen, err := s.FreezeSessionStatus(ctx, sess, nil, t0.Add(2*time.Minute)) // as completion does
		require.NoError(t, err)
		assert.Equal(t, "0:02:00", frozen.Timing.Duration)
		_, err = s.UpdateComponent(ctx, c.ID, func(c *orchestrator.Component) error { c.Enabled, c.Status.Phase = false, ""; return nil })
		require.NoError(t, err)
		later, err := s.SessionStatus(ctx, sess, nil, t0.Add(time.Hour))
		require.NoError(t, err)
		assert.Equal(t, frozen, later, "a complete session's status is frozen")
		fresh, err := s.FreezeSessionStatus(ctx, sess, nil, t0.Add(time.Hour))
		require.NoError(t, err)
		assert.Equal(t, 100.0, fresh.Phases.PercentComplete, "an explicit freeze recomputes")
	})
}

func TestOptionsAndTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		s := storetest.Open(t, backend, store.Config{})
		o, err := s.GetOptions(ctx)
		require.NoError(t, err)
		assert.Equal(t, orchestrator.DefaultOptions(), o)
		o, err = s.UpdateOptions(ctx, func(o *orchestrator.Options) error { o.PollingFrequency = 3; return nil })
		require.NoError(t, err)
		assert.Equal(t, 3, o.PollingFrequency)
		_, err = s.UpdateOptions(ctx, func(o *orchestrator.Options) error { o.PollingFrequency = -1; return nil })
		assert.Equal(t, orchestrator.EINVALID, orchestrator.ErrorCode(err))
		o, err = s.GetOptions(ctx)
		require.NoError(t, err)
		assert.Equal(t, 3, o.PollingFrequency)

		rec := orchestrator.TokenRecord{BootArtifacts: orchestrator.BootArtifacts{Kernel: "k", KernelParameters: "p", Initrd: "i"}, Timestamp: t0}
		require.NoError(t, s.PutToken(ctx, "tok", rec))
		got, ok, err := s.GetToken(ctx, "tok")
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, rec, got)
		_, ok, err = s.GetToken(ctx, "nope")
		require.NoError(t, err)
		assert.False(t, ok)
		many, err := s.GetTokens(ctx, []string{"tok", "nope", "", "tok"})
		require.NoError(t, err)
		assert.Equal(t, map[string]orchestrator.TokenRecord{"tok": rec}, many)
	})
}

func TestUnavailable(t *testing.T) {
	m := miniredis.NewMiniRedis()
	require.NoError(t, m.Start())
	ctx := context.Background()
	s, err := store.Open(ctx, store.Config{URL: "redis://" + m.Addr()})
	require.NoError(t, err)
	defer s.Close()
	m.Close()
	err = s.Ping(ctx)
	assert.Equal(t, orchestrator.EUNAVAILABLE, orchestrator.ErrorCode(err))
	_, err = s.GetComponent(ctx, "x1c0s0b0n0")
	assert.Equal(t, orchestrator.EUNAVAILABLE, orchestrator.ErrorCode(err))
	_, err = s.UpdateComponent(ctx, "x1c0s0b0n0", func(*orchestrator.Component) error { return nil })
	assert.Equal(t, orchestrator.EUNAVAILABLE, orchestrator.ErrorCode(err))

	_, err = store.Open(ctx, store.Config{URL: "not a url"})
	assert.Error(t, err)
}

// TestCreateSessionAdmitted: a creation whose admission another process's creation (v1 or
// v2) overtakes is admitted again over the new state, and each is stamped with the epoch
// it committed; a taken name is refused before
// admission; an admission's error is returned as is and nothing is stored.
func TestCreateSessionAdmitted(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		stores := storetest.OpenShared(t, backend, 2, store.Config{})
		a, b := stores[0], stores[1]
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		newSess := func(name string) orchestrator.Session {
			return orchestrator.Session{Name: name, Operation: "boot", TemplateName: "t",
				Status: orchestrator.SessionStatus{Status: orchestrator.SessionPending, StartTime: now}}
		}

		var runs []int // sessions seen by each run of the admission
		got, err := a.CreateSessionAdmitted(ctx, newSess("late"), func(ctx context.Context, s *orchestrator.Session) error {
			list, err := a.ListSessions(ctx, "", true, orchestrator.SessionFilter{}, now)
			require.NoError(t, err)
			runs = append(runs, len(list))
			if len(runs) == 1 { // another process creates a session meanwhile
				require.NoError(t, b.CreateSession(ctx, newSess("early")))
			}
			s.Status.TookOver = []orchestrator.SessionTakeover{{API: "v2", Session: "early", Nodes: []string{fmt.Sprint(len(list))}}}
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, []int{0, 1}, runs, "admitted again after the other creation")
		stored, err := b.GetSession(ctx, "", "late")
		require.NoError(t, err)
		assert.Equal(t, []string{"1"}, stored.Status.TookOver[0].Nodes)
		assert.Equal(t, got, stored)

		runs = nil
		_, err = a.CreateV1SessionAdmitted(ctx, orchestrator.V1Session{ID: "v1a", State: orchestrator.V1Pending},
			func(ctx context.Context, s *orchestrator.V1Session) error {
				runs = append(runs, 0)
				if len(runs) == 1 {
					require.NoError(t, b.CreateSession(ctx, newSess("between")))
				}
				return nil
			})
		require.NoError(t, err)
		assert.Len(t, runs, 2, "a v2 creation overtakes a v1 admission too")

		// Every creation, v1 or v2, in either process, is stamped with its place in the
		// order of commits: the epoch it committed.
		var epochs []int64
		for _, name := range []string{"early", "late", "between"} {
			sess, err := a.GetSession(ctx, "", name)
			require.NoError(t, err)
			epochs = append(epochs, sess.Status.Epoch)
		}
		v1a, err := b.GetV1Session(ctx, "v1a")
		require.NoError(t, err)
		assert.Equal(t, []int64{1, 2, 3, 4}, append(epochs, v1a.Epoch), "early, late, between, v1a")

		called := false
		_, err = a.CreateSessionAdmitted(ctx, newSess("early"), func(context.Context, *orchestrator.Session) error {
			called = true
			return orchestrator.Errorf(orchestrator.ECONFLICT, "overlap")
		})
		assert.False(t, called, "a taken name is refused before admission")
		assert.Contains(t, orchestrator.ErrorMessage(err), "already exists")

		refusal := orchestrator.Errorf(orchestrator.ECONFLICT, "overlap")
		_, err = b.CreateSessionAdmitted(ctx, newSess("refused"), func(context.Context, *orchestrator.Session) error { return refusal })
		assert.Same(t, refusal, err)
		_, err = a.GetSession(ctx, "", "refused")
		assert.True(t, orchestrator.IsNotFound(err))
	})
}

// TestNoWakeWritesAreWritten: a write made with NoWake calls OnComponentsWritten, not
// OnComponentsChanged; any other calls both (the web view missed the reconciler's
// NoWake writes when it followed OnComponentsChanged).
func TestNoWakeWritesAreWritten(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		var mu sync.Mutex
		var changed, written []string
		s := storetest.Open(t, backend, store.Config{
			OnComponentsChanged: func(ids []string) { mu.Lock(); changed = append(changed, ids...); mu.Unlock() },
			OnComponentsWritten: func(ids []string) { mu.Lock(); written = append(written, ids...); mu.Unlock() },
		})
		_, err := s.AddComponents(ctx, []orchestrator.Component{orchestrator.NewComponent("x1c0s0b0n0", t0)})
		require.NoError(t, err)
		_, err = s.UpdateComponents(ctx, []string{"x1c0s0b0n0"}, func(c *orchestrator.Component) error {
			c.Status.Phase = orchestrator.PhasePoweringOn
			return nil
		}, store.NoWake)
		require.NoError(t, err)
		mu.Lock()
		defer mu.Unlock()
		assert.Equal(t, []string{"x1c0s0b0n0"}, changed, "the add wakes, the NoWake update does not")
		assert.Equal(t, []string{"x1c0s0b0n0", "x1c0s0b0n0"}, written)
	})
}
