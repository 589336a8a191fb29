package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
)

// Config configures the rollout service: the calls behind /v2/rollouts and the
// controller (Run).
type Config struct {
	// Store keeps the rollouts (in BOS's Redis, under their own keys). Required.
	Store *store.Store
	// BOS (per tenant), HSM and Slurm are the services a rollout drives. Required.
	BOS   func(tenant string) BOS
	HSM   HSM
	Slurm Slurm
	// Poll is how often the controller looks at every unfinished rollout. 0 means 5 s.
	Poll time.Duration
	// HealthHTTP runs URL health checks; nil means http.DefaultClient.
	HealthHTTP *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives the controller's progress and errors; nil discards.
	Logger *slog.Logger
}

// Server is the rollout service. Several API processes may share a store; run one
// controller (Run) per store.
type Server struct {
	cfg  Config
	log  *slog.Logger
	wake chan struct{}
	once sync.Once
	// inFlight holds the xnames out of service and not settled, as the last pass left
	// them (Notify).
	inFlight atomic.Pointer[map[string]bool]
	notified chan struct{}
	lastPass atomic.Int64 // when the last pass began, Unix nanoseconds
	passes   atomic.Int64 // passes begun
}

// New builds the service; call Run to start its controller.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.BOS == nil || cfg.HSM == nil || cfg.Slurm == nil {
		return nil, errors.New("rollout: config: Store, BOS, HSM and Slurm are required")
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HealthHTTP == nil {
		cfg.HealthHTTP = http.DefaultClient
	}
	return &Server{cfg: cfg, log: cfg.Logger, wake: make(chan struct{}, 1), notified: make(chan struct{}, 1)}, nil
}

func (s *Server) now() time.Time { return s.cfg.Now().UTC() }

// Wake makes the controller look now.
func (s *Server) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// record is what the store keeps: the public rollout, a version every write increments,
// and the actions decided but not yet known to be done (the outbox).
type record struct {
	bos.Rollout
	Version int64    `json:"version"`
	Pending *Actions `json:"pending,omitempty"`
}

func decode(raw []byte) (record, error) {
	var r record
	if err := json.Unmarshal(raw, &r); err != nil {
		return r, fmt.Errorf("decode rollout: %w", err)
	}
	return r, nil
}

func notFound(tenant, name string) error {
	msg := fmt.Sprintf("Rollout '%s' does not exist", name)
	if tenant != "" {
		msg += fmt.Sprintf(" for tenant '%s'", tenant)
	}
	return &bos.Error{Code: bos.ENOTFOUND, Message: msg}
}

// Create stores a new rollout in tenant's namespace; it starts staging at the
// controller's next look (Wake). The caller checked that the template exists.
func (s *Server) Create(ctx context.Context, tenant string, rc bos.RolloutCreate) (bos.Rollout, error) {
	if err := rc.Validate(); err != nil {
		return bos.Rollout{}, err
	}
	now := s.now()
	r := record{Rollout: bos.Rollout{
		Name: rc.Name, Tenant: tenant, TemplateName: rc.TemplateName, Limit: rc.Limit, Policy: rc.Policy.WithDefaults(),
		State: bos.RolloutStaging, StageSession: stageSession(rc.Name, now), Nodes: []bos.RolloutNode{},
		Created: now, Updated: now,
	}}
	raw, err := json.Marshal(r)
	if err != nil {
		return bos.Rollout{}, err
	}
	if err := s.cfg.Store.CreateRollout(ctx, store.RolloutID(tenant, rc.Name), raw); err != nil {
		if bos.ErrorCode(err) == bos.ECONFLICT {
			return bos.Rollout{}, &bos.Error{Code: bos.ECONFLICT, Message: fmt.Sprintf("Rollout '%s' already exists", rc.Name)}
		}
		return bos.Rollout{}, err
	}
	s.log.Info("rollout: created", "rollout", rc.Name, "tenant", tenant, "template", rc.TemplateName)
	s.Wake()
	return r.Rollout, nil
}

// stageSession names the staged session of a rollout created at t: unique per creation,
// so a rollout never adopts an older session of the same name.
func stageSession(name string, t time.Time) string {
	suffix := "-" + t.Format("20060102t150405")
	return "rollout-" + name[:min(len(name), 127-len("rollout-")-len(suffix))] + suffix
}

// Get returns one of tenant's rollouts.
func (s *Server) Get(ctx context.Context, tenant, name string) (bos.Rollout, error) {
	raw, err := s.cfg.Store.GetRollout(ctx, store.RolloutID(tenant, name))
	if bos.IsNotFound(err) {
		return bos.Rollout{}, notFound(tenant, name)
	}
	if err != nil {
		return bos.Rollout{}, err
	}
	r, err := decode(raw)
	return r.Rollout, err
}

// List returns tenant's rollouts, or every rollout for all (no tenant named), oldest
// first.
func (s *Server) List(ctx context.Context, tenant string, all bool) ([]bos.Rollout, error) {
	recs, err := s.list(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]bos.Rollout, 0, len(recs))
	for _, r := range recs {
		if all || r.Tenant == tenant {
			out = append(out, r.Rollout)
		}
	}
	return out, nil
}

// Command pauses, resumes or aborts one of tenant's rollouts.
func (s *Server) Command(ctx context.Context, tenant, name, cmd string) (bos.Rollout, error) {
	r, err := s.update(ctx, store.RolloutID(tenant, name), -1, func(r *record) error {
		r.Updated = s.now()
		return r.ApplyCommand(cmd)
	})
	if bos.IsNotFound(err) {
		return bos.Rollout{}, notFound(tenant, name)
	}
	if err != nil {
		return bos.Rollout{}, err
	}
	s.log.Info("rollout: "+cmd, "rollout", name, "tenant", tenant)
	s.Wake()
	return r.Rollout, nil
}

// errStale says the stored record changed since it was read.
var errStale = errors.New("rollout changed meanwhile")

// update applies mutate with compare-and-set and bumps the version; with version >= 0
// it fails with errStale unless the stored version matches.
func (s *Server) update(ctx context.Context, id string, version int64, mutate func(*record) error) (record, error) {
	var out record
	_, err := s.cfg.Store.UpdateRollout(ctx, id, func(raw []byte) ([]byte, error) {
		r, err := decode(raw)
		if err != nil {
			return nil, err
		}
		if version >= 0 && r.Version != version {
			return nil, errStale
		}
		if err := mutate(&r); err != nil {
			return nil, err
		}
		r.Version++
		out = r
		return json.Marshal(r)
	})
	return out, err
}

// list returns every rollout, oldest first.
func (s *Server) list(ctx context.Context) ([]record, error) {
	raws, err := s.cfg.Store.ListRollouts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]record, 0, len(raws))
	for _, raw := range raws {
		r, err := decode(raw)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b record) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}
