package api

import (
	"context"
	"github.com/cray-bos/bos/internal/uuid"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
)

// createSession validates a session request in BOS's order (reference 1.5), applies the
// overlap rule (overlap.go: take the nodes over and record it, or with
// reject_overlapping_sessions refuse with 409 unless takeover=true), and stores the
// session as pending; setting it up is the reconciler's job.
func (s *Server) createSession(c *gin.Context) error {
	var sc orchestrator.SessionCreate
	if err := decode(c.Request.Body, &sc); err != nil {
		return err
	}
	ctx := c.Request.Context()
	o, err := s.st.GetOptions(ctx)
	if err != nil {
		return err
	}
	warnings, err := sc.Validate(o)
	if err != nil {
		return err
	}
	tn := tenantName(c)
	t, err := s.st.GetTemplate(ctx, tn, sc.TemplateName)
	if orchestrator.IsNotFound(err) {
		return orchestrator.Errorf(orchestrator.EINVALID, "Session Template Name invalid: %s", sc.TemplateName)
	}
	if err != nil {
		return err
	}
	bsWarnings, err := s.checkBootSets(ctx, &t, sc.Operation, o)
	if err != nil {
		if orchestrator.ErrorCode(err) == orchestrator.EINVALID {
			return orchestrator.Errorf(orchestrator.EINVALID, "Session template fails check: %s", orchestrator.ErrorMessage(err))
		}
		return err
	}
	take, err := takeover(c)
	if err != nil {
		return err
	}
	name := sc.Name
	if name == "" {
		name = uuid.New()
	}
	s.logWarnings("session", name, append(warnings, bsWarnings...))
	sess := sc.NewSession(name, tn, s.now())
	var admit store.Admit[orchestrator.Session]
	if !sc.Stage && s.nodes != nil {
		limit := ""
		if sc.Limit != nil {
			limit = *sc.Limit
		}
		want := orchestrator.NodeSelector{Tenant: tn, Template: t, Limit: limit, IncludeDisabled: sc.IncludeDisabled,
			SessionKey: orchestrator.V2SessionKey(tn, name)}
		admit = admitOverlap(s, "v2", want, !take && o.RejectsOverlap("v2"),
			func(sess *orchestrator.Session, took []orchestrator.SessionTakeover) { sess.Status.TookOver = took })
	}
	s.createMu.Lock() // spares this process's creations the store's retries
	sess, err = s.st.CreateSessionAdmitted(ctx, sess, admit)
	s.createMu.Unlock()
	if err != nil {
		return err
	}
	s.logTakeovers("v2", tn, name, sess.Status.TookOver)
	s.sessionsChanged()
	sendJSON(c, http.StatusCreated, reply(sess))
	return nil
}

// sessionsChanged wakes the reconciler's session loop after a v2 create or delete.
func (s *Server) sessionsChanged() {
	if s.wakeV2 != nil {
		s.wakeV2()
	}
}

// sessionFilter parses min_age, max_age and status.
func sessionFilter(c *gin.Context) (orchestrator.SessionFilter, error) {
	return orchestrator.ParseSessionFilter(c.Query("min_age"), c.Query("max_age"), c.Query("status"))
}

// listSessions lists the caller's tenant's sessions, or all of them without a tenant.
func (s *Server) listSessions(c *gin.Context) error {
	f, err := sessionFilter(c)
	if err != nil {
		return err
	}
	tn := tenantName(c)
	list, err := s.st.ListSessions(c.Request.Context(), tn, tn == "", f, s.now())
	if err != nil {
		return err
	}
	for i := range list {
		list[i] = reply(list[i])
	}
	sendJSON(c, http.StatusOK, nonNil(list))
	return nil
}

// deleteSessions deletes the sessions matching the filters; without filters, as in BOS,
// every session of the caller's view, pending and running included.
func (s *Server) deleteSessions(c *gin.Context) error {
	f, err := sessionFilter(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	tn := tenantName(c)
	list, err := s.st.ListSessions(ctx, tn, tn == "", f, s.now())
	if err != nil {
		return err
	}
	if _, err := s.st.DeleteSessions(ctx, list); err != nil {
		return err
	}
	s.sessionsChanged()
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) getSession(c *gin.Context) error {
	id, err := pathName(c, "session name")
	if err != nil {
		return err
	}
	sess, tag, err := s.st.GetSessionTagged(c.Request.Context(), tenantName(c), id)
	if err != nil {
		return err
	}
	sendTagged(c, tag, reply(sess))
	return nil
}

// patchSession (operator use) replaces components and merges status. A session that
// becomes complete has its extended status frozen at once.
func (s *Server) patchSession(c *gin.Context) error {
	id, err := pathName(c, "session name")
	if err != nil {
		return err
	}
	cond, err := ifMatch(c)
	if err != nil {
		return err
	}
	var p orchestrator.SessionPatch
	if err := decode(c.Request.Body, &p); err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return err
	}
	ctx := c.Request.Context()
	wasComplete := false
	sess, tag, err := s.st.UpdateSessionIf(ctx, tenantName(c), id, cond, func(sess *orchestrator.Session) error {
		wasComplete = sess.Complete()
		p.ApplyTo(sess)
		return nil
	})
	if err != nil {
		return err
	}
	if sess.Complete() && !wasComplete {
		if _, err := s.st.FreezeSessionStatus(ctx, sess, withinFor(tenantOf(c)), s.now()); err != nil {
			return err
		}
	}
	sendTagged(c, tag, reply(sess))
	return nil
}

func (s *Server) deleteSession(c *gin.Context) error {
	id, err := pathName(c, "session name")
	if err != nil {
		return err
	}
	cond, err := ifMatch(c)
	if err != nil {
		return err
	}
	if err := s.st.DeleteSessionIf(c.Request.Context(), tenantName(c), id, cond); err != nil {
		return err
	}
	s.sessionsChanged()
	c.Status(http.StatusNoContent)
	return nil
}

// getSessionStatus returns the extended status: frozen once the session is complete.
func (s *Server) getSessionStatus(c *gin.Context) error {
	return s.sessionStatus(c, s.st.SessionStatus)
}

// saveSessionStatus computes the extended status now and saves it.
func (s *Server) saveSessionStatus(c *gin.Context) error {
	return s.sessionStatus(c, s.st.FreezeSessionStatus)
}

// sessionStatus answers the named session's extended status as status computes it.
func (s *Server) sessionStatus(c *gin.Context, status func(context.Context, orchestrator.Session, func(string) bool, time.Time) (orchestrator.SessionExtendedStatus, error)) error {
	id, err := pathName(c, "session name")
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	sess, err := s.st.GetSession(ctx, tenantName(c), id)
	if err != nil {
		return err
	}
	st, err := status(ctx, sess, withinFor(tenantOf(c)), s.now())
	if err != nil {
		return err
	}
	sendJSON(c, http.StatusOK, st)
	return nil
}

// reply is a session as the API shows it: without status.epoch, the store's order of
// creations, which BOS's session status schema (closed) has no room for.
func reply(sess orchestrator.Session) orchestrator.Session {
	sess.Status.Epoch = 0
	return sess
}
