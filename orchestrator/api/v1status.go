package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/cray-bos/bos/orchestrator"
)

// The v1 status writes, BOA's endpoints (reference 2): plain changes of the session's
// status document, each one compare-and-set of the stored session
// (orchestrator/v1status.go). Status codes are the document's (BOS answers 200 where it
// promises 201, and 204 with no body to a boot-set PATCH).

func (s *Server) v1StatusRoutes(r gin.IRouter, mw gin.HandlerFunc) {
	h := s.wrap
	r.POST("/v1/session/:id/status", mw, h(s.createV1SessionStatus))
	r.PATCH("/v1/session/:id/status", mw, h(s.patchV1SessionStatus))
	r.DELETE("/v1/session/:id/status", mw, h(s.deleteV1SessionStatus))
	r.POST("/v1/session/:id/status/:bootset", mw, h(s.createV1BootSetStatus))
	r.PATCH("/v1/session/:id/status/:bootset", mw, h(s.patchV1BootSetStatus))
	r.DELETE("/v1/session/:id/status/:bootset", mw, h(s.deleteV1BootSetStatus))
}

// updateV1Session changes the :id session with change (compare-and-set).
func (s *Server) updateV1Session(c *gin.Context, change func(*orchestrator.V1Session) error) (orchestrator.V1Session, error) {
	id := c.Param("id")
	if err := orchestrator.ValidateComponentID(id); err != nil { // 1–127 characters
		return orchestrator.V1Session{}, orchestrator.Errorf(orchestrator.EINVALID, "invalid session id %q", id)
	}
	sess, err := s.st.UpdateV1Session(c.Request.Context(), id, change)
	if err != nil {
		return sess, err
	}
	sess.ComputeMetadata()
	return sess, nil
}

func (s *Server) createV1SessionStatus(c *gin.Context) error {
	var body orchestrator.V1SessionStatus
	if err := decode(c.Request.Body, &body); err != nil {
		return err
	}
	now := s.now()
	sess, err := s.updateV1Session(c, func(x *orchestrator.V1Session) error { return x.CreateV1Status(body, now) })
	if err != nil {
		return err
	}
	sendJSON(c, http.StatusOK, sess.Status)
	return nil
}

func (s *Server) patchV1SessionStatus(c *gin.Context) error {
	var m orchestrator.V1Metadata
	if err := decode(c.Request.Body, &m); err != nil {
		return err
	}
	sess, err := s.updateV1Session(c, func(x *orchestrator.V1Session) error { return x.PatchV1Status(m) })
	if err != nil {
		return err
	}
	sendJSON(c, http.StatusOK, sess.Status)
	return nil
}

func (s *Server) deleteV1SessionStatus(c *gin.Context) error {
	if _, err := s.updateV1Session(c, (*orchestrator.V1Session).DeleteV1Status); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) createV1BootSetStatus(c *gin.Context) error {
	var body orchestrator.V1BootSetStatus
	if err := decode(c.Request.Body, &body); err != nil {
		return err
	}
	var bs orchestrator.V1BootSetStatus
	sess, err := s.updateV1Session(c, func(x *orchestrator.V1Session) (err error) {
		bs, err = x.CreateV1BootSetStatus(c.Param("bootset"), body)
		return err
	})
	if err != nil {
		return err
	}
	sendJSON(c, http.StatusCreated, sess.BootSet(bs.Name))
	return nil
}

func (s *Server) patchV1BootSetStatus(c *gin.Context) error {
	var updates []orchestrator.V1StatusUpdate
	if err := decode(c.Request.Body, &updates); err != nil {
		return err
	}
	sess, err := s.updateV1Session(c, func(x *orchestrator.V1Session) error {
		_, err := x.UpdateV1BootSetStatus(c.Param("bootset"), updates)
		return err
	})
	if err != nil {
		return err
	}
	sendJSON(c, http.StatusOK, sess.BootSet(c.Param("bootset")))
	return nil
}

func (s *Server) deleteV1BootSetStatus(c *gin.Context) error {
	if _, err := s.updateV1Session(c, func(x *orchestrator.V1Session) error { return x.DeleteV1BootSetStatus(c.Param("bootset")) }); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}
