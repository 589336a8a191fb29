package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/internal/problem"
	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/tenant"
)

// APIVersion is the BOS release whose v2 API this server follows; /v2/version reports it.
const APIVersion = "2.50.0"

// DefaultMaxBodyBytes is the request body limit when Config.MaxBodyBytes is 0: room for a
// bulk PUT or PATCH of 10,000 full components.
const DefaultMaxBodyBytes = 32 << 20

// Config configures the API server.
type Config struct {
	// Store holds all state. Required.
	Store *store.Store
	// Tenants answers which tenants exist and which nodes they own (the TAPMS stand-in).
	// Nil means no tenant exists: any non-empty Cray-Tenant-Name is refused with 400.
	Tenants tenant.Registry
	// BootSets, when set, checks boot-set artifacts and IMS images at session creation
	// and in /v2/sessiontemplatesvalid. Nil runs only the structural checks.
	BootSets orchestrator.BootSetChecker
	// Logger receives request errors and warnings. Nil discards.
	Logger *slog.Logger
	// LogLevel, when set, is the level of Logger's handler: PATCH /v2/options sets it from
	// logging_level, so the option takes effect at once.
	LogLevel *slog.LevelVar
	// MaxBodyBytes limits request bodies (413 beyond). 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Now is the clock for timestamps. Nil means time.Now.
	Now func() time.Time
	// Nodes resolves sessions' nodes through HSM so that session creation (v1 and v2)
	// applies the overlap rule to nodes held by unfinished sessions: take over and record,
	// or refuse with 409 (overlap.go). Nil: no check and no record.
	Nodes orchestrator.NodeResolver
	// Auth, when set, requires a bearer token on every request but version, health and
	// OpenAPI (auth.go). Nil: no authentication; only what all tenants share is refused
	// to a request naming a tenant.
	Auth Authenticator
	// WakeV1, when set, is called after a v1 session is created or deleted (the lockstep
	// agent's Wake), so the agent starts or stops it at once rather than at its next poll.
	WakeV1 func()
	// WakeV2, when set, is called after v2 sessions are created or deleted (the
	// reconciler's WakeSessions), so a new session is set up at once rather than at the
	// session loop's next poll.
	WakeV2 func()
	// Rollouts, when set, serves /v2/rollouts (our extension, rollouts.go); nil answers
	// 503 there.
	Rollouts Rollouts
}

// Server is the BOS v2 REST API. It is an http.Handler.
type Server struct {
	st      *store.Store
	tenants tenant.Registry
	checker orchestrator.BootSetChecker
	log     *slog.Logger
	level   *slog.LevelVar
	maxBody int64
	now     func() time.Time
	engine  *gin.Engine

	nodes  orchestrator.NodeResolver
	wakeV1 func()
	wakeV2 func()
	auth   Authenticator

	rolloutSvc Rollouts
	// createMu serialises the overlap check and the store write of session creations.
	createMu sync.Mutex
}

var ginOnce sync.Once

// New builds the API server over cfg.Store. It panics if cfg.Store is nil (a wiring bug).
func New(cfg Config) *Server {
	if cfg.Store == nil {
		panic("api.New: Config.Store is required")
	}
	// Release mode silences gin's route dump; the mode is process-wide, so set it once.
	ginOnce.Do(func() { gin.SetMode(gin.ReleaseMode) })
	s := &Server{st: cfg.Store, tenants: cfg.Tenants, checker: cfg.BootSets, log: cfg.Logger, level: cfg.LogLevel,
		maxBody: cfg.MaxBodyBytes, now: cfg.Now, nodes: cfg.Nodes, wakeV1: cfg.WakeV1, wakeV2: cfg.WakeV2, auth: cfg.Auth,
		rolloutSvc: cfg.Rollouts}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.now == nil {
		s.now = time.Now
	}
	e := gin.New()
	e.HandleMethodNotAllowed = true
	// No redirects: an empty id (DELETE /v2/sessions/) must not become the collection
	// (DELETE /v2/sessions, a bulk delete); it is a 404 like any unknown path.
	e.RedirectTrailingSlash, e.RedirectFixedPath = false, false
	e.Use(s.recoverPanics, s.authorize, s.limitBody, s.checkBody)
	e.Use(s.checkUntaggedIfMatch) // etag.go
	e.NoRoute(func(c *gin.Context) {
		s.writeError(c, problem.New(http.StatusNotFound, "no endpoint %s", c.Request.URL.Path))
	})
	e.NoMethod(func(c *gin.Context) {
		s.writeError(c, problem.New(http.StatusMethodNotAllowed, "%s is not allowed on %s", c.Request.Method, c.Request.URL.Path))
	})
	s.routes(e)
	s.engine = e
	return s
}

