package crus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/cray-bos/bos/internal/uuid"
	"io"
	"net/http"
	"strings"

	"github.com/cray-bos/bos/internal/problem"
	bos "github.com/cray-bos/bos/orchestrator"
)

// PathPrefix is where the API is served (CRUS's /apis/crus behind the gateway).
const PathPrefix = "/crus"

// routes is the whole API, in the order of CRUS's API document.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(PathPrefix+"/session", s.methods(map[string]http.HandlerFunc{
		http.MethodPost: s.createSession,
		http.MethodGet:  s.listSessions,
	}))
	mux.HandleFunc(PathPrefix+"/session/{upgrade_id}", s.methods(map[string]http.HandlerFunc{
		http.MethodGet:    s.getSession,
		http.MethodDelete: s.deleteSession,
	}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		problem.Write(w, http.StatusNotFound, "no endpoint %s", r.URL.Path)
	})
	return mux
}

// methods dispatches on the method, answering others with a 405 problem and Allow.
func (s *Server) methods(byMethod map[string]http.HandlerFunc) http.HandlerFunc {
	allow := make([]string, 0, len(byMethod))
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		if byMethod[m] != nil {
			allow = append(allow, m)
		}
	}
	return func(w http.ResponseWriter, r *http.Request) {
		h, ok := byMethod[r.Method]
		if !ok {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			problem.Write(w, http.StatusMethodNotAllowed, "%s is not allowed on %s", r.Method, r.URL.Path)
			return
		}
		h(w, r)
	}
}

// Problem bodies CRUS sends.
const (
	detailNotFound   = "Requested resource does not exist. Re-run request with valid ID."
	detailValidation = "Input data was understood, but failed validation. Re-run request with valid input values for the fields indicated in the response."
)

// ValidationProblem is the 422 body: a problem plus the field errors.
type ValidationProblem struct {
	problem.Details
	Errors FieldErrors `json:"errors"`
}

