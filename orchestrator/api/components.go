package api

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/internal/problem"
	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/tenant"
)

// maxPageSize bounds page_size.
const maxPageSize = 1 << 20

// splitList splits a comma-separated query value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func badQuery(format string, args ...any) error {
	return orchestrator.Errorf(orchestrator.EINVALID, "invalid query: "+format, args...)
}

// componentFilter parses the list query. Empty values do not filter, except that
// enabled=false is a real filter (BOS ignores it: see the deviations) and an empty ids is
// refused (BOS's schema wants 1 to 127 characters).
func componentFilter(c *gin.Context) (store.Filter, error) {
	var f store.Filter
	if v, ok := c.GetQuery("ids"); ok {
		if v == "" {
			return f, badQuery("ids: must not be empty")
		}
		f.IDs = splitList(v)
	}
	f.Session = c.Query("session")
	f.StagedSession = c.Query("staged_session")
	if v := c.Query("enabled"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return f, badQuery("enabled: %q is not a boolean", v)
		}
		f.Enabled = &b
	}
	if v := c.Query("phase"); v != "" {
		if !slices.Contains(orchestrator.Phases, v) {
			return f, badQuery("phase: %q is not one of powering_on, powering_off, configuring", v)
		}
		f.Phase = &v
	}
	if v := c.Query("status"); v != "" {
		f.Status = splitList(v)
		for _, st := range f.Status {
			if !slices.Contains(orchestrator.Statuses, st) {
				return f, badQuery("status: %q is not one of %s", st, strings.Join(orchestrator.Statuses, ", "))
			}
		}
	}
	f.StartAfterID = c.Query("start_after_id")
	if v := c.Query("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxPageSize {
			return f, badQuery("page_size: %q is not an integer between 0 and %d", v, maxPageSize)
		}
		f.PageSize = n
	}
	if t := tenantOf(c); t != nil {
		if f.IDs == nil {
			f.IDs = t.Nodes()
		} else {
			f.IDs = slices.DeleteFunc(f.IDs, func(id string) bool { return !t.Has(id) })
		}
	}
	return f, nil
}

// listComponents sends the stored JSON of the matching components (computed status
// included) without decoding it.
func (s *Server) listComponents(c *gin.Context) error {
	f, err := componentFilter(c)
	if err != nil {
		return err
	}
	raws, err := s.st.ListComponentsJSON(c.Request.Context(), f)
	if err != nil {
		return err
	}
	size := 2
	for _, r := range raws {
		size += len(r) + 1
	}
	var buf bytes.Buffer
	buf.Grow(size)
	buf.WriteByte('[')
	for i, r := range raws {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(r)
	}
	buf.WriteByte(']')
	c.Data(http.StatusOK, "application/json; charset=utf-8", bosapi.ToWire(buf.Bytes()))
	return nil
}

// componentNotFound is the 404 for an unknown id or one outside the caller's tenant.
func componentNotFound(id string) error {
	return &orchestrator.Error{Code: orchestrator.ENOTFOUND, Title: "The resource was not found", Message: fmt.Sprintf("Component '%s' does not exist", id)}
}

// pathComponent returns the :id parameter, checked and inside the caller's tenant.
func pathComponent(c *gin.Context) (string, error) {
	id := c.Param("id")
	if err := orchestrator.ValidateComponentID(id); err != nil {
		return "", err
	}
	if t := tenantOf(c); t != nil && !t.Has(id) {
		return "", componentNotFound(id)
	}
	return id, nil
}

func (s *Server) getComponent(c *gin.Context) error {
	id, err := pathComponent(c)
	if err != nil {
		return err
	}
	comp, tag, err := s.st.GetComponentTagged(c.Request.Context(), id)
	if err != nil {
		return err
	}
	sendTagged(c, tag, comp)
	return nil
}

