package stack

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/api/pcsapi"
	"github.com/cray-bos/bos/orchestrator/power"
	"github.com/cray-bos/bos/orchestrator/server"
	"github.com/cray-bos/bos/pcs"
)

// How BOS powers nodes (Options.Power).
const (
	PowerRedfish = server.PowerRedfish // straight to the BMCs (the default)
	PowerPCS     = server.PowerPCS     // through PCS, as BOS 2.50 does
)

// startPCS serves the PCS simulator on ln. Like the real service it finds the nodes'
// BMCs through HSM and reaches them over Redfish with the credentials of the Vault
// stand-in; it uses the same HSM-and-Redfish driver as BOS's reconciler, reading every
// power state with a GET.
func (s *Stack) startPCS(o Options, ln net.Listener) error {
	if s.URLs.HSM == "" {
		return errors.New("stack: pcs needs an hsm URL")
	}
	creds, err := s.bmcCredentials(o)
	if err != nil {
		return fmt.Errorf("stack: pcs: %w", err)
	}
	hsmClient := hsmapi.NewClient(s.URLs.HSM, s.HTTPClient())
	rf := power.NewRedfish(power.RedfishConfig{
		Endpoints: power.HSMEndpoints{Client: hsmClient, Credentials: creds},
		Scheme:    s.redfishScheme(o), Timeout: o.RedfishTimeout, Dial: s.dial(), Logger: o.Logger,
	})
	srv, err := pcs.New(pcs.Config{Driver: pcsBMCs{power: rf.Polled(), hsm: hsmClient},
		Reservations: hsmReservations{hsmClient}, Logger: o.Logger})
	if err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	s.PCS = srv
	s.closers = append(s.closers, srv.Close, rf.Close)
	s.serve(ln, s.SimMetrics.Middleware(PCS, srv.Handler()))
	return nil
}

// pcsBMCs is the PCS simulator's Driver over the reconciler's power port, with the nodes
// and their ResetTypes from HSM's ComponentEndpoints, where PCS reads them.
type pcsBMCs struct {
	power power.PowerControl
	hsm   *hsmapi.Client
}

func (d pcsBMCs) Nodes(ctx context.Context) ([]pcs.Node, error) {
	ces, err := d.hsm.ComponentEndpoints(ctx, hsmapi.EndpointFilter{Type: []string{"Node"}})
	if err != nil {
		return nil, err
	}
	nodes := make([]pcs.Node, len(ces))
	for i, ce := range ces {
		nodes[i].Xname = ce.ID
		if si := ce.RedfishSystemInfo; si != nil && si.Actions != nil {
			nodes[i].ResetTypes = si.Actions.Reset.AllowableValues
		}
	}
	return nodes, nil
}

func (d pcsBMCs) PowerStates(ctx context.Context, xnames []string) map[string]pcs.Reading {
	out := make(map[string]pcs.Reading, len(xnames))
	for id, r := range d.power.PowerStates(ctx, xnames) {
		switch {
		case r.Power == power.PowerOn:
			out[id] = pcs.Reading{State: pcsapi.StateOn}
		case r.Power == power.PowerOff:
			out[id] = pcs.Reading{State: pcsapi.StateOff}
		case r.Err != nil:
			out[id] = pcs.Reading{Err: r.Err}
		default:
			out[id] = pcs.Reading{Err: errors.New("power state unknown")}
		}
	}
	return out
}

var pcsResets = map[pcs.Action]power.ResetKind{
	pcs.ActionOn: power.ResetOn, pcs.ActionGracefulOff: power.ResetGracefulOff, pcs.ActionForceOff: power.ResetForceOff,
	pcs.ActionGracefulRestart: power.ResetGracefulRestart,
}

func (d pcsBMCs) Reset(ctx context.Context, xnames []string, a pcs.Action) map[string]error {
	return d.power.Reset(ctx, xnames, pcsResets[a])
}

// hsmReservations is PCS's use of HSM's service reservations, as hms-smd's reservation
// library makes it: flexible reserve, check of deputy keys, renew and release by key.
type hsmReservations struct{ c *hsmapi.Client }

func keysOf(m map[string]string) []hsmapi.ReservationKey {
	out := make([]hsmapi.ReservationKey, 0, len(m))
	for id, k := range m {
		out = append(out, hsmapi.ReservationKey{ID: id, Key: k})
	}
	return out
}

func (r hsmReservations) Valid(ctx context.Context, deputyKeys map[string]string) (map[string]bool, error) {
	res, err := r.c.CheckReservations(ctx, keysOf(deputyKeys))
	if err != nil {
		return nil, err
	}
	valid := map[string]bool{}
	for _, ok := range res.Success {
		valid[ok.ID] = true
	}
	return valid, nil
}

func (r hsmReservations) Acquire(ctx context.Context, xnames []string, minutes int) (map[string]string, error) {
	res, err := r.c.Reserve(ctx, hsmapi.LockRequest{ComponentIDs: xnames, ProcessingModel: hsmapi.ProcessingFlexible, ReservationDuration: minutes})
	if err != nil {
		return nil, err
	}
	held := map[string]string{}
	for _, ok := range res.Success {
		held[ok.ID] = ok.ReservationKey
	}
	return held, nil
}

func (r hsmReservations) Renew(ctx context.Context, keys map[string]string, minutes int) error {
	_, err := r.c.RenewReservations(ctx, keysOf(keys), minutes, hsmapi.ProcessingFlexible)
	return err
}

func (r hsmReservations) Release(ctx context.Context, keys map[string]string) error {
	_, err := r.c.ReleaseReservations(ctx, keysOf(keys), hsmapi.ProcessingFlexible)
	return err
}
