package api

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/internal/etag"
	"github.com/cray-bos/bos/orchestrator"
)

// Entity tags and If-Match (our extension, docs/bos-api-deviations.md): single
// templates, sessions and components carry a strong ETag; their PUT, PATCH and DELETE
// honour If-Match inside the store's transaction (412 when it does not hold).

// taggedRoutes are the route patterns (suffixes, so a gateway prefix may precede them)
// whose records carry entity tags.
var taggedRoutes = []string{"/v2/sessiontemplates/:id", "/v2/sessions/:id", "/v2/components/:id"}

// ifMatch parses the request's If-Match header; a malformed one is 400.
func ifMatch(c *gin.Context) (etag.Condition, error) {
	cond, err := etag.ParseIfMatch(c.Request.Header.Values("If-Match"))
	if err != nil {
		return cond, orchestrator.Errorf(orchestrator.EINVALID, "%s", err.Error())
	}
	return cond, nil
}

// writeTarget reads what a PUT, PATCH or DELETE of one tagged record checks before its
// body: the path id (by idOf, 400 when invalid), then If-Match.
func writeTarget(c *gin.Context, idOf func(*gin.Context) (string, error)) (string, etag.Condition, error) {
	id, err := idOf(c)
	if err != nil {
		return "", etag.Condition{}, err
	}
	cond, err := ifMatch(c)
	return id, cond, err
}

// sendTagged answers 200 with v and the entity tag of the stored record it shows.
func sendTagged(c *gin.Context, tag string, v any) {
	setETag(c, tag)
	sendJSON(c, http.StatusOK, v)
}

// setETag is c.Header("ETag", tag) with the header's canonical key written out, which
// spares every tagged answer canonicalising it anew (an allocation).
func setETag(c *gin.Context, tag string) {
	if tag == "" {
		c.Writer.Header().Del("Etag")
		return
	}
	c.Writer.Header()["Etag"] = []string{tag}
}

// sendTaggedJSON answers 200 with a record's stored JSON (timestamps in BOS's form) and
// its entity tag.
func sendTaggedJSON(c *gin.Context, tag string, stored json.RawMessage) {
	setETag(c, tag)
	c.Data(http.StatusOK, "application/json; charset=utf-8", bosapi.ToWire(stored))
}

// checkUntaggedIfMatch guards writes to routes without entity tags (collections,
// options, v1): no tag can match there, so an If-Match naming tags is 412 (RFC 9110
// §13.1.1) rather than silently ignored; "*" (the target exists) is left to the handler.
func (s *Server) checkUntaggedIfMatch(c *gin.Context) {
	route := c.FullPath()
	if c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead || route == "" || len(c.Request.Header.Values("If-Match")) == 0 {
		c.Next()
		return
	}
	for _, suffix := range taggedRoutes {
		if strings.HasSuffix(route, suffix) {
			c.Next()
			return
		}
	}
	cond, err := ifMatch(c)
	if err == nil && !cond.Star() {
		err = &orchestrator.Error{Code: orchestrator.EPRECONDITION, Title: "Precondition Failed",
			Message: "If-Match names entity tags, but " + route + " has none (only /v2/sessiontemplates/{id}, /v2/sessions/{id} and /v2/components/{id} do); nothing was written"}
	}
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.Next()
}
