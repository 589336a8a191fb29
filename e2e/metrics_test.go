package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/topology"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
	"github.com/cray-bos/bos/simulator"
)

// scrape reads a metrics URL over the stack's network, parsed.
func (c *cluster) scrape(url string) map[string]*dto.MetricFamily {
	c.t.Helper()
	req, err := http.NewRequestWithContext(c.ctx(), http.MethodGet, url, nil)
	require.NoError(c.t, err)
	resp, err := c.st.HTTPClient().Do(req)
	require.NoError(c.t, err)
	defer func() { _ = resp.Body.Close() }()
	require.Equal(c.t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(bytesReader(body))
	require.NoError(c.t, err, string(body))
	return families
}

// metricValue is the value of the sample of family name whose labels include labels
// (counter, gauge, or a histogram's count); -1 when there is none.
func metricValue(families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	f, ok := families[name]
	if !ok {
		return -1
	}
	total, found := 0.0, false
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		found = true
		switch {
		case m.Counter != nil:
			total += m.GetCounter().GetValue()
		case m.Gauge != nil:
			total += m.GetGauge().GetValue()
		case m.Histogram != nil:
			total += float64(m.GetHistogram().GetSampleCount())
		}
	}
	if !found {
		return -1
	}
	return total
}

// TestMetricsDuringAndAfterBoot scrapes BOS's /metrics while a boot runs and after it and
// checks them against the session's status: one node whose CFS configuration fails.
func TestMetricsDuringAndAfterBoot(t *testing.T) { bubble(t, testMetricsDuringAndAfterBoot) }

