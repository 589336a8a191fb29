package api

import (
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/internal/problem"
)

// sendJSON answers status with v, its timestamps in BOS's form.
func sendJSON(c *gin.Context, status int, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		problem.WriteDetails(c.Writer, problem.New(http.StatusInternalServerError, "Internal error"))
		return
	}
	c.Data(status, "application/json; charset=utf-8", bosapi.ToWire(raw))
}