// GatewayPrefix is where the CSM API gateway serves BOS: the Cray CLI and other outside
// clients call /apis/bos/v2/... and /apis/bos/v1/....
const GatewayPrefix = "/apis/bos"

// gatewayKey marks, in a request's context, a request that came in under GatewayPrefix.
type gatewayKey struct{}

// ServeHTTP implements http.Handler. A path under GatewayPrefix is served as the path
// without it (as the gateway rewrites it), and link hrefs then carry the prefix (BOS's
// PROXY_PATH).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, GatewayPrefix); ok && (rest == "" || rest[0] == '/') {
		r = r.WithContext(context.WithValue(r.Context(), gatewayKey{}, true))
		u := *r.URL
		u.Path, u.RawPath = rest, strings.TrimPrefix(u.RawPath, GatewayPrefix)
		if rest == "" {
			u.Path, u.RawPath = "/", ""
		}
		r.URL = &u
	}
	s.engine.ServeHTTP(w, r)
}

// Handler returns the server as an http.Handler (the project's usual shape).
func (s *Server) Handler() http.Handler { return s }

// handler is a gin handler that reports failure by returning an error.
type handler func(c *gin.Context) error

// routes is the whole API, in the order of the BOS API documentation.
func (s *Server) routes(r gin.IRouter) {
	h := s.wrap
	t := s.withTenant
	ns := s.withTenantNamespace
	r.GET("/", h(s.getRoot))
	r.GET("/v2", h(s.getV2))
	r.GET("/v2/version", h(s.getV2))
	r.GET("/v2/healthz", h(s.getHealthz))
	r.GET("/v2/openapi.json", h(s.getOpenAPI))

	r.GET("/v2/options", h(s.getOptions))
	r.PATCH("/v2/options", h(s.patchOptions))

	r.GET("/v2/sessiontemplates", ns, h(s.listTemplates))
	r.GET("/v2/sessiontemplates/:id", ns, h(s.getTemplate))
	r.PUT("/v2/sessiontemplates/:id", t, h(s.putTemplate))
	r.PATCH("/v2/sessiontemplates/:id", t, h(s.patchTemplate))
	r.DELETE("/v2/sessiontemplates/:id", ns, h(s.deleteTemplate))
	r.GET("/v2/sessiontemplatesvalid/:id", ns, h(s.validateTemplate))
	r.GET("/v2/sessiontemplatetemplate", h(s.getTemplateTemplate))

	r.POST("/v2/sessions", t, h(s.createSession))
	r.GET("/v2/sessions", ns, h(s.listSessions))
	r.DELETE("/v2/sessions", ns, h(s.deleteSessions))
	r.GET("/v2/sessions/:id", ns, h(s.getSession))
	r.PATCH("/v2/sessions/:id", t, h(s.patchSession))
	r.DELETE("/v2/sessions/:id", ns, h(s.deleteSession))
	r.GET("/v2/sessions/:id/status", ns, h(s.getSessionStatus))
	r.POST("/v2/sessions/:id/status", ns, h(s.saveSessionStatus))

	r.GET("/v2/components", t, h(s.listComponents))
	r.PUT("/v2/components", t, h(s.putComponents))
	r.PATCH("/v2/components", t, h(s.patchComponents))
	r.GET("/v2/components/:id", t, h(s.getComponent))
	r.GET("/v2/components/:id/history", t, h(s.getComponentHistory))
	r.PUT("/v2/components/:id", t, h(s.putComponent))
	r.PATCH("/v2/components/:id", t, h(s.patchComponent))
	r.DELETE("/v2/components/:id", t, h(s.deleteComponent))

	r.POST("/v2/applystaged", t, h(s.applyStaged))

	s.rolloutRoutes(r) // rollouts.go, our extension

	s.v1Routes(r) // v1.go
}

