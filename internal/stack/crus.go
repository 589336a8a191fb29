package stack

import (
	"context"
	"fmt"
	"net/http"

	"github.com/cray-bos/bos/hsm"
	"github.com/cray-bos/bos/orchestrator/api"
	"github.com/cray-bos/bos/orchestrator/crus"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/slurmsim"
)

// startCRUS serves the CRUS API (/crus/...) on BOS's listener and runs its controller
// until runCtx ends. It needs HSM and Slurm URLs (here or External); without them CRUS
// is not started.
func (s *Stack) startCRUS(runCtx context.Context, o Options, st *store.Store, mux *http.ServeMux) error {
	if s.URLs.HSM == "" || s.URLs.Slurm == "" {
		return nil
	}
	srv, err := crus.New(crus.Config{
		Store:  st,
		HSM:    hsm.NewClient(s.URLs.HSM, s.HTTPClient()),
		BOS:    api.NewClient(s.URLs.BOS, s.HTTPClient()),
		WLM:    slurmsim.NewClient(s.URLs.Slurm, s.HTTPClient()),
		Timing: o.CRUS,
		Logger: o.Logger,
	})
	if err != nil {
		return fmt.Errorf("stack: crus: %w", err)
	}
	s.CRUS = srv
	mux.Handle(crus.PathPrefix+"/", srv.Handler())
	s.wg.Add(1)
	go func() { defer s.wg.Done(); _ = srv.Run(runCtx) }()
	return nil
}