// prepare validates patches and applies the auto fields to each (resolving BSS tokens in
// one round trip). Every patch must carry an id when needID is set.
func (s *Server) prepare(ctx context.Context, patches []*orchestrator.ComponentPatch, needID bool) error {
	var tokens []string
	for i, p := range patches {
		if p == nil {
			return orchestrator.Errorf(orchestrator.EINVALID, "component #%d is null; a component object is required", i+1)
		}
		if p.IsEmpty() {
			return orchestrator.Errorf(orchestrator.EINVALID, "component #%d sets no field; at least one is required", i+1)
		}
		if needID && p.ID == "" {
			return orchestrator.Errorf(orchestrator.EINVALID, "component #%d has no id", i+1)
		}
		if p.ID != "" {
			if err := orchestrator.ValidateComponentID(p.ID); err != nil {
				return err
			}
		}
		if err := p.Validate(); err != nil {
			return err
		}
		if t := p.TokenToResolve(); t != "" {
			tokens = append(tokens, t)
		}
	}
	known, err := s.st.GetTokens(ctx, tokens)
	if err != nil {
		return err
	}
	now := s.now()
	for _, p := range patches {
		var artifacts *orchestrator.BootArtifacts
		if rec, ok := known[p.TokenToResolve()]; ok {
			artifacts = &rec.BootArtifacts
		} else if t := p.TokenToResolve(); t != "" {
			s.log.Warn("unknown BSS referral token; boot artifacts kept as sent", "id", p.ID, "token", t)
		}
		p.SetAutoFields(now, artifacts)
	}
	return nil
}

// decodePatch reads one component's body and prepares it (see prepare).
func (s *Server) decodePatch(c *gin.Context) (*orchestrator.ComponentPatch, error) {
	var p orchestrator.ComponentPatch
	// Every booted node's report: the faster decoder, its problems word for word those of
	// decode (TestDecodePatchFastIsDecode).
	if d := problem.DecodeFast(c.Request.Body, &p); d != nil {
		return nil, d
	}
	if err := s.prepare(c.Request.Context(), []*orchestrator.ComponentPatch{&p}, false); err != nil {
		return nil, err
	}
	return &p, nil
}

