package stack

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/cray-bos/bos/api/pcsapi"
	"github.com/cray-bos/bos/hsm"
	"github.com/cray-bos/bos/orchestrator/operator"
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
	hsmClient := hsm.NewClient(s.URLs.HSM, s.HTTPClient())
	rf := operator.NewRedfish(operator.RedfishConfig{
		Endpoints: operator.HSMEndpoints{Client: hsmClient, Credentials: creds},
		Scheme:    s.redfishScheme(o), Timeout: o.RedfishTimeout, Dial: s.dial(), Logger: o.Logger,
	})
	srv, err := pcs.New(pcs.Config{Driver: pcsBMCs{power: rf.Polled(), nodes: operator.HSMInventory{Client: hsmClient}}, Logger: o.Logger})
	if err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	s.PCS = srv
	s.closers = append(s.closers, srv.Close, rf.Close)
	s.serve(ln, srv.Handler())
	return nil
}

// pcsBMCs is the PCS simulator's Driver over the reconciler's power port.
type pcsBMCs struct {
	power operator.PowerControl
	nodes operator.HSMInventory
}

func (d pcsBMCs) Nodes(ctx context.Context) ([]string, error) {
	nodes, err := d.nodes.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(nodes))
	for i, n := range nodes {
		ids[i] = n.ID
	}
	return ids, nil
}

func (d pcsBMCs) PowerStates(ctx context.Context, xnames []string) map[string]pcs.Reading {
	out := make(map[string]pcs.Reading, len(xnames))
	for id, r := range d.power.PowerStates(ctx, xnames) {
		switch {
		case r.Power == operator.PowerOn:
			out[id] = pcs.Reading{State: pcsapi.StateOn}
		case r.Power == operator.PowerOff:
			out[id] = pcs.Reading{State: pcsapi.StateOff}
		case r.Err != nil:
			out[id] = pcs.Reading{Err: r.Err}
		default:
			out[id] = pcs.Reading{Err: errors.New("power state unknown")}
		}
	}
	return out
}

var pcsResets = map[pcs.Action]operator.ResetKind{
	pcs.ActionOn: operator.ResetOn, pcs.ActionGracefulOff: operator.ResetGracefulOff, pcs.ActionForceOff: operator.ResetForceOff,
}

func (d pcsBMCs) Reset(ctx context.Context, xnames []string, a pcs.Action) map[string]error {
	return d.power.Reset(ctx, xnames, pcsResets[a])
}
