package crus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sort"
	"sync"
	"time"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
)

// Config configures a CRUS service: its API (Handler) and its controller (Run).
type Config struct {
	// Store keeps the sessions (in BOS's Redis, under its own keys). Required.
	Store *store.Store
	// HSM, BOS and WLM are the services CRUS drives. Required.
	HSM Groups
	BOS BOS
	WLM WLM
	// Timing bounds the algorithm's waits (see Timing for defaults).
	Timing Timing
	// MaxBodyBytes limits request bodies (413 beyond). 0 means 64 KiB (a create body is
	// a few hundred bytes).
	MaxBodyBytes int64
	// Seed seeds the jitter of error backoff.
	Seed int64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives the controller's progress and errors; nil discards.
	Logger *slog.Logger
}

// Server is one CRUS instance: the REST API and the controller that drives its sessions.
// Several may share a store; each controller drives every session it finds, so run one
// controller per store.
type Server struct {
	cfg     Config
	t       Timing
	log     *slog.Logger
	handler http.Handler

	mu      sync.Mutex
	ctx     context.Context // Run's context, nil until Run starts
	workers map[string]*worker
	rng     *rand.Rand
	wg      sync.WaitGroup
}

type worker struct{ wake chan struct{} }

// New builds a CRUS service; call Run to start its controller.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("crus: config: Store is required")
	case cfg.HSM == nil || cfg.BOS == nil || cfg.WLM == nil:
		return nil, errors.New("crus: config: HSM, BOS and WLM are required")
	}
	for _, d := range []time.Duration{cfg.Timing.Poll, cfg.Timing.MaxBackoff, cfg.Timing.Rescan} {
		if d < 0 {
			return nil, errors.New("crus: config: Poll, MaxBackoff and Rescan must not be negative")
		}
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 64 << 10
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, t: cfg.Timing.withDefaults(), log: cfg.Logger,
		workers: map[string]*worker{}, rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x637275))}
	s.handler = s.routes()
	return s, nil
}

// Handler serves the CRUS API under /crus.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) now() time.Time { return s.cfg.Now().UTC() }

// ---- records ----

func decodeRecord(raw []byte) (Record, error) {
	var r Record
	if err := json.Unmarshal(raw, &r); err != nil {
		return r, fmt.Errorf("decode crus session: %w", err)
	}
	return r, nil
}

func (s *Server) load(ctx context.Context, id string) (Record, error) {
	raw, err := s.cfg.Store.GetCRUSSession(ctx, id)
	if err != nil {
		return Record{}, err
	}
	return decodeRecord(raw)
}

// errStale says the stored record changed since it was read.
var errStale = errors.New("crus session changed meanwhile")

// update applies mutate to the stored record with compare-and-set and bumps its version.
// With version >= 0 the write fails with errStale unless the stored version matches (the
// record was decided on from that version).
func (s *Server) update(ctx context.Context, id string, version int64, mutate func(*Record) error) (Record, error) {
	var out Record
	_, err := s.cfg.Store.UpdateCRUSSession(ctx, id, func(raw []byte) ([]byte, error) {
		rec, err := decodeRecord(raw)
		if err != nil {
			return nil, err
		}
		if version >= 0 && rec.Version != version {
			return nil, errStale
		}
		if err := mutate(&rec); err != nil {
			return nil, err
		}
		rec.Version++
		out = rec
		return json.Marshal(rec)
	})
	return out, err
}

// list returns every record, oldest first.
func (s *Server) list(ctx context.Context) ([]Record, error) {
	raws, err := s.cfg.Store.ListCRUSSessions(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Record, 0, len(raws))
	for _, raw := range raws {
		r, err := decodeRecord(raw)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].UpgradeID < out[j].UpgradeID
	})
	return out, nil
}

// hasWork reports whether the controller has anything to do for rec.
func hasWork(rec *Record) bool {
	return !rec.Completed || rec.State == StateDeleting || len(rec.Progress.Pending) > 0 || rec.Progress.Remove
}

// errorCode maps store errors onto HTTP statuses.
func storeStatus(err error) int {
	switch bos.ErrorCode(err) {
	case bos.ENOTFOUND:
		return http.StatusNotFound
	case bos.ECONFLICT:
		return http.StatusConflict
	case bos.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
