package stack

import (
	"cmp"
	"context"
	"fmt"
	"net"

	"github.com/cray-bos/bos/bss"
	"github.com/cray-bos/bos/internal/topology"
)

// startBSSReplica runs a read replica of the BSS running elsewhere (a BMC shard's:
// bss.Replica, of topo's nodes: those of the BMCs here) and serves the virtual nodes' boot-script requests it can answer in this
// process; the others still go to that BSS. It listens where the BMCs do (the primary
// sends it every change of boot parameters), registers before the BMCs start and keeps
// registered until Close. A failed first registration is no error: the nodes fetch from
// the primary meanwhile.
func (s *Stack) startBSSReplica(ctx, runCtx context.Context, o Options, topo *topology.Topology) error {
	host := cmp.Or(o.Sim.ListenAddress, o.Host)
	ln, err := s.listen(net.JoinHostPort(host, "0"))
	if err != nil {
		return fmt.Errorf("stack: listen for the bss replica: %w", err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	adv := cmp.Or(o.Sim.Advertise, o.Advertise, host)
	nodes := make([]string, 0, len(topo.Nodes)) // those of the BMCs here
	for _, n := range topo.Nodes {
		nodes = append(nodes, n.Xname)
	}
	r := bss.NewReplica(bss.ReplicaConfig{Primary: s.URLs.BSS, URL: "http://" + net.JoinHostPort(adv, port),
		Nodes: nodes, Client: s.HTTPClient(), Logger: o.Logger})
	s.serve(ln, s.SimMetrics.Middleware("bss-replica", r.Handler()))
	if err := r.Register(ctx); err != nil {
		o.Logger.Warn("stack: the bss replica did not register; the nodes fetch their boot scripts from BSS", "bss", s.URLs.BSS, "err", err)
	}
	s.local.Route(hostPort(s.URLs.BSS), r.Route)
	s.BSSReplica = r
	s.wg.Add(1)
	go func() { defer s.wg.Done(); r.Run(runCtx) }()
	return nil
}
