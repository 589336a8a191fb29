package rollout

import (
	"context"
	"net/http"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/api/slurmapi"
	bos "github.com/cray-bos/bos/orchestrator"
)

// The services a rollout drives, as the small interfaces it needs. The project's clients
// satisfy them: *bosapi.Client (BOS v2), *hsmapi.Client, and *slurmapi.Client (slurmsim's
// slurmrestd-shaped API, with reboot and cancel_reboot) or *slurmapi.Command (a real
// slurmctld through scontrol and squeue).

// BOS is the BOS v2 API, in one tenant.
type BOS interface {
	CreateSession(ctx context.Context, sc bos.SessionCreate) (bos.Session, error)
	GetSession(ctx context.Context, name string) (bos.Session, error)
	ListComponents(ctx context.Context, q bosapi.ComponentQuery) ([]bos.Component, error)
	PatchComponents(ctx context.Context, list []bos.ComponentPatch, skipBadIDs bool) ([]bos.Component, error)
}

// HSM gives the NIDs Slurm's node names are made of.
type HSM interface {
	QueryComponents(ctx context.Context, ids []string, f hsmapi.ComponentFilter) ([]hsmapi.Component, error)
}

// Slurm is the workload manager.
type Slurm interface {
	Nodes(ctx context.Context) ([]slurmapi.Node, error)
	Jobs(ctx context.Context) ([]slurmapi.Job, error)
	Reboot(ctx context.Context, req slurmapi.RebootRequest) error
	CancelReboot(ctx context.Context, nodes string) error
	UpdateNode(ctx context.Context, u slurmapi.NodeUpdate) error
}

var (
	_ BOS   = (*bosapi.Client)(nil)
	_ HSM   = (*hsmapi.Client)(nil)
	_ Slurm = (*slurmapi.Client)(nil)
	_ Slurm = (*slurmapi.Command)(nil)
)

// HTTPServices returns the project's clients of BOS (one per tenant), HSM and Slurm at
// those base URLs, for callers that know the services only by URL. hc nil means
// http.DefaultClient.
func HTTPServices(bosURL, hsmURL, slurmURL string, hc *http.Client) (func(tenant string) BOS, HSM, Slurm) {
	c := bosapi.NewClient(bosURL, hc)
	return func(tenant string) BOS { return c.WithTenant(tenant) }, hsmapi.NewClient(hsmURL, hc), slurmapi.NewClient(slurmURL, hc)
}
