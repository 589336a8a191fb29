package power

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/cray-bos/bos/api/pcsapi"
)

// PCSConfig configures the PCS power driver.
type PCSConfig struct {
	// URL is PCS's base, API path included (e.g. http://cray-power-control/v1, or
	// https://api-gw-service-nmn.local/apis/power-control/v1).
	URL  string
	HTTP *http.Client // nil: http.DefaultClient
	// TaskDeadlineMinutes is sent with every transition (default 1, as BOS 2.50 sends).
	TaskDeadlineMinutes int
	// ChunkSize bounds the xnames of one power-status or transition request (default 1000).
	ChunkSize int
}

// PCS powers nodes through the Power Control Service, as BOS 2.50 does: states from
// POST /power-status (a node PCS reports an error for is unknown, with PCS's text; one it
// leaves out is not reported),
// actions as transitions On, Soft-Off and Force-Off. Like BOS it never polls a
// transition: the reconciler sees the result in the power state.
type PCS struct {
	cfg    PCSConfig
	client *pcsapi.Client
}

// NewPCS returns a PCS driver.
func NewPCS(cfg PCSConfig) *PCS {
	if cfg.TaskDeadlineMinutes == 0 {
		cfg.TaskDeadlineMinutes = 1
	}
	if cfg.ChunkSize <= 0 {
		cfg.ChunkSize = 1000
	}
	cfg.URL = strings.TrimRight(cfg.URL, "/")
	return &PCS{cfg: cfg, client: pcsapi.NewClient(cfg.URL, cfg.HTTP)}
}

func (p *PCS) PowerStates(ctx context.Context, ids []string) map[string]PowerReading {
	out := make(map[string]PowerReading, len(ids))
	for chunk := range slices.Chunk(ids, p.cfg.ChunkSize) {
		reply, err := p.client.PowerStatus(ctx, pcsapi.PowerStatusQuery{Xname: chunk})
		if err != nil {
			err = fmt.Errorf("pcs power-status: %w", err)
			for _, id := range chunk {
				out[id] = PowerReading{Err: err}
			}
			continue
		}
		for _, s := range reply.Status {
			out[s.Xname] = pcsReading(s)
		}
		for _, id := range chunk {
			if _, ok := out[id]; !ok {
				out[id] = PowerReading{Power: PowerNotReported, Err: errors.New(MsgNoPCSRecord)}
			}
		}
	}
	return out
}

// pcsReading reads one power-status entry as BOS does: PCS's error text when it has one
// (not off), "undefined" or no state as not reported (BOS holds the node).
func pcsReading(s pcsapi.PowerStatus) PowerReading {
	if s.Error != nil && *s.Error != "" {
		return PowerReading{Err: fmt.Errorf("pcs: %s", *s.Error)}
	}
	switch strings.ToLower(s.PowerState) {
	case "on":
		return PowerReading{Power: PowerOn}
	case "off":
		return PowerReading{Power: PowerOff}
	case "", "undefined":
		return PowerReading{Power: PowerNotReported, Err: errors.New(MsgNoPCSRecord)}
	}
	return PowerReading{Err: fmt.Errorf("pcs: power state %q", s.PowerState)}
}

// pcsOperations are the transitions BOS 2.50 asks for.
var pcsOperations = map[ResetKind]string{ResetOn: pcsapi.OpOn, ResetGracefulOff: pcsapi.OpSoftOff, ResetForceOff: pcsapi.OpForceOff}

// Reset starts a transition; every node of a chunk PCS refused carries the refusal.
func (p *PCS) Reset(ctx context.Context, ids []string, kind ResetKind) map[string]error {
	errs := map[string]error{}
	op, ok := pcsOperations[kind]
	if !ok {
		err := fmt.Errorf("pcs: no transition for reset kind %d", kind)
		for _, id := range ids {
			errs[id] = err
		}
		return errs
	}
	for chunk := range slices.Chunk(ids, p.cfg.ChunkSize) {
		body := pcsapi.TransitionCreate{Operation: op, TaskDeadlineMinutes: &p.cfg.TaskDeadlineMinutes}
		for _, id := range chunk {
			body.Location = append(body.Location, pcsapi.Location{Xname: id})
		}
		if _, err := p.client.CreateTransition(ctx, body); err != nil {
			err = fmt.Errorf("pcs transition %s: %w", op, err)
			for _, id := range chunk {
				errs[id] = err
			}
		}
	}
	return errs
}
