package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// getComponentHistory answers a component's history, newest first (our extension:
// docs/bos-api-deviations.md). Tenants see their own nodes only, as with the record.
func (s *Server) getComponentHistory(c *gin.Context) error {
	id, err := pathComponent(c)
	if err != nil {
		return err
	}
	hist, err := s.st.ComponentHistory(c.Request.Context(), id)
	if err != nil {
		return err
	}
	sendJSON(c, http.StatusOK, nonNil(hist))
	return nil
}
