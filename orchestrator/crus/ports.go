package crus

import (
	"context"
	"net/http"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/api/slurmapi"
	bos "github.com/cray-bos/bos/orchestrator"
)

// The services CRUS talks to, as the small interfaces it needs. The project's clients
// satisfy them: *hsmapi.Client, *bosapi.Client (BOS v2) and *slurmapi.Client.

// Groups is HSM: groups and the NIDs of components.
type Groups interface {
	Group(ctx context.Context, label string) (hsmapi.Group, error)
	AddGroupMember(ctx context.Context, label, id string) error
	RemoveGroupMember(ctx context.Context, label, id string) error
	QueryComponents(ctx context.Context, ids []string, f hsmapi.ComponentFilter) ([]hsmapi.Component, error)
}

// BOS is the BOS v2 API.
type BOS interface {
	GetTemplate(ctx context.Context, name string) (bos.SessionTemplate, error)
	CreateSession(ctx context.Context, sc bos.SessionCreate) (bos.Session, error)
	GetSession(ctx context.Context, name string) (bos.Session, error)
	ListComponents(ctx context.Context, q bosapi.ComponentQuery) ([]bos.Component, error)
}

// WLM is the workload manager (Slurm, through its REST API).
type WLM interface {
	Nodes(ctx context.Context) ([]slurmapi.Node, error)
	Node(ctx context.Context, hostlist string) ([]slurmapi.Node, error)
	UpdateNode(ctx context.Context, u slurmapi.NodeUpdate) error
}

var (
	_ Groups = (*hsmapi.Client)(nil)
	_ BOS    = (*bosapi.Client)(nil)
	_ WLM    = (*slurmapi.Client)(nil)
)

// HTTPServices returns the project's clients of the HSM, BOS and Slurm (slurmrestd) at
// those base URLs (scheme://host:port), for callers that know the services only by URL
// (the composition in orchestrator/server). hc nil means http.DefaultClient.
func HTTPServices(hsmURL, bosURL, slurmURL string, hc *http.Client) (Groups, BOS, WLM) {
	return hsmapi.NewClient(hsmURL, hc), bosapi.NewClient(bosURL, hc), slurmapi.NewClient(slurmURL, hc)
}