// wrap turns a handler into a gin handler that writes its error as problem+json.
func (s *Server) wrap(fn handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := fn(c); err != nil {
			s.writeError(c, err)
		}
	}
}

// statusOf maps domain error codes to HTTP statuses: the only place that does.
var statusOf = map[string]int{
	orchestrator.EINVALID:     http.StatusBadRequest,
	orchestrator.ENOTFOUND:    http.StatusNotFound,
	orchestrator.ECONFLICT:    http.StatusConflict,
	orchestrator.ETOOLARGE:    http.StatusRequestEntityTooLarge,
	orchestrator.EUNAVAILABLE: http.StatusServiceUnavailable,
	orchestrator.EINTERNAL:    http.StatusInternalServerError,
	// etag.go
	orchestrator.EPRECONDITION: http.StatusPreconditionFailed,
}

// writeError sends err as an RFC 7807 problem. Internal errors are logged with their
// detail and shown as "Internal error"; unavailability is logged as a warning.
func (s *Server) writeError(c *gin.Context, err error) {
	defer c.Abort()
	var d *problem.Details
	if errors.As(err, &d) {
		out := *d
		out.Instance = c.Request.URL.Path
		problem.WriteDetails(c.Writer, &out)
		return
	}
	code := orchestrator.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	var title string
	var de *orchestrator.Error
	if errors.As(err, &de) {
		title = de.Title
	}
	if title == "" {
		title = http.StatusText(status)
	}
	switch {
	case errors.Is(err, context.Canceled):
		return // the client went away
	case status >= 500:
		s.log.Error("request failed", "method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
	}
	detail := orchestrator.ErrorMessage(err)
	problem.WriteDetails(c.Writer, &problem.Details{Type: "about:blank", Title: title, Status: status,
		Detail: detail, Instance: c.Request.URL.Path})
}

// recoverPanics turns a handler panic into a 500 and a log line.
func (s *Server) recoverPanics(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("handler panic", "method", c.Request.Method, "path", c.Request.URL.Path, "panic", fmt.Sprint(v))
			s.writeError(c, &orchestrator.Error{Code: orchestrator.EINTERNAL, Message: "Internal error"})
		}
	}()
	c.Next()
}

// limitBody refuses declared oversized bodies at once and caps the rest while read.
func (s *Server) limitBody(c *gin.Context) {
	if c.Request.ContentLength > s.maxBody {
		s.writeError(c, problem.New(http.StatusRequestEntityTooLarge, "request body is larger than %d bytes", s.maxBody))
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, s.maxBody)
	c.Next()
}

// checkBody vets the body of a POST, PUT or PATCH before any handler sees it, as BOS's
// connexion layer does: a body without a JSON Content-Type is 415; JSON null (which would
// decode as "no fields", wiping a component) and invalid UTF-8 (which encoding/json would
// silently replace) are 400. Timestamps are read in BOS's forms (timestamps.go). An empty
// body is left to the handler.
func (s *Server) checkBody(c *gin.Context) {
	switch c.Request.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		c.Next()
		return
	}
	body, err := io.ReadAll(c.Request.Body)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		s.writeError(c, problem.New(http.StatusRequestEntityTooLarge, "request body is larger than %d bytes", tooBig.Limit))
		return
	case err != nil:
		s.writeError(c, problem.New(http.StatusBadRequest, "cannot read request body: %v", err))
		return
	}
	c.Request.Body = io.NopCloser(bytes.NewReader(body))
	if len(bytes.TrimSpace(body)) == 0 {
		c.Next()
		return
	}
	if ct := c.GetHeader("Content-Type"); !isJSONType(ct) {
		s.writeError(c, problem.New(http.StatusUnsupportedMediaType, "Invalid Content-type (%s), expected JSON data", ct))
		return
	}
	if d := problem.CheckBody(body); d != nil {
		s.writeError(c, d)
		return
	}
	if body, err = bosapi.FromWire(body); err != nil {
		s.writeError(c, problem.New(http.StatusBadRequest, "%s", err.Error()))
		return
	}
	c.Request.Body = io.NopCloser(bytes.NewReader(body))
	c.Next()
}

