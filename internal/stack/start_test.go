package stack

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/internal/memnet"
	"github.com/cray-bos/bos/internal/topology"
)

// TestStartContextBoundsTheStartOnly: Start's context may end once Start has returned
// (the end-to-end harness cancels it at once); the services run on until Close, which
// stops every goroutine of the stack (the bubble ends only when they all have).
func TestStartContextBoundsTheStartOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		topo, err := topology.Generate(topology.DefaultOptions(2))
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		st, err := Start(ctx, Options{Topology: topo, Services: []string{HSM, BOS}, Net: memnet.New(), Reconcile: false})
		require.NoError(t, err)
		cancel()
		time.Sleep(time.Minute)

		_, err = st.BOSClient.ListComponents(t.Context(), bosapi.ComponentQuery{})
		require.NoError(t, err, "BOS answers after Start's context ended")
		_, err = hsmapi.NewClient(st.URLs.HSM, st.HTTPClient()).Groups(t.Context())
		require.NoError(t, err, "HSM answers after Start's context ended")
		st.Close()
	})
}
