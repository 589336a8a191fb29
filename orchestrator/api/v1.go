package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"github.com/cray-bos/bos/internal/uuid"
	"maps"
	"net/http"
	"slices"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/internal/problem"
	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
)

// The BOS v1 API (reference bos-v1.md 1–4) on the same store as v2: templates are the
// shared records (read with their v1 extensions), sessions are run by the lockstep agent.
// Deviations from the Cray service are listed in docs/bos-v1.md; in short: every error
// is problem+json with the status the spec promises (BOS also answers bare strings, {}
// and empty bodies), unknown boot sets, phases and categories are 404 (BOS: 500), and
// session creation refuses overlaps (409) unless takeover=true or the option
// reject_overlapping_sessions is none.

// v1Routes is the v1 route table, in the order of the v1 API documentation.
func (s *Server) v1Routes(r gin.IRouter) {
	h, nt := s.wrap, s.noTenant
	r.GET("/v1", h(s.getV1))
	r.GET("/v1/version", h(s.getV1))
	r.GET("/v1/healthz", h(s.getV1Healthz))
	r.GET("/v1/openapi.json", h(s.getV1OpenAPI))

	r.POST("/v1/sessiontemplate", nt, h(s.createV1Template))
	r.GET("/v1/sessiontemplate", nt, h(s.listV1Templates))
	r.GET("/v1/sessiontemplate/:id", nt, h(s.getV1Template))
	r.DELETE("/v1/sessiontemplate/:id", nt, h(s.deleteV1Template))
	r.GET("/v1/sessiontemplatetemplate", h(s.getV1TemplateTemplate))

	r.POST("/v1/session", nt, h(s.createV1Session))
	r.GET("/v1/session", nt, h(s.listV1Sessions))
	r.GET("/v1/session/:id", nt, h(s.getV1Session))
	r.DELETE("/v1/session/:id", nt, h(s.deleteV1Session))
	r.GET("/v1/session/:id/status", nt, h(s.getV1SessionStatus))
	r.GET("/v1/session/:id/status/:bootset", nt, h(s.getV1BootSetStatus))
	r.GET("/v1/session/:id/status/:bootset/:phase", nt, h(s.getV1PhaseStatus))
	r.GET("/v1/session/:id/status/:bootset/:phase/:category", nt, h(s.getV1CategoryStatus))
	s.v1StatusRoutes(r, nt) // v1status.go: BOA's status writes
}

// noTenant refuses a v1 request that names a tenant (reference 1).
func (s *Server) noTenant(c *gin.Context) {
	if c.GetHeader(bosapi.TenantHeader) != "" {
		s.writeError(c, &orchestrator.Error{Code: orchestrator.EINVALID, Title: "Multi-tenancy not supported",
			Message: "BOS v1 endpoints do not support multi-tenancy and a tenant was specified in the header"})
		return
	}
	c.Next()
}

// getV1 serves /v1 and /v1/version (links as /v2's).
func (s *Server) getV1(c *gin.Context) error {
	base := baseURL(c)
	sendJSON(c, http.StatusOK, version(bosapi.Link{Rel: "self", Href: base + "/"}, bosapi.Link{Rel: "versions", Href: base + "/v1"}))
	return nil
}

// getV1Healthz reports whether the database answers, with v1's wording.
func (s *Server) getV1Healthz(c *gin.Context) error {
	if err := s.st.Ping(c.Request.Context()); err != nil {
		s.log.Warn("v1 health check: database not available", "err", err)
		sendJSON(c, http.StatusServiceUnavailable, bosapi.Health{DBStatus: "Failed to read from cluster", APIStatus: "Not Ready"})
		return nil
	}
	sendJSON(c, http.StatusOK, bosapi.Health{DBStatus: "ok", APIStatus: "ok"})
	return nil
}

// ---- session templates ----

// createV1Template validates a v1 template, stores its v2 form with the v1 extensions
// (reference 3.2) and answers 201 with the name as a JSON string. A template of that
// name is replaced without warning, as in BOS.
func (s *Server) createV1Template(c *gin.Context) error {
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	t, err := orchestrator.DecodeV1Template(body)
	if err != nil {
		return err
	}
	if err := t.ValidateV1(); err != nil {
		return err
	}
	ctx := c.Request.Context()
	o, err := s.st.GetOptions(ctx)
	if err != nil {
		return err
	}
	stored, warnings, err := t.StoredForm(o)
	if err != nil {
		return err
	}
	s.logWarnings("session template", t.Name, warnings)
	raw, err := json.Marshal(stored)
	if err != nil {
		return fmt.Errorf("create v1 template: %w", err)
	}
	if err := s.st.PutTemplateJSON(ctx, "", stored.Name, raw); err != nil {
		return err
	}
	sendJSON(c, http.StatusCreated, stored.Name)
	return nil
}

