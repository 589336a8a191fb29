package server

import (
	"context"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/metrics"
	"github.com/cray-bos/bos/orchestrator/power"
	"github.com/cray-bos/bos/orchestrator/reconciler"
)

// Paths of BOS's Prometheus metrics (on the API's listener).
const (
	MetricsPath        = "/metrics"
	MetricsGatewayPath = "/apis/bos/metrics"
)

// ServiceRedfish is the service label of BOS's requests to BMCs.
const ServiceRedfish = "redfish"

// newMetrics makes the instance's registry over its store and reconciler.
func (b *BOS) newMetrics() *metrics.Metrics {
	counts := func(ctx context.Context) (byPhase, byStatus, sessions map[string]int, err error) {
		if byPhase, byStatus, err = b.store.ComponentCounts(ctx); err != nil {
			return nil, nil, nil, err
		}
		sessions, err = b.store.SessionCounts(ctx)
		return byPhase, byStatus, sessions, err
	}
	m := metrics.New(counts, b.rec.queueLen)
	b.store.AddHook(m.RedisHook())
	return m
}

// Metrics is the instance's registry (tests gather from it).
func (b *BOS) Metrics() *metrics.Metrics { return b.metrics }

// countedBSS counts the nodes whose boot parameters BOS writes.
type countedBSS struct {
	reconciler.BootParameters
	m *metrics.Metrics
}

func (c countedBSS) Put(ctx context.Context, hosts []string, a bos.BootArtifacts) (string, error) {
	token, err := c.BootParameters.Put(ctx, hosts, a)
	failed := 0
	if err != nil {
		failed = len(hosts)
	}
	c.m.Effect(metrics.EffectBSS, len(hosts), failed)
	return token, err
}

// countedCFS counts the nodes whose desired configuration BOS sets.
type countedCFS struct {
	reconciler.Configuration
	m *metrics.Metrics
}

func (c countedCFS) SetDesired(ctx context.Context, ids []string, configuration string, enabled, clearState bool, session string) error {
	err := c.Configuration.SetDesired(ctx, ids, configuration, enabled, clearState, session)
	failed := 0
	if err != nil {
		failed = len(ids)
	}
	c.m.Effect(metrics.EffectCFS, len(ids), failed)
	return err
}

// countedPower counts the nodes BOS powers on and off.
type countedPower struct {
	power.PowerControl
	m *metrics.Metrics
}

func (c countedPower) Reset(ctx context.Context, ids []string, kind power.ResetKind) map[string]error {
	failed := c.PowerControl.Reset(ctx, ids, kind)
	effect := metrics.EffectPowerOff
	if kind == power.ResetOn {
		effect = metrics.EffectPowerOn
	}
	n := 0
	for _, err := range failed {
		if err != nil {
			n++
		}
	}
	c.m.Effect(effect, len(ids), n)
	return failed
}
