// Package conformance checks a service's HTTP requests and responses against the real
// service's published API document (specs/), with kin-openapi's validator. Only tests
// import it.
//
// A Checker wraps an http.Handler. Each Do sends one request, given relative to the
// document's first server URL (the API gateway's, e.g. /apis/bos), to the handler at that
// same path, and validates the request and the response against the operation the document
// routes it to. Errors fail the test unless a Deviation names them: an operation, a piece of
// the validator's message, and why we differ on purpose.
package conformance

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"gopkg.in/yaml.v3"
)

// The documents in specs/.
const (
	BOSv2 = "bos-2.50.0-openapi.yaml"
	BOSv1 = "bos-2.16.0-openapi-v1.yaml"
	HSM   = "hsm-smd-2.45.0-swagger_v2.yaml"
	BSS   = "bss-1.37.0-swagger.yaml"
	CFS   = "cfs-1.31.1-openapi.yaml"
	IMS   = "ims-3.33.0-openapi.yaml"
	PCS   = "pcs-2.12.1-swagger.yaml"
)

//go:embed specs/*.yaml
var specs embed.FS

// Spec is a loaded document and its router.
type Spec struct {
	Name   string
	Doc    *openapi3.T
	Base   *url.URL // the first server URL: requests are relative to it
	router routers.Router
}

var (
	loadMu sync.Mutex
	loaded = map[string]*Spec{}
)

// Load reads a document of specs/ (OpenAPI 3, or Swagger 2 converted to it), once per
// process.
func Load(name string) (*Spec, error) {
	loadMu.Lock()
	defer loadMu.Unlock()
	if s, ok := loaded[name]; ok {
		return s, nil
	}
	raw, err := specs.ReadFile("specs/" + name)
	if err != nil {
		return nil, err
	}
	doc, err := parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(doc.Servers) == 0 {
		return nil, fmt.Errorf("%s: no server URL", name)
	}
	base, err := url.Parse(doc.Servers[0].URL)
	if err != nil {
		return nil, fmt.Errorf("%s: server URL: %w", name, err)
	}
	doc.Servers = doc.Servers[:1] // the gateway's; the others are in-cluster host names
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("%s: router: %w", name, err)
	}
	s := &Spec{Name: name, Doc: doc, Base: base, router: r}
	loaded[name] = s
	return s, nil
}

// parse reads OpenAPI 3 as is and converts Swagger 2.
func parse(raw []byte) (*openapi3.T, error) {
	var head struct {
		Swagger string `yaml:"swagger"`
	}
	if err := yaml.Unmarshal(raw, &head); err != nil {
		return nil, err
	}
	if head.Swagger == "" {
		doc, err := openapi3.NewLoader().LoadFromData(raw)
		if err != nil {
			return nil, err
		}
		return doc, nil
	}
	var v2 openapi2.T
	// openapi2.T decodes from JSON; YAML goes through a generic value first.
	var generic any
	if err := yaml.Unmarshal(raw, &generic); err != nil {
		return nil, err
	}
	js, err := json.Marshal(generic)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(js, &v2); err != nil {
		return nil, err
	}
	return openapi2conv.ToV3(&v2)
}

// Operations lists the document's operations as "METHOD /path".
func (s *Spec) Operations() []string {
	var ops []string
	for path, item := range s.Doc.Paths.Map() {
		for method := range item.Operations() {
			ops = append(ops, method+" "+path)
		}
	}
	sort.Strings(ops)
	return ops
}

// Deviation allows validation errors that we mean: on operation Op ("METHOD /path" as in
// the document), each error whose text contains Contains.
type Deviation struct {
	Op       string
	Contains string
	Reason   string
}

// ProblemJSON allows errors sent as application/problem+json where a document says
// application/json, as the HMS services and connexion's problem() really do; who names
// the real code that does it.
func ProblemJSON(who string) Deviation {
	return Deviation{Op: "*", Contains: `response header Content-Type has unexpected value: "application/problem+json"`,
		Reason: "the document says application/json; " + who + " sends RFC 7807 errors as application/problem+json"}
}

// Checker validates one handler's traffic against one document.
type Checker struct {
	t       testing.TB
	spec    *Spec
	handler http.Handler
	allow   []Deviation
	Header  http.Header // sent with every request

	mu   sync.Mutex
	seen map[string]map[int]bool // operation → statuses answered
	used map[int]bool            // indexes of allow that matched
}

// New loads the document and returns a checker of h. Deviations that never match by the
// end of the test fail it, so the list stays true.
func New(t testing.TB, name string, h http.Handler, allow ...Deviation) *Checker {
	t.Helper()
	s, err := Load(name)
	if err != nil {
		t.Fatal(err)
	}
	c := &Checker{t: t, spec: s, handler: h, allow: allow, Header: http.Header{},
		seen: map[string]map[int]bool{}, used: map[int]bool{}}
	t.Cleanup(func() {
		for i, d := range c.allow {
			if !c.used[i] && !t.Failed() {
				t.Errorf("%s: deviation never seen (drop it): %s %q: %s", name, d.Op, d.Contains, d.Reason)
			}
		}
	})
	return c
}

// Response is a handler's answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Do sends a request that must be valid; path is relative to the document's server URL and
// may carry a query. A body that is not a string or []byte is sent as JSON.
func (c *Checker) Do(method, path string, body any) *Response {
	c.t.Helper()
	return c.do(method, path, body, true)
}

