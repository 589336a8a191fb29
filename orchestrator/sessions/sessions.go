package sessions

import (
	"context"
	"errors"
	"fmt"
	"time"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/tenant"
)

// CompleteSessions is BOS's session_completion operator (reference 4.3): every running
// session with no enabled component under it and no component staged for it
// (bos.SessionStats.Done) becomes complete, with end_time = now, and its extended status
// is frozen at that moment. A tenant session counts only the tenant's nodes (BOS 2.50);
// a tenant the registry no longer knows owns nothing, so its sessions complete. With a
// nil registry tenant sessions count every node.
//
// A failure on one session does not stop the others; the errors are joined. It returns the
// names (tenant sessions as "<tenant>/<name>") of the sessions it completed.
func CompleteSessions(ctx context.Context, st *store.Store, tenants tenant.Registry, now time.Time) ([]string, error) {
	now = now.UTC()
	running, err := st.ListSessions(ctx, "", true, bos.SessionFilter{Status: bos.SessionRunning}, now)
	if err != nil {
		return nil, fmt.Errorf("session completion: %w", err)
	}
	var done []string
	var errs []error
	for _, sess := range running {
		ok, err := completeSession(ctx, st, tenants, sess, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("session completion %s: %w", sessionLabel(sess), err))
			continue
		}
		if ok {
			done = append(done, sessionLabel(sess))
		}
	}
	return done, errors.Join(errs...)
}

// completeSession completes one running session if it is done; ok reports whether it did.
func completeSession(ctx context.Context, st *store.Store, tenants tenant.Registry, sess bos.Session, now time.Time) (ok bool, err error) {
	var within func(string) bool
	if sess.Tenant != "" && tenants != nil {
		tn, err := tenants.Get(ctx, sess.Tenant)
		if err != nil && !errors.Is(err, tenant.ErrNotFound) {
			return false, fmt.Errorf("read tenant: %w", err)
		}
		within = withinTenant(sess.Tenant, tn)
	}
	done, err := st.SessionDone(ctx, sess.Name, within)
	if err != nil || !done {
		return false, err
	}
	updated, err := st.UpdateSession(ctx, sess.Tenant, sess.Name, func(x *bos.Session) error {
		if x.Status.Status != bos.SessionRunning {
			return errNotRunning
		}
		x.Status.Status = bos.SessionComplete
		x.Status.EndTime = &now
		return nil
	})
	if errors.Is(err, errNotRunning) || bos.IsNotFound(err) {
		return false, nil // deleted or completed by someone else meanwhile
	}
	if err != nil {
		return false, err
	}
	if _, err := st.FreezeSessionStatus(ctx, updated, within, now); err != nil {
		return false, fmt.Errorf("freeze status: %w", err)
	}
	return true, nil
}

var errNotRunning = errors.New("session is no longer running")

// sessionLabel names a session for results and errors: "name", or "tenant/name".
func sessionLabel(s bos.Session) string {
	if s.Tenant == "" {
		return s.Name
	}
	return s.Tenant + "/" + s.Name
}

// CleanupSessions is BOS's session_cleanup operator (reference 4.3): it deletes the
// complete sessions (and their frozen statuses) older than cleanup_completed_session_ttl,
// age measured from start_time as BOS's DELETE /v2/sessions?status=complete&min_age=<ttl>
// does. A TTL of 0 disables it. It returns how many sessions it deleted.
func CleanupSessions(ctx context.Context, st *store.Store, opts bos.Options, now time.Time) (int, error) {
	ttl := opts.CleanupTTL()
	if ttl <= 0 {
		return 0, nil
	}
	f := bos.SessionFilter{Status: bos.SessionComplete, MinAge: ttl, HasMin: true}
	old, err := st.ListSessions(ctx, "", true, f, now.UTC())
	if err != nil {
		return 0, fmt.Errorf("session cleanup: %w", err)
	}
	if len(old) == 0 {
		return 0, nil
	}
	n, err := st.DeleteSessions(ctx, old)
	if err != nil {
		return n, fmt.Errorf("session cleanup: %w", err)
	}
	return n, nil
}
