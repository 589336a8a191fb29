package api

import (
	"encoding/json"
	"maps"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/orchestrator"
)

func version(links ...bosapi.Link) bosapi.Version {
	parts := strings.SplitN(APIVersion, ".", 3)
	return bosapi.Version{Major: parts[0], Minor: parts[1], Patch: parts[2], Links: links}
}

// baseURL is scheme://host of the request, with GatewayPrefix when the request came
// through it.
func baseURL(c *gin.Context) string {
	scheme := "http"
	if c.Request.TLS != nil {
		scheme = "https"
	}
	if p := c.GetHeader("X-Forwarded-Proto"); p != "" {
		scheme = p
	}
	base := scheme + "://" + c.Request.Host
	if via, _ := c.Request.Context().Value(gatewayKey{}).(bool); via {
		base += GatewayPrefix
	}
	return base
}

// getRoot lists the API versions, v1 then v2 (both the same release), each with its self
// link.
func (s *Server) getRoot(c *gin.Context) error {
	self := bosapi.Link{Rel: "self", Href: baseURL(c) + "/"}
	sendJSON(c, http.StatusOK, []bosapi.Version{version(self), version(self)})
	return nil
}

// getV2 serves /v2 and /v2/version.
func (s *Server) getV2(c *gin.Context) error {
	base := baseURL(c)
	sendJSON(c, http.StatusOK, version(bosapi.Link{Rel: "self", Href: base + "/"}, bosapi.Link{Rel: "versions", Href: base + "/v2"}))
	return nil
}

// getHealthz reports whether Redis answers; 503 when it does not.
func (s *Server) getHealthz(c *gin.Context) error {
	if err := s.st.Ping(c.Request.Context()); err != nil {
		s.log.Warn("health check: database not available", "err", err)
		sendJSON(c, http.StatusServiceUnavailable, bosapi.Health{DBStatus: "not_available", APIStatus: "ok"})
		return nil
	}
	sendJSON(c, http.StatusOK, bosapi.Health{DBStatus: "ok", APIStatus: "ok"})
	return nil
}

// getOptions returns all 21 options (BOS's 20 and reject_overlapping_sessions).
func (s *Server) getOptions(c *gin.Context) error {
	o, err := s.st.GetOptions(c.Request.Context())
	if err != nil {
		return err
	}
	sendJSON(c, http.StatusOK, o)
	return nil
}

// patchOptions merges the body into the stored options and returns the result.
// Unknown keys are accepted (BOS's schema allows them) and echoed, but not kept.
func (s *Server) patchOptions(c *gin.Context) error {
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	o, err := s.st.UpdateOptions(c.Request.Context(), func(o *orchestrator.Options) error { return o.Patch(body) })
	if err != nil {
		return err
	}
	if s.level != nil {
		s.level.Set(o.LogLevel())
	}
	unknown := orchestrator.UnknownOptions(body)
	if len(unknown) == 0 {
		sendJSON(c, http.StatusOK, o)
		return nil
	}
	// As BOS: the answer echoes the keys that name no option (GET never shows them).
	raw, err := json.Marshal(o)
	if err != nil {
		return err
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(raw, &out); err != nil {
		return err
	}
	maps.Copy(out, unknown)
	sendJSON(c, http.StatusOK, out)
	return nil
}
