// Package api serves the BOS v2 and v1 REST APIs (gin) over the Redis store. The typed
// Go client that speaks them is package api/bosapi.
//
//	srv := api.New(api.Config{Store: st, Tenants: reg, Logger: log}) // an http.Handler
//	c := bosapi.NewClient("http://127.0.0.1:8080", nil).WithTenant("vcluster-blue")
//
// Routes (one table, routes(), in the order of the BOS API documentation): GET /, /v2,
// /v2/version, /v2/healthz, /v2/openapi.json; /v2/options (GET, PATCH);
// /v2/sessiontemplates (list, GET, PUT, PATCH, DELETE), /v2/sessiontemplatesvalid/{id},
// /v2/sessiontemplatetemplate; /v2/sessions (POST, GET, DELETE), /v2/sessions/{id} (GET,
// PATCH, DELETE), /v2/sessions/{id}/status (GET, POST); /v2/components (GET, PUT, PATCH),
// /v2/components/{id} (GET, PUT, PATCH, DELETE); POST /v2/applystaged. openapi.yaml
// (embedded, served as JSON) describes exactly these; a test walks both.
//
// v1 (v1.go, its own route table; openapi-v1.yaml served at /v1/openapi.json; client
// methods in api/bosapi/client_v1.go): /v1, /v1/version, /v1/healthz; /v1/sessiontemplate (POST,
// list, GET, DELETE), /v1/sessiontemplatetemplate; /v1/session (POST, list),
// /v1/session/{id} (GET, DELETE) and its status views down to one category. Sessions are
// stored pending for the lockstep agent (Config.WakeV1 wakes it); docs/bos-v1.md has the
// deviations. A v2 session is stored pending for the reconciler's session setup
// (Config.WakeV2 wakes it after a create or delete).
//
// Overlapping sessions (overlap.go): with Config.Nodes set, a session created by POST
// /v1/session or POST /v2/sessions whose nodes are held by unfinished sessions of either
// version takes them over and records it (took_over), or, where the option
// reject_overlapping_sessions says so (v1 by default), is refused with 409 unless
// ?takeover=true. The store decides atomically across processes.
//
// Entity tags (etag.go, our extension): GET, PUT and PATCH of one session template,
// session or component answer a strong ETag; their PUT, PATCH and DELETE honour If-Match
// through the store's conditional methods, which check it inside the write's
// transaction (412 when it does not hold). Client.Get...Tagged reads tags,
// Client.WithIfMatch sends one.
//
// Every handler returns an error; writeError is the one place that maps domain codes to
// statuses (EINVALID 400, ENOTFOUND 404, ECONFLICT 409, EPRECONDITION 412, ETOOLARGE 413,
// EUNAVAILABLE 503, anything else 500 shown as "Internal error" and logged) and writes
// RFC 7807 application/problem+json with BOS's titles ("Invalid tenant", "The resource
// was not found", "The resource to be created already exists", "Actual state can not be
// updated.", "Unable to connect to the Redis database").
//
// Requests: bodies are limited (Config.MaxBodyBytes, 413) and decoded strictly (unknown
// fields, wrong types, trailing data: 400); schema rules (patterns, lengths, enums, ranges)
// live in the domain's Validate methods. The Cray-Tenant-Name middleware resolves the
// tenant through the registry: unknown → 400; templates and sessions are looked up in the
// tenant's namespace (lists without a tenant see all); components outside the tenant's
// nodes are 404, skipped, filtered out or "ignored" as BOS does.
//
// Identity (auth.go, docs/auth.md): a request without a tenant is the administrator's.
// Without Config.Auth a request naming a tenant may not PATCH /v2/options (403); with it,
// every route but version, health and OpenAPI needs a bearer token (401), the
// administrator role may act with or without a tenant, other tokens only as a tenant they
// grant (403), never on the options or v1.
//
// Options are read from the store on every request that needs them, so a PATCH is seen by
// the next request and by the reconciler. Component lists are sent as the stored JSON
// (which carries the computed status) without decoding; writes go through the store's
// per-component compare-and-set, so API and reconciler never lose each other's updates.
//
// Deviations from the Cray service (all listed in docs/bos-api-deviations.md): healthz is
// 503 without Redis; enabled=false filters; bulk session DELETE defaults to complete
// sessions; component PUT checks the tenant; option PATCH rejects unknown keys; PATCH
// answers include the computed status; a session PATCHed to complete has its extended
// status frozen at once; S3/IMS boot-set checks run only through Config.BootSets. Every
// path is also served under the gateway prefix /apis/bos, and links then carry it.
package api
