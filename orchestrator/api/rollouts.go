package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/cray-bos/bos/internal/problem"
	"github.com/cray-bos/bos/orchestrator"
)

// Rollouts is the rollout service behind /v2/rollouts, our extension
// (orchestrator/rollout, docs/rollouts.md). Tenant scoping is the caller's tenant, as
// for sessions; all asks for every tenant's rollouts (a list without a tenant).
type Rollouts interface {
	Create(ctx context.Context, tenant string, rc orchestrator.RolloutCreate) (orchestrator.Rollout, error)
	List(ctx context.Context, tenant string, all bool) ([]orchestrator.Rollout, error)
	Get(ctx context.Context, tenant, name string) (orchestrator.Rollout, error)
	Command(ctx context.Context, tenant, name, cmd string) (orchestrator.Rollout, error)
}

func (s *Server) rolloutRoutes(r gin.IRouter) {
	h := s.wrap
	t := s.withTenant
	ns := s.withTenantNamespace
	r.POST("/v2/rollouts", t, h(s.createRollout))
	r.GET("/v2/rollouts", ns, h(s.listRollouts))
	r.GET("/v2/rollouts/:id", ns, h(s.getRollout))
	for _, cmd := range []string{orchestrator.RolloutPause, orchestrator.RolloutResume, orchestrator.RolloutAbort} {
		r.POST("/v2/rollouts/:id/"+cmd, ns, h(func(c *gin.Context) error { return s.commandRollout(c, cmd) }))
	}
}

// rollouts returns the service, or a 503 when this BOS runs none (no Slurm configured).
func (s *Server) rollouts() (Rollouts, error) {
	if s.rolloutSvc == nil {
		return nil, problem.New(http.StatusServiceUnavailable, "rollouts need Slurm and HSM: this BOS runs without them")
	}
	return s.rolloutSvc, nil
}

// createRollout checks the body and that the template exists in the caller's tenant,
// then stores the rollout; staging it is the controller's job.
func (s *Server) createRollout(c *gin.Context) error {
	svc, err := s.rollouts()
	if err != nil {
		return err
	}
	var rc orchestrator.RolloutCreate
	if err := decode(c.Request.Body, &rc); err != nil {
		return err
	}
	if err := rc.Validate(); err != nil {
		return err
	}
	ctx := c.Request.Context()
	tn := tenantName(c)
	if _, err := s.st.GetTemplate(ctx, tn, rc.TemplateName); orchestrator.IsNotFound(err) {
		return orchestrator.Errorf(orchestrator.EINVALID, "Session Template Name invalid: %s", rc.TemplateName)
	} else if err != nil {
		return err
	}
	r, err := svc.Create(ctx, tn, rc)
	if err != nil {
		return err
	}
	sendJSON(c, http.StatusCreated, r)
	return nil
}

func (s *Server) listRollouts(c *gin.Context) error {
	svc, err := s.rollouts()
	if err != nil {
		return err
	}
	tn := tenantName(c)
	list, err := svc.List(c.Request.Context(), tn, tn == "")
	if err != nil {
		return err
	}
	sendJSON(c, http.StatusOK, nonNil(list))
	return nil
}

func (s *Server) getRollout(c *gin.Context) error {
	svc, err := s.rollouts()
	if err != nil {
		return err
	}
	r, err := svc.Get(c.Request.Context(), tenantName(c), c.Param("id"))
	if err != nil {
		return err
	}
	sendJSON(c, http.StatusOK, r)
	return nil
}

func (s *Server) commandRollout(c *gin.Context, cmd string) error {
	svc, err := s.rollouts()
	if err != nil {
		return err
	}
	r, err := svc.Command(c.Request.Context(), tenantName(c), c.Param("id"), cmd)
	if err != nil {
		return err
	}
	sendJSON(c, http.StatusOK, r)
	return nil
}
