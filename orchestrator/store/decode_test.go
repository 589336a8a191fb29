package store_test

import (
	"encoding/json"
	"math/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
)

// The store decodes components (with JSON v2, for speed) exactly as encoding/json does:
// records as the store writes them, and hand-written ones (other key case, a repeated
// key, unknown keys, nulls).
func TestDecodeComponentAsEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	var raws [][]byte
	for _, c := range randomComponents(rng, 200, []string{"", "s1", "s2"}) {
		c.LastAction.LastUpdated = t0.Add(time.Duration(rng.Int63n(1e12)))
		c.DesiredState.BootArtifacts = orchestrator.BootArtifacts{Kernel: "s3://k", Initrd: "s3://i", KernelParameters: "console=ttyS0 <&> é"}
		c.ActualState.BSSToken = "tok"
		if rng.Intn(2) == 0 {
			c.RetryPolicy = ptr(rng.Intn(5))
		}
		c.RefreshStatus()
		raw, err := json.Marshal(c)
		require.NoError(t, err)
		raws = append(raws, raw)
	}
	raws = append(raws,
		[]byte(`{"ID":"x1","Enabled":true,"error":"a","error":"b","colour":"red","retry_policy":null,"last_action":{"action":"powering_on","last_updated":"2026-03-01T12:00:00.5Z"}}`),
		[]byte(`{"id":"x2","actual_state":null,"event_stats":{"power_on_attempts":3}}`),
		[]byte(`{}`))
	for _, raw := range raws {
		var want orchestrator.Component
		require.NoError(t, json.Unmarshal(raw, &want), "%s", raw)
		got, err := store.DecodeComponent(raw)
		require.NoError(t, err, "%s", raw)
		assert.Equal(t, want, got, "%s", raw)
	}
	_, err := store.DecodeComponent([]byte(`{"id":`))
	assert.Error(t, err)
}
