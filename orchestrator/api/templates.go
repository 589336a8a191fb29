package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/cray-bos/bos/orchestrator"
)

// pathName returns the :id path parameter checked as a template or session name.
func pathName(c *gin.Context, kind string) (string, error) {
	id := c.Param("id")
	return id, orchestrator.ValidateName(kind, id)
}

// listTemplates lists the caller's tenant's templates, or all of them without a tenant.
func (s *Server) listTemplates(c *gin.Context) error {
	tn := tenantName(c)
	list, err := s.st.ListTemplates(c.Request.Context(), tn, tn == "")
	if err != nil {
		return err
	}
	sendJSON(c, http.StatusOK, nonNil(list))
	return nil
}

func (s *Server) getTemplate(c *gin.Context) error {
	id, err := pathName(c, "session template name")
	if err != nil {
		return err
	}
	t, tag, err := s.st.GetTemplateTagged(c.Request.Context(), tenantName(c), id)
	if err != nil {
		return err
	}
	sendTagged(c, tag, t)
	return nil
}

// putTemplate creates or replaces a template (200, not 201, as in BOS).
func (s *Server) putTemplate(c *gin.Context) error {
	id, err := pathName(c, "session template name")
	if err != nil {
		return err
	}
	cond, err := ifMatch(c)
	if err != nil {
		return err
	}
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	o, err := s.st.GetOptions(ctx)
	if err != nil {
		return err
	}
	if err := orchestrator.CheckTemplateBody(body, false); err != nil {
		return err
	}
	t, err := orchestrator.DecodeTemplate(body)
	if err != nil {
		return err
	}
	warnings, err := t.Normalize(id, tenantName(c), o)
	if err != nil {
		return err
	}
	s.logWarnings("session template", id, warnings)
	tag, err := s.st.PutTemplateIf(ctx, t, cond)
	if err != nil {
		return err
	}
	sendTagged(c, tag, t)
	return nil
}

// patchTemplate deep-merges the body into a template and re-validates the result.
func (s *Server) patchTemplate(c *gin.Context) error {
	id, err := pathName(c, "session template name")
	if err != nil {
		return err
	}
	cond, err := ifMatch(c)
	if err != nil {
		return err
	}
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	if err := orchestrator.CheckTemplateBody(body, true); err != nil {
		return err
	}
	ctx := c.Request.Context()
	o, err := s.st.GetOptions(ctx)
	if err != nil {
		return err
	}
	tn := tenantName(c)
	t, tag, err := s.st.UpdateTemplateIf(ctx, tn, id, cond, func(t *orchestrator.SessionTemplate) error {
		merged, err := orchestrator.MergeTemplatePatch(*t, body)
		if err != nil {
			return err
		}
		warnings, err := merged.Normalize(id, tn, o)
		if err != nil {
			return err
		}
		s.logWarnings("session template", id, warnings)
		*t = merged
		return nil
	})
	if err != nil {
		return err
	}
	sendTagged(c, tag, t)
	return nil
}

func (s *Server) deleteTemplate(c *gin.Context) error {
	id, err := pathName(c, "session template name")
	if err != nil {
		return err
	}
	cond, err := ifMatch(c)
	if err != nil {
		return err
	}
	if err := s.st.DeleteTemplateIf(c.Request.Context(), tenantName(c), id, cond); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// validateTemplate runs the session-creation checks for a boot and answers 200 with a
// JSON string: "Valid", the warnings, or the error.
func (s *Server) validateTemplate(c *gin.Context) error {
	id, err := pathName(c, "session template name")
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	t, err := s.st.GetTemplate(ctx, tenantName(c), id)
	if err != nil {
		return err
	}
	o, err := s.st.GetOptions(ctx)
	if err != nil {
		return err
	}
	warnings, err := s.checkBootSets(ctx, &t, orchestrator.OpBoot, o)
	if orchestrator.ErrorCode(err) == orchestrator.EUNAVAILABLE {
		return err
	}
	sendJSON(c, http.StatusOK, orchestrator.ValidityMessage(warnings, err))
	return nil
}

// checkBootSets runs the structural checks plus the configured artifact checker.
func (s *Server) checkBootSets(ctx context.Context, t *orchestrator.SessionTemplate, op string, o orchestrator.Options) ([]string, error) {
	var extra func(string, orchestrator.BootSet) ([]string, error)
	if s.checker != nil {
		extra = func(_ string, bs orchestrator.BootSet) ([]string, error) {
			return s.checker.CheckBootSet(ctx, op, bs, o)
		}
	}
	return orchestrator.CheckBootSets(t, op, o, extra)
}

func (s *Server) getTemplateTemplate(c *gin.Context) error {
	sendJSON(c, http.StatusOK, orchestrator.ExampleTemplate())
	return nil
}

func (s *Server) logWarnings(kind, name string, warnings []string) {
	for _, w := range warnings {
		s.log.Warn(kind+" warning", "name", name, "warning", w)
	}
}