// decodeV1Template reads a stored record as a v1 template (unknown fields ignored).
func decodeV1Template(raw []byte) (orchestrator.V1SessionTemplate, error) {
	var t orchestrator.V1SessionTemplate
	if err := json.Unmarshal(raw, &t); err != nil {
		return t, &orchestrator.Error{Code: orchestrator.EINTERNAL, Message: "a stored session template is not valid JSON", Err: err}
	}
	return t, nil
}

// listV1Templates lists every template of every tenant in its v1 view, as BOS does.
func (s *Server) listV1Templates(c *gin.Context) error {
	recs, err := s.st.ListTemplatesJSON(c.Request.Context())
	if err != nil {
		return err
	}
	out := make([]orchestrator.V1SessionTemplate, 0, len(recs))
	for _, r := range recs {
		t, err := decodeV1Template(r.JSON)
		if err != nil {
			return err
		}
		t.Name, t.Tenant = r.Name, r.Tenant
		out = append(out, t)
	}
	sendJSON(c, http.StatusOK, out)
	return nil
}

func (s *Server) getV1Template(c *gin.Context) error {
	id, err := pathTemplateName(c)
	if err != nil {
		return err
	}
	raw, err := s.st.GetTemplateJSON(c.Request.Context(), "", id)
	if err != nil {
		return err
	}
	t, err := decodeV1Template(raw)
	if err != nil {
		return err
	}
	t.Name = id
	sendJSON(c, http.StatusOK, t)
	return nil
}

func (s *Server) deleteV1Template(c *gin.Context) error {
	id, err := pathTemplateName(c)
	if err != nil {
		return err
	}
	if err := s.st.DeleteTemplate(c.Request.Context(), "", id); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) getV1TemplateTemplate(c *gin.Context) error {
	sendJSON(c, http.StatusOK, orchestrator.ExampleV1Template())
	return nil
}

// ---- sessions ----

// takeover parses the takeover query parameter (default false): true takes over held
// nodes even where reject_overlapping_sessions would refuse the session.
func takeover(c *gin.Context) (bool, error) {
	v := c.Query("takeover")
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, problem.New(http.StatusBadRequest, "takeover=%q is not a boolean", v)
	}
	return b, nil
}

// createV1Session checks the request and the template (reference 2.2), applies the
// overlap rule (overlap.go: 409 unless takeover=true or reject_overlapping_sessions=none,
// then the nodes taken over are recorded), stores the session as pending with a snapshot
// of the template, and wakes the agent.
func (s *Server) createV1Session(c *gin.Context) error {
	take, err := takeover(c)
	if err != nil {
		return err
	}
	var sc orchestrator.V1SessionCreate
	if err := decode(c.Request.Body, &sc); err != nil {
		return err
	}
	if err := sc.Validate(); err != nil {
		return err
	}
	ctx := c.Request.Context()
	raw, err := s.st.GetTemplateJSON(ctx, "", sc.TemplateName)
	if orchestrator.IsNotFound(err) {
		return &orchestrator.Error{Code: orchestrator.ENOTFOUND, Title: "The resource was not found",
			Message: "Session Template ID invalid: " + sc.TemplateName}
	}
	if err != nil {
		return err
	}
	tmpl, err := decodeV1Template(raw)
	if err != nil {
		return err
	}
	tmpl.Name = sc.TemplateName
	if len(tmpl.BootSets) == 0 {
		return orchestrator.Errorf(orchestrator.EINVALID, "Session template '%s' must have one or more defined boot sets for creation of a session.", sc.TemplateName)
	}
	for _, name := range slices.Sorted(maps.Keys(tmpl.BootSets)) {
		bs := tmpl.BootSets[name]
		if len(bs.NodeList) == 0 && len(bs.NodeGroups) == 0 && len(bs.NodeRolesGroups) == 0 {
			return orchestrator.Errorf(orchestrator.EINVALID, "Session template '%s' boot set '%s' must have at least one of: node_groups, node_list, node_roles_groups.", sc.TemplateName, name)
		}
	}

	o, err := s.st.GetOptions(ctx)
	if err != nil {
		return err
	}
	id := uuid.New()
	sess := orchestrator.NewV1Session(id, sc, tmpl, s.now())
	var admit store.Admit[orchestrator.V1Session]
	if s.nodes != nil {
		want := orchestrator.NodeSelector{Template: tmpl.V2(), Partition: tmpl.Partition, Limit: sc.Limit, SessionKey: orchestrator.V1SessionKey(id)}
		admit = admitOverlap(s, "v1", want, !take && o.RejectsOverlap("v1"),
			func(sess *orchestrator.V1Session, took []orchestrator.SessionTakeover) { sess.TookOver = took })
	}
	s.createMu.Lock() // spares this process's creations the store's retries
	sess, err = s.st.CreateV1SessionAdmitted(ctx, sess, admit)
	s.createMu.Unlock()
	if err != nil {
		return err
	}
	s.logTakeovers("v1", "", id, sess.TookOver)
	if s.wakeV1 != nil {
		s.wakeV1()
	}
	sendJSON(c, http.StatusCreated, orchestrator.V1SessionCreated{
		Operation: sc.Operation, TemplateName: sc.TemplateName, Job: sess.Job, Limit: sc.Limit,
		Links: []orchestrator.V1Link{
			{Rel: "session", Href: "/v1/session/" + id, JobID: sess.Job, Type: "GET"},
			{Rel: "status", Href: orchestrator.V1StatusLink(id), Type: "GET"},
		},
	})
	return nil
}

