package store_test

import (
	"context"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/testwait"
	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
)

// A waking write in one replica's store wakes the node in the others; its own and
// NoWake writes are not echoed.
func TestSharedWakes(t *testing.T) {
	m := miniredis.RunT(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func() (*store.Store, chan []string) {
		s, err := store.Open(ctx, store.Config{URL: "redis://" + m.Addr(), KeyPrefix: "w:", ShareWakes: true})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		got := make(chan []string, 10)
		go s.SubscribeWakes(ctx, func(ids []string) { got <- ids })
		return s, got
	}
	a, fromA := open()
	_, fromB := open()
	testwait.Until(t, "both subscribed", func() bool { return len(m.PubSubNumSub("w:wake")) == 1 && m.PubSubNumSub("w:wake")["w:wake"] == 2 }, nil)

	_, err := a.PutComponents(ctx, []orchestrator.Component{{ID: "x1"}, {ID: "x2"}})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"x1", "x2"}, <-fromB)
	_, err = a.UpdateComponents(ctx, []string{"x1"}, func(c *orchestrator.Component) error { c.Enabled = true; return nil }, store.NoWake)
	require.NoError(t, err)
	_, err = a.UpdateComponents(ctx, []string{"x2"}, func(c *orchestrator.Component) error { c.Enabled = true; return nil })
	require.NoError(t, err)
	assert.Equal(t, []string{"x2"}, <-fromB, "the NoWake write is not published")
	assert.Empty(t, fromA, "a's own writes are not echoed to it")
}