func writeValidation(w http.ResponseWriter, errs FieldErrors) {
	body := ValidationProblem{Details: *problem.New(http.StatusUnprocessableEntity, "%s", detailValidation), Errors: errs}
	w.Header().Set("Content-Type", problem.ContentType)
	w.WriteHeader(http.StatusUnprocessableEntity)
	_ = json.NewEncoder(w).Encode(body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeStoreError answers a store failure: 404 with CRUS's text, else the mapped status.
func (s *Server) writeStoreError(w http.ResponseWriter, err error) {
	status := storeStatus(err)
	switch status {
	case http.StatusNotFound:
		problem.Write(w, status, detailNotFound)
	case http.StatusInternalServerError:
		s.log.Error("crus: request failed", "err", err)
		problem.Write(w, status, "Internal error")
	default:
		problem.Write(w, status, "%s", bos.ErrorMessage(err))
	}
}

// decodeCreate reads a create body strictly: broken JSON is 400, an oversized body 413,
// and an unknown field or a value of the wrong type 422 with the field named, as
// marshmallow reports them.
func (s *Server) decodeCreate(w http.ResponseWriter, r *http.Request) (Create, *problem.Details, FieldErrors) {
	var c Create
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(&c)
	if err == nil {
		if dec.More() {
			return c, problem.New(http.StatusBadRequest, "request body must hold a single JSON object"), nil
		}
		return c, nil, nil
	}
	var tooBig *http.MaxBytesError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		return c, problem.New(http.StatusRequestEntityTooLarge, "request body is larger than %d bytes", tooBig.Limit), nil
	case errors.Is(err, io.EOF):
		return c, problem.New(http.StatusBadRequest, "request body is empty; a JSON object is required"), nil
	case errors.As(err, &typ) && typ.Field != "":
		kind := map[string]string{"string": "string", "int": "integer"}[typ.Type.String()]
		if kind == "" {
			kind = typ.Type.String()
		}
		return c, nil, FieldErrors{typ.Field: {fmt.Sprintf("Not a valid %s.", kind)}}
	case errors.As(err, &typ):
		return c, problem.New(http.StatusBadRequest, "request body must be a JSON object, not %s", typ.Value), nil
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return c, nil, FieldErrors{field: {"Unknown field."}}
	}
	return c, problem.New(http.StatusBadRequest, "request body is not valid JSON: %v", err), nil
}

// createSession is POST /session: validate the body, check that the three HSM groups
// and the BOS template exist (CRUS checks neither), store the session as UPDATING and
// start its controller.
func (s *Server) createSession(w http.ResponseWriter, r *http.Request) {
	c, bad, fields := s.decodeCreate(w, r)
	if bad != nil {
		problem.WriteDetails(w, bad)
		return
	}
	if fields == nil {
		fields = c.Validate()
	}
	if fields == nil {
		var unavailable error
		fields, unavailable = s.checkReferences(r.Context(), &c)
		if unavailable != nil {
			problem.Write(w, http.StatusServiceUnavailable, "cannot check the session's groups and template: %v", unavailable)
			return
		}
	}
	if fields != nil {
		writeValidation(w, fields)
		return
	}
	now := s.now()
	rec := Record{
		Session: Session{
			UpgradeID: uuid.New(), Kind: Kind, APIVersion: APIVersion,
			StartingLabel: *c.StartingLabel, UpgradingLabel: *c.UpgradingLabel, FailedLabel: *c.FailedLabel,
			UpgradeStepSize: *c.UpgradeStepSize, UpgradeTemplateID: *c.UpgradeTemplateID,
			WorkloadManagerType: *c.WorkloadManagerType, State: StateUpdating, Messages: []string{},
		},
		Created:  now,
		Progress: Progress{Stage: StageStarting, StageStart: now},
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	if err := s.cfg.Store.CreateCRUSSession(r.Context(), rec.UpgradeID, raw); err != nil {
		s.writeStoreError(w, err)
		return
	}
	s.log.Info("crus: session created", "upgrade_id", rec.UpgradeID, "starting_label", rec.StartingLabel,
		"step_size", rec.UpgradeStepSize, "template", rec.UpgradeTemplateID)
	s.notify(rec.UpgradeID)
	writeJSON(w, http.StatusCreated, rec.Session)
}

// checkReferences looks the labels up in HSM and the template in BOS. A missing one is a
// field error; any other failure (a service down) is returned as unavailable.
func (s *Server) checkReferences(ctx context.Context, c *Create) (FieldErrors, error) {
	errs := FieldErrors{}
	for _, f := range []struct{ name, label string }{
		{"starting_label", *c.StartingLabel}, {"upgrading_label", *c.UpgradingLabel}, {"failed_label", *c.FailedLabel},
	} {
		_, err := s.cfg.HSM.Group(ctx, f.label)
		switch {
		case problem.StatusOf(err) == http.StatusNotFound:
			errs.add(f.name, "HSM group '%s' does not exist.", f.label)
		case err != nil:
			return nil, fmt.Errorf("HSM: %w", err)
		}
	}
	_, err := s.cfg.BOS.GetTemplate(ctx, *c.UpgradeTemplateID)
	switch {
	case problem.StatusOf(err) == http.StatusNotFound:
		errs.add("upgrade_template_id", "BOS session template '%s' does not exist.", *c.UpgradeTemplateID)
	case err != nil:
		return nil, fmt.Errorf("BOS: %w", err)
	}
	if len(errs) == 0 {
		return nil, nil
	}
	return errs, nil
}

// listSessions is GET /session: every session, oldest first.
func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) {
	recs, err := s.list(r.Context())
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	out := make([]Session, len(recs))
	for i := range recs {
		out[i] = recs[i].public()
	}
	writeJSON(w, http.StatusOK, out)
}

// getSession is GET /session/{upgrade_id}.
func (s *Server) getSession(w http.ResponseWriter, r *http.Request) {
	rec, err := s.load(r.Context(), r.PathValue("upgrade_id"))
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rec.public())
}

// deleteSession is DELETE /session/{upgrade_id}: the session becomes DELETING and the
// controller winds it down and removes it (asynchronously, as in CRUS).
func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("upgrade_id")
	rec, err := s.update(r.Context(), id, -1, func(x *Record) error {
		x.State = StateDeleting
		return nil
	})
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	s.log.Info("crus: session deleted", "upgrade_id", id)
	s.notify(id)
	writeJSON(w, http.StatusOK, rec.public())
}

// public is the API view of a record (messages never null).
func (r *Record) public() Session {
	out := r.Session
	if out.Messages == nil {
		out.Messages = []string{}
	}
	return out
}