// DoInvalid sends a request that the document must find invalid (proof that the request is
// bad for the real service too); the answer must be a 4xx the document describes.
func (c *Checker) DoInvalid(method, path string, body any) *Response {
	c.t.Helper()
	r := c.do(method, path, body, false)
	if r.Status < 400 || r.Status >= 500 {
		c.t.Errorf("%s %s: invalid request answered %d: %s", method, path, r.Status, r.Body)
	}
	return r
}

func (c *Checker) do(method, path string, body any, valid bool) *Response {
	c.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			c.t.Fatal(err)
		}
	}
	target := strings.TrimRight(c.spec.Base.String(), "/") + path
	req := httptest.NewRequest(method, target, bytes.NewReader(raw))
	for k, v := range c.Header {
		req.Header[k] = v
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	route, params, err := c.spec.router.FindRoute(req)
	if err != nil {
		c.fail(method+" "+path, "route", err)
		return c.serve(req, raw)
	}
	op := method + " " + route.Path
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)
	req.Body = io.NopCloser(bytes.NewReader(raw)) // the validator read it
	switch {
	case valid && reqErr != nil:
		c.fail(op, "request", reqErr)
	case !valid && reqErr == nil:
		c.t.Errorf("%s %s: the document finds this request valid: %s", method, path, raw)
	}
	resp := c.serve(req, raw)
	c.mu.Lock()
	if c.seen[op] == nil {
		c.seen[op] = map[int]bool{}
	}
	c.seen[op][resp.Status] = true
	c.mu.Unlock()
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.Status, Header: resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	out.SetBodyBytes(resp.Body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		c.fail(op, fmt.Sprintf("response %d", resp.Status), fmt.Errorf("%w\nbody: %.600s", err, resp.Body))
	}
	return resp
}

func (c *Checker) serve(req *http.Request, raw []byte) *Response {
	req = req.Clone(req.Context())
	req.Body = io.NopCloser(bytes.NewReader(raw))
	req.RequestURI = req.URL.RequestURI()
	w := httptest.NewRecorder()
	c.handler.ServeHTTP(w, req)
	return &Response{Status: w.Code, Header: w.Header(), Body: w.Body.Bytes()}
}

// fail reports each validation error that no deviation allows.
func (c *Checker) fail(op, where string, err error) {
	c.t.Helper()
	for _, e := range split(err) {
		msg := describe(e)
		allowed := false
		for i, d := range c.allow {
			if (d.Op == op || d.Op == "*") && strings.Contains(msg, d.Contains) {
				c.mu.Lock()
				c.used[i] = true
				c.mu.Unlock()
				allowed = true
				break
			}
		}
		if !allowed {
			c.t.Errorf("%s: %s %s does not conform: %s", c.spec.Name, op, where, msg)
		}
	}
}

// describe is one validation error in a line: where, the JSON pointer and the reason
// (kin-openapi's own text dumps the whole schema).
func describe(err error) string {
	var se *openapi3.SchemaError
	if !errors.As(err, &se) {
		return err.Error()
	}
	where := "response body"
	var re *openapi3filter.RequestError
	if errors.As(err, &re) {
		where = "request body"
		if re.Parameter != nil {
			where = re.Parameter.In + " parameter " + re.Parameter.Name
		}
	}
	value, _ := json.Marshal(se.Value)
	msg := fmt.Sprintf("%s /%s: %s (value %.200s)", where, strings.Join(se.JSONPointer(), "/"), se.Reason, value)
	var inner *openapi3.SchemaError
	if errors.As(se.Origin, &inner) { // allOf, anyOf, oneOf: the branch that failed
		msg += fmt.Sprintf("; because /%s: %s", strings.Join(inner.JSONPointer(), "/"), inner.Reason)
	}
	return msg
}

// split flattens kin-openapi's multi-errors.
func split(err error) []error {
	var out []error
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case openapi3.MultiError:
			for _, x := range e {
				walk(x)
			}
		case *openapi3filter.RequestError:
			if me, ok := e.Err.(openapi3.MultiError); ok {
				for _, x := range me {
					walk(&openapi3filter.RequestError{Input: e.Input, Parameter: e.Parameter, RequestBody: e.RequestBody, Err: x})
				}
				return
			}
			out = append(out, e)
		case *openapi3filter.ResponseError:
			if me, ok := e.Err.(openapi3.MultiError); ok {
				for _, x := range me {
					walk(&openapi3filter.ResponseError{Input: e.Input, Reason: e.Reason, Err: x})
				}
				return
			}
			out = append(out, e)
		default:
			out = append(out, err)
		}
	}
	walk(err)
	return out
}

// Seen lists the operations exercised, each with the statuses answered, e.g.
// "GET /v2/sessions/{session_id} 200,404".
func (c *Checker) Seen() map[string][]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string][]int{}
	for op, st := range c.seen {
		for s := range st {
			out[op] = append(out[op], s)
		}
		sort.Ints(out[op])
	}
	return out
}

// RequireAll fails the test for each operation of the document whose path starts with
// under that no request reached, unless skip names it (with the reason as the value).
func (c *Checker) RequireAll(under string, skip map[string]string) {
	c.t.Helper()
	seen := c.Seen()
	for _, op := range c.spec.Operations() {
		if _, path, _ := strings.Cut(op, " "); !strings.HasPrefix(path, under) {
			continue
		}
		_, done := seen[op]
		_, skipped := skip[op]
		switch {
		case !done && !skipped:
			c.t.Errorf("%s: operation %s not exercised", c.spec.Name, op)
		case done && skipped:
			c.t.Errorf("%s: operation %s is exercised but listed as skipped", c.spec.Name, op)
		}
	}
	c.t.Logf("%s: %d operations validated, %d of the document's skipped, %d deviations allowed",
		c.spec.Name, len(seen), len(skip), len(c.allow))
}