// putComponent creates or replaces one component (the path id wins).
func (s *Server) putComponent(c *gin.Context) error {
	id, cond, err := writeTarget(c, pathComponent)
	if err != nil {
		return err
	}
	p, err := s.decodePatch(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	comp, tag, err := s.st.PutComponentIf(ctx, p.Build(id), cond)
	if err != nil {
		return err
	}
	sendTagged(c, tag, comp)
	return nil
}

// putComponents creates or replaces many components; each needs an id.
func (s *Server) putComponents(c *gin.Context) error {
	var list []*orchestrator.ComponentPatch
	if err := decode(c.Request.Body, &list); err != nil {
		return err
	}
	ctx := c.Request.Context()
	if err := s.prepare(ctx, list, true); err != nil {
		return err
	}
	comps := make([]orchestrator.Component, len(list))
	t := tenantOf(c)
	for i, p := range list {
		if err := orchestrator.ValidateComponentID(p.ID); err != nil {
			return err
		}
		if t != nil && !t.Has(p.ID) {
			return componentNotFound(p.ID)
		}
		comps[i] = p.Build(p.ID)
	}
	out, err := s.st.PutComponents(ctx, comps)
	if err != nil {
		return err
	}
	sendJSON(c, http.StatusOK, nonNil(out))
	return nil
}

// patchComponent merges a partial component, refusing actual_state with 409 while a
// change is in progress.
func (s *Server) patchComponent(c *gin.Context) error {
	id, cond, err := writeTarget(c, pathComponent)
	if err != nil {
		return err
	}
	p, err := s.decodePatch(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	stored, tag, err := s.st.UpdateComponentIfJSON(ctx, id, cond, func(cur *orchestrator.Component) error {
		if p.ActualState != nil && cur.ActualStateLocked() {
			return &orchestrator.Error{Code: orchestrator.ECONFLICT, Title: "Actual state can not be updated.",
				Message: fmt.Sprintf("Component '%s' is enabled and %s (last action %q): its actual state can not be updated until the change completes", id, orchestrator.ComputeStatus(cur), cur.LastAction.Action)}
		}
		p.ApplyTo(cur)
		return nil
	})
	if err != nil {
		return err
	}
	sendTaggedJSON(c, tag, stored)
	return nil
}

// patchComponents merges patches into many components: either a list of partial
// components with ids, or one patch and a filter (ids or session). Unknown ids, and ids
// outside the tenant, are a 404 for the whole request unless skip_bad_ids=true drops them.
func (s *Server) patchComponents(c *gin.Context) error {
	skip := false
	if v := c.Query("skip_bad_ids"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return badQuery("skip_bad_ids: %q is not a boolean", v)
		}
		skip = b
	}
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	t := tenantOf(c)
	patches := map[string][]*orchestrator.ComponentPatch{}
	var ids []string
	switch first := firstByte(body); first {
	case '[':
		var list []*orchestrator.ComponentPatch
		if err := decode(bytes.NewReader(body), &list); err != nil {
			return err
		}
		if err := s.prepare(ctx, list, true); err != nil {
			return err
		}
		for _, p := range list {
			if _, seen := patches[p.ID]; !seen {
				ids = append(ids, p.ID)
			}
			patches[p.ID] = append(patches[p.ID], p)
		}
	case '{':
		var b bosapi.PatchFilterBody
		if err := decode(bytes.NewReader(body), &b); err != nil {
			return err
		}
		if b.Patch == nil {
			return orchestrator.Errorf(orchestrator.EINVALID, "the body needs a patch")
		}
		var f bosapi.PatchFilters
		if b.Filters != nil {
			f = *b.Filters
		}
		switch {
		case f.IDs != "" && f.Session != "":
			return orchestrator.Errorf(orchestrator.EINVALID, "Multiple filters provided.")
		case f.IDs != "":
			ids = splitList(f.IDs)
		case f.Session != "":
			filter := store.Filter{Session: f.Session}
			if t != nil {
				filter.IDs = t.Nodes()
			}
			if ids, err = s.st.ComponentIDs(ctx, filter); err != nil {
				return err
			}
		default:
			return orchestrator.Errorf(orchestrator.EINVALID, "No filter provided.")
		}
		if err := s.prepare(ctx, []*orchestrator.ComponentPatch{b.Patch}, false); err != nil {
			return err
		}
		for _, id := range ids {
			patches[id] = []*orchestrator.ComponentPatch{b.Patch}
		}
	default:
		return orchestrator.Errorf(orchestrator.EINVALID, "the body must be a list of components or an object with patch and filters")
	}
	ids, err = s.knownIDs(ctx, ids, skip, t)
	if err != nil {
		return err
	}
	out, err := s.st.UpdateComponents(ctx, ids, func(cur *orchestrator.Component) error {
		for _, p := range patches[cur.ID] {
			p.ApplyTo(cur)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sendJSON(c, http.StatusOK, nonNil(out))
	return nil
}

// knownIDs keeps the ids that exist and belong to the tenant (t nil: any). A bad id is a
// 404 unless skip is set.
func (s *Server) knownIDs(ctx context.Context, ids []string, skip bool, t *tenant.Tenant) ([]string, error) {
	var bad []string
	in := ids
	if t != nil {
		in = nil
		for _, id := range ids {
			if t.Has(id) {
				in = append(in, id)
			} else {
				bad = append(bad, id)
			}
		}
	}
	exist, err := s.st.ExistingComponentIDs(ctx, in)
	if err != nil {
		return nil, err
	}
	if len(exist) < len(in) {
		known := make(map[string]bool, len(exist))
		for _, id := range exist {
			known[id] = true
		}
		for _, id := range in {
			if !known[id] {
				bad = append(bad, id)
				break
			}
		}
	}
	if len(bad) > 0 && !skip {
		return nil, componentNotFound(bad[0])
	}
	return exist, nil
}

func (s *Server) deleteComponent(c *gin.Context) error {
	id, cond, err := writeTarget(c, pathComponent)
	if err != nil {
		return err
	}
	if err := s.st.DeleteComponentIf(c.Request.Context(), id, cond); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// maxApplyStaged is the schema's limit on xnames per applystaged call.
const maxApplyStaged = 32768

// applyStaged moves staged state into desired state (reference 1.8).
func (s *Server) applyStaged(c *gin.Context) error {
	var req bosapi.ApplyStagedRequest
	if err := decode(c.Request.Body, &req); err != nil {
		return err
	}
	if len(req.Xnames) > maxApplyStaged {
		return orchestrator.Errorf(orchestrator.EINVALID, "xnames: at most %d per request (got %d)", maxApplyStaged, len(req.Xnames))
	}
	for _, x := range req.Xnames {
		if err := orchestrator.ValidateComponentID(x); err != nil {
			return err
		}
	}
	ctx := c.Request.Context()
	o, err := s.st.GetOptions(ctx)
	if err != nil {
		return err
	}
	t := tenantOf(c)
	tn := tenantName(c)
	xnames := dedupe(req.Xnames)
	var candidates []string
	for _, x := range xnames {
		if t == nil || t.Has(x) {
			candidates = append(candidates, x)
		}
	}
	// Sessions are read before the write, not in its compare-and-set callback (which may
	// run more than once); a node whose staged session changed meanwhile is done again
	// with that session read.
	sessions := map[string]*orchestrator.Session{}
	outcome := map[string]orchestrator.StagedOutcome{}
	now := s.now()
	for todo := candidates; len(todo) > 0; {
		if err := s.readStagedSessions(ctx, tn, todo, sessions); err != nil {
			return err
		}
		outs, err := store.UpdateEach(ctx, s.st, todo, func(cur *orchestrator.Component) (orchestrator.StagedOutcome, error) {
			sess, read := sessions[cur.StagedState.Session]
			if !read && cur.StagedState.Session != "" {
				return "", store.ErrSkip // staged meanwhile: next round
			}
			result, p := orchestrator.ApplyStaged(cur, sess, o.ClearStage)
			if p == nil {
				return result, store.ErrSkip
			}
			p.SetAutoFields(now, nil)
			p.ApplyTo(cur)
			return result, nil
		})
		if err != nil {
			return err
		}
		todo = todo[:0:0]
		for _, out := range outs {
			if out.Result == "" {
				todo = append(todo, out.ID)
			} else {
				outcome[out.ID] = out.Result
			}
		}
	}
	resp := bosapi.ApplyStagedResponse{Succeeded: []string{}, Failed: []string{}, Ignored: []string{}}
	for _, x := range xnames {
		switch outcome[x] {
		case orchestrator.StagedSucceeded:
			resp.Succeeded = append(resp.Succeeded, x)
		case orchestrator.StagedFailed:
			resp.Failed = append(resp.Failed, x)
		default: // outside the tenant, missing, or nothing staged
			resp.Ignored = append(resp.Ignored, x)
		}
	}
	sendJSON(c, http.StatusOK, resp)
	return nil
}

// readStagedSessions adds to sessions (name → session, nil if it does not exist) the
// staged sessions of ids not read yet.
func (s *Server) readStagedSessions(ctx context.Context, tn string, ids []string, sessions map[string]*orchestrator.Session) error {
	comps, err := s.st.GetComponents(ctx, ids)
	if err != nil {
		return err
	}
	for _, c := range comps {
		name := c.StagedState.Session
		if _, read := sessions[name]; read || name == "" {
			continue
		}
		got, err := s.st.GetSession(ctx, tn, name)
		switch {
		case err == nil:
			sessions[name] = &got
		case orchestrator.IsNotFound(err):
			sessions[name] = nil
		default:
			return err
		}
	}
	return nil
}

func firstByte(b []byte) byte {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func nonNil[T any](list []T) []T {
	if list == nil {
		return []T{}
	}
	return list
}