// isJSONType reports whether a Content-Type names JSON (application/json or */*+json).
func isJSONType(ct string) bool {
	if ct == "application/json" {
		return true // the usual one, without parsing (ParseMediaType allocates a map)
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// decode strictly decodes JSON from r (a request body, or one already read) into v; its
// error is problem.Decode's 400 or 413. (A nil *problem.Details must not become a non-nil
// error, hence the wrapper.)
func decode(r io.Reader, v any) error {
	if d := problem.Decode(r, v); d != nil {
		return d
	}
	return nil
}

// readBody reads the raw body (for handlers that merge JSON themselves).
func (s *Server) readBody(c *gin.Context) ([]byte, error) {
	body, err := io.ReadAll(c.Request.Body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, problem.New(http.StatusRequestEntityTooLarge, "request body is larger than %d bytes", tooBig.Limit)
	}
	if err != nil {
		return nil, problem.New(http.StatusBadRequest, "cannot read request body: %v", err)
	}
	if len(body) == 0 {
		return nil, problem.New(http.StatusBadRequest, "request body is empty; a JSON value is required")
	}
	return body, nil
}

// ---- tenants ----

const tenantKey = "bos.tenant"

// withTenant resolves the request's tenant (Cray-Tenant-Name, or the token's: see
// authorize): empty means no tenant; an unknown tenant is 400 "Invalid tenant".
func (s *Server) withTenant(c *gin.Context) { s.resolveTenant(c, false) }

// withTenantNamespace is withTenant for reads and deletes of templates and sessions: as in
// BOS, which checks the tenant only when creating, an unknown tenant is a namespace with
// nothing in it (404 by name, empty lists), not 400.
func (s *Server) withTenantNamespace(c *gin.Context) { s.resolveTenant(c, true) }

func (s *Server) resolveTenant(c *gin.Context, unknownIsEmpty bool) {
	name := requestedTenant(c)
	if name == "" {
		c.Next()
		return
	}
	invalid := func(format string, args ...any) {
		s.writeError(c, &orchestrator.Error{Code: orchestrator.EINVALID, Title: "Invalid tenant", Message: fmt.Sprintf(format, args...)})
	}
	if err := orchestrator.ValidateTenant(name); err != nil {
		invalid("%s", orchestrator.ErrorMessage(err))
		return
	}
	var t *tenant.Tenant
	err := tenant.ErrNotFound
	if s.tenants != nil {
		t, err = s.tenants.Get(c.Request.Context(), name)
	}
	if errors.Is(err, tenant.ErrNotFound) {
		if !unknownIsEmpty {
			invalid("Tenant '%s' does not exist", name)
			return
		}
		t, err = tenant.New(name, nil), nil
	}
	if err != nil {
		s.writeError(c, &orchestrator.Error{Code: orchestrator.EUNAVAILABLE, Message: "the tenant registry cannot be reached", Err: err})
		return
	}
	c.Set(tenantKey, t)
	c.Next()
}

// tenantOf returns the caller's tenant, nil for none.
func tenantOf(c *gin.Context) *tenant.Tenant {
	if v, ok := c.Get(tenantKey); ok {
		return v.(*tenant.Tenant)
	}
	return nil
}

// tenantName returns the caller's tenant name, "" for none.
func tenantName(c *gin.Context) string {
	if t := tenantOf(c); t != nil {
		return t.Name
	}
	return ""
}

// withinFor returns the component predicate for a tenant (nil: everything).
func withinFor(t *tenant.Tenant) func(string) bool {
	if t == nil {
		return nil
	}
	return t.Has
}