func testMetricsDuringAndAfterBoot(t *testing.T) {
	const nodes = 20
	topo, err := topology.Generate(topology.DefaultOptions(nodes))
	require.NoError(t, err)
	bad := topo.ByRole(topology.RoleCompute)[1]
	c := startCluster(t, storetest.Mini, clusterOptions{nodes: nodes, cfsFail: []string{bad}})
	n := len(c.computes)

	name := c.session(bos.OpBoot, "", "", false)
	during := c.scrape(c.st.URLs.BOS + "/metrics")
	assert.Equal(t, 1.0, metricValue(during, "bos_store_up", nil))
	assert.Equal(t, 1.0, metricValue(during, "bos_sessions_by_status", map[string]string{"status": bos.SessionPending})+
		metricValue(during, "bos_sessions_by_status", map[string]string{"status": bos.SessionRunning}), "the boot is pending or running")
	assert.GreaterOrEqual(t, metricValue(during, "bos_reconcile_queue_depth", nil), 0.0)

	st := c.waitComplete(name, 5*time.Minute)
	time.Sleep(time.Second) // the last passes' counters are added after their writes
	after := c.scrape(c.st.URLs.BOS + "/apis/bos/metrics")
	stable := metricValue(after, "bos_components_by_status", map[string]string{"status": bos.StatusStable})
	failed := metricValue(after, "bos_components_by_status", map[string]string{"status": bos.StatusFailed})
	all := len(c.components()) // computes and the other nodes BOS knows, all stable but bad
	assert.Equal(t, float64(all-1), stable, "status %+v", st)
	assert.Equal(t, 1.0, failed)
	assert.Equal(t, float64(all), metricValue(after, "bos_components_by_phase", nil), "every component has one phase")
	assert.GreaterOrEqual(t, metricValue(after, "bos_components_by_phase", map[string]string{"phase": bos.PhaseNone}), float64(all-1))
	assert.Equal(t, 1.0, metricValue(after, "bos_sessions_by_status", map[string]string{"status": bos.SessionComplete}))
	assert.GreaterOrEqual(t, metricValue(after, "bos_effects_total", map[string]string{"kind": "power_on"}), float64(n))
	assert.GreaterOrEqual(t, metricValue(after, "bos_effects_total", map[string]string{"kind": "bss"}), float64(n))
	assert.GreaterOrEqual(t, metricValue(after, "bos_effects_total", map[string]string{"kind": "cfs"}), float64(n))
	assert.Equal(t, 0.0, metricValue(after, "bos_effects_failed_total", map[string]string{"kind": "power_on"}))
	assert.Greater(t, metricValue(after, "bos_reconcile_passes_total", nil), 0.0)
	assert.Equal(t, metricValue(after, "bos_reconcile_passes_total", nil), metricValue(after, "bos_reconcile_pass_duration_seconds", nil))
	for _, svc := range []string{"hsm", "bss", "cfs", "ims", "redfish"} {
		assert.Greater(t, metricValue(after, "bos_outbound_request_duration_seconds", map[string]string{"service": svc}), 0.0, svc)
	}
	assert.Greater(t, metricValue(after, "bos_redis_command_duration_seconds", nil), 0.0)
	opened := metricValue(after, "bos_redfish_connections_opened_total", nil)
	assert.Greater(t, opened, 0.0)
	assert.LessOrEqual(t, opened, metricValue(after, "bos_outbound_request_duration_seconds", map[string]string{"service": "redfish"}),
		"a connection opened per BMC request at most")

	// The simulators' registry, on each simulator's listener.
	sims := c.scrape(c.st.URLs.HSM + "/metrics")
	assert.Greater(t, metricValue(c.scrape(c.st.URLs.CFS+"/metrics"), "bos_sim_requests_total", map[string]string{"service": "hsm"}), 0.0,
		"one registry for the stack's simulators, on each listener")
	assert.GreaterOrEqual(t, metricValue(sims, "bos_sim_power_transitions_total", map[string]string{"state": "On"}), float64(n))
	assert.GreaterOrEqual(t, metricValue(sims, "bos_sim_resets_total", nil), float64(n))
	assert.Greater(t, metricValue(sims, "bos_sim_events_delivered_total", nil), 0.0)
	assert.Equal(t, 0.0, metricValue(sims, "bos_sim_events_failed_total", nil))
	assert.Equal(t, 0.0, metricValue(sims, "bos_sim_faults_injected", nil))
	for _, svc := range []string{"hsm", "bss", "cfs", "bmcs"} {
		assert.Greater(t, metricValue(sims, "bos_sim_requests_total", map[string]string{"service": svc}), 0.0, svc)
	}
	assert.Greater(t, metricValue(sims, "bos_sim_requests_total", map[string]string{"service": "bmcs",
		"route": "POST /redfish/v1/Systems/{id}/Actions/ComputerSystem.Reset", "code": "204"}), 0.0, "labelled by route pattern, not path")
	checkDashboard(t, after, sims)
	require.NoError(t, c.st.Sim.SetFault(bad, simulator.FaultPowerStuck))
	assert.Equal(t, 1.0, metricValue(c.scrape(c.st.URLs.HSM+"/metrics"), "bos_sim_faults_injected", map[string]string{"fault": string(simulator.FaultPowerStuck)}))
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// checkDashboard: docs/grafana-dashboard.json is valid JSON whose every query names
// metrics BOS or the simulators export, and docs/metrics.md lists every metric exported.
func checkDashboard(t *testing.T, exported ...map[string]*dto.MetricFamily) {
	t.Helper()
	names := map[string]bool{}
	for _, families := range exported {
		for name := range families {
			names[name] = true
		}
	}
	raw, err := os.ReadFile("../docs/grafana-dashboard.json")
	require.NoError(t, err)
	var dashboard struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(raw, &dashboard))
	require.NotEmpty(t, dashboard.Panels)
	queried := map[string]bool{}
	for _, p := range dashboard.Panels {
		require.NotEmpty(t, p.Targets, p.Title)
		for _, target := range p.Targets {
			used := metricName.FindAllString(target.Expr, -1)
			require.NotEmpty(t, used, "%s: %s", p.Title, target.Expr)
			for _, name := range used {
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if base, ok := strings.CutSuffix(name, suffix); ok && names[base] {
						name = base
					}
				}
				assert.True(t, names[name], "%s queries %s, which nothing exports", p.Title, name)
				queried[name] = true
			}
		}
	}
	doc, err := os.ReadFile("../docs/metrics.md")
	require.NoError(t, err)
	for name := range names {
		if strings.HasPrefix(name, "bos_") {
			assert.Contains(t, string(doc), "`"+name+"`", "docs/metrics.md lists every metric")
		}
	}
	for _, main := range []string{"bos_components_by_status", "bos_sessions_by_status", "bos_reconcile_pass_duration_seconds",
		"bos_effects_total", "bos_outbound_request_duration_seconds", "bos_sim_requests_total"} {
		assert.True(t, queried[main], "the dashboard shows %s", main)
	}
}

var metricName = regexp.MustCompile(`\bbos_[a-z_]+`)