// listV1Sessions lists every v1 session id, sorted (BOS: unordered).
func (s *Server) listV1Sessions(c *gin.Context) error {
	ids, err := s.st.V1SessionIDs(c.Request.Context())
	if err != nil {
		return err
	}
	sendJSON(c, http.StatusOK, nonNil(ids))
	return nil
}

// v1Session loads the session of the :id path parameter with its metadata computed.
func (s *Server) v1Session(c *gin.Context) (orchestrator.V1Session, error) {
	id := c.Param("id")
	if err := orchestrator.ValidateComponentID(id); err != nil { // 1–127 characters
		return orchestrator.V1Session{}, orchestrator.Errorf(orchestrator.EINVALID, "invalid session id %q", id)
	}
	sess, err := s.st.GetV1Session(c.Request.Context(), id)
	if err != nil {
		return sess, err
	}
	sess.ComputeMetadata()
	return sess, nil
}

func (s *Server) getV1Session(c *gin.Context) error {
	sess, err := s.v1Session(c)
	if err != nil {
		return err
	}
	sendJSON(c, http.StatusOK, sess.Details())
	return nil
}

// deleteV1Session deletes the session and its status; the agent stops running it.
func (s *Server) deleteV1Session(c *gin.Context) error {
	if err := s.st.DeleteV1Session(c.Request.Context(), c.Param("id")); err != nil {
		return err
	}
	if s.wakeV1 != nil {
		s.wakeV1()
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) getV1SessionStatus(c *gin.Context) error {
	sess, err := s.v1Session(c)
	if err != nil {
		return err
	}
	if sess.StatusDeleted {
		return orchestrator.Errorf(orchestrator.ENOTFOUND, "Session '%s' has no status", sess.ID)
	}
	sendJSON(c, http.StatusOK, sess.Status)
	return nil
}

// v1BootSet loads the :bootset status of the :id session, or ENOTFOUND.
func (s *Server) v1BootSet(c *gin.Context) (*orchestrator.V1BootSetStatus, error) {
	sess, err := s.v1Session(c)
	if err != nil {
		return nil, err
	}
	bs := sess.BootSet(c.Param("bootset"))
	if bs == nil {
		return nil, orchestrator.Errorf(orchestrator.ENOTFOUND, "Session '%s' has no boot set '%s'", sess.ID, c.Param("bootset"))
	}
	return bs, nil
}

func (s *Server) getV1BootSetStatus(c *gin.Context) error {
	bs, err := s.v1BootSet(c)
	if err != nil {
		return err
	}
	sendJSON(c, http.StatusOK, bs)
	return nil
}

// v1Phase loads the :phase (any case) of the boot set, or ENOTFOUND.
func (s *Server) v1Phase(c *gin.Context) (*orchestrator.V1PhaseStatus, error) {
	bs, err := s.v1BootSet(c)
	if err != nil {
		return nil, err
	}
	p := bs.Phase(c.Param("phase"))
	if p == nil {
		return nil, orchestrator.Errorf(orchestrator.ENOTFOUND, "Boot set '%s' of session '%s' has no phase '%s'", bs.Name, bs.Session, c.Param("phase"))
	}
	return p, nil
}

func (s *Server) getV1PhaseStatus(c *gin.Context) error {
	p, err := s.v1Phase(c)
	if err != nil {
		return err
	}
	sendJSON(c, http.StatusOK, p)
	return nil
}

func (s *Server) getV1CategoryStatus(c *gin.Context) error {
	p, err := s.v1Phase(c)
	if err != nil {
		return err
	}
	cat := p.Category(c.Param("category"))
	if cat == nil {
		return orchestrator.Errorf(orchestrator.ENOTFOUND, "Phase '%s' has no category '%s'; the categories are not_started, in_progress, succeeded, failed and excluded", p.Name, c.Param("category"))
	}
	sendJSON(c, http.StatusOK, cat)
	return nil
}

// ---- OpenAPI ----

// openapiV1YAML describes the v1 routes, served as JSON at /v1/openapi.json.
//
//go:embed openapi-v1.yaml
var openapiV1YAML []byte

var openapiV1JSON = yamlAsJSON("openapi-v1.yaml", openapiV1YAML)

// OpenAPIV1 returns the v1 API description as JSON.
func OpenAPIV1() []byte { return append([]byte(nil), openapiV1JSON()...) }

func (s *Server) getV1OpenAPI(c *gin.Context) error {
	c.Data(http.StatusOK, "application/json", openapiV1JSON())
	return nil
}
