package stack

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/hsm"
	"github.com/cray-bos/bos/internal/topology"
)

// The PCS simulator's reservations go to HSM's service reservations as hms-smd's library
// sends them: a node reserved once cannot be reserved again until released; a deputy key
// validates while its reservation lives; the nodes come with their BMCs' ResetTypes.
func TestPCSReservationsThroughHSM(t *testing.T) {
	topo, err := topology.Generate(topology.DefaultOptions(4))
	require.NoError(t, err)
	h, err := hsm.New(hsm.Config{Topology: topo})
	require.NoError(t, err)
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()
	c := hsmapi.NewClient(srv.URL, srv.Client())
	ctx := context.Background()

	nodes, err := pcsBMCs{hsm: c}.Nodes(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, nodes)
	x := nodes[0].Xname
	require.Contains(t, nodes[0].ResetTypes, "GracefulRestart")

	r := hsmReservations{c}
	held, err := r.Acquire(ctx, []string{x}, 1)
	require.NoError(t, err)
	require.NotEmpty(t, held[x])
	again, err := r.Acquire(ctx, []string{x}, 1)
	require.NoError(t, err, "flexible: a reserved node is left out, not an error")
	require.Empty(t, again)

	require.NoError(t, r.Renew(ctx, held, 1))

	// A deputy key: another service's reservation, handed to PCS.
	other := nodes[1].Xname
	granted, err := c.Reserve(ctx, hsmapi.LockRequest{ComponentIDs: []string{other}, ReservationDuration: 1})
	require.NoError(t, err)
	valid, err := r.Valid(ctx, map[string]string{other: granted.Success[0].DeputyKey, x: "bogus"})
	require.NoError(t, err)
	require.Equal(t, map[string]bool{other: true}, valid)

	require.NoError(t, r.Release(ctx, held))
	held, err = r.Acquire(ctx, []string{x}, 1)
	require.NoError(t, err)
	require.NotEmpty(t, held[x], "released, so reservable again")
}
