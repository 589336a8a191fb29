package cfs

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/cray-bos/bos/api/cfsapi"
)

func TestConfigurationStatus(t *testing.T) {
	const repoA, repoB = "https://vcs/a.git", "https://vcs/b.git"
	cfgAB := &cfsapi.Configuration{Name: "ab", Layers: []cfsapi.Layer{
		{CloneURL: repoA, Playbook: "site.yml", Commit: commit1},
		{CloneURL: repoB, Playbook: "b.yml", Commit: commit2},
	}}
	applied := func(url, pb, commit string) cfsapi.StateLayer {
		return cfsapi.StateLayer{CloneURL: url, Playbook: pb, Commit: commit, Status: cfsapi.LayerApplied}
	}
	withStatus := func(l cfsapi.StateLayer, st string) cfsapi.StateLayer { l.Status = st; return l }
	a1, b2 := applied(repoA, "site.yml", commit1), applied(repoB, "b.yml", commit2)
	sources := map[string]string{"src": repoB}

	for _, tc := range []struct {
		name    string
		in      statusInput
		cfg     *cfsapi.Configuration
		want    string
		layers  []string // per-layer statuses (config_details)
		defRetr int
	}{
		// Rule 1: no configuration.
		{name: "NoDesiredConfigNoState", in: statusInput{}, want: cfsapi.StatusUnconfigured},
		{name: "NoDesiredConfigWithState", in: statusInput{state: []cfsapi.StateLayer{a1}}, want: cfsapi.StatusConfigured},
		{name: "UnknownConfigNoState", in: statusInput{desiredConfig: "gone"}, want: cfsapi.StatusUnconfigured},
		{name: "UnknownConfigWithState", in: statusInput{desiredConfig: "gone", state: []cfsapi.StateLayer{a1}}, want: cfsapi.StatusConfigured},
		// Rule 2: per layer.
		{name: "AllApplied", in: statusInput{desiredConfig: "ab", state: []cfsapi.StateLayer{b2, a1}}, cfg: cfgAB,
			want: cfsapi.StatusConfigured, layers: []string{cfsapi.StatusConfigured, cfsapi.StatusConfigured}},
		{name: "SkippedCountsAsConfigured", in: statusInput{desiredConfig: "ab", state: []cfsapi.StateLayer{a1, withStatus(b2, cfsapi.LayerSkipped)}}, cfg: cfgAB,
			want: cfsapi.StatusConfigured},
		{name: "EmptyStatusCountsAsApplied", in: statusInput{desiredConfig: "ab", state: []cfsapi.StateLayer{a1, withStatus(b2, "")}}, cfg: cfgAB,
			want: cfsapi.StatusConfigured},
		{name: "NoMatchingLayerIsPending", in: statusInput{desiredConfig: "ab", state: []cfsapi.StateLayer{a1}}, cfg: cfgAB,
			want: cfsapi.StatusPending, layers: []string{cfsapi.StatusConfigured, cfsapi.StatusPending}},
		{name: "OtherCommitIsPending", in: statusInput{desiredConfig: "ab", state: []cfsapi.StateLayer{a1, applied(repoB, "b.yml", "old")}}, cfg: cfgAB,
			want: cfsapi.StatusPending},
		{name: "OtherPlaybookIsPending", in: statusInput{desiredConfig: "ab", state: []cfsapi.StateLayer{a1, applied(repoB, "site.yml", commit2)}}, cfg: cfgAB,
			want: cfsapi.StatusPending},
		{name: "NoStateIsPending", in: statusInput{desiredConfig: "ab"}, cfg: cfgAB, want: cfsapi.StatusPending},
		{name: "IncompleteIsPending", in: statusInput{desiredConfig: "ab", state: []cfsapi.StateLayer{a1, withStatus(b2, cfsapi.LayerIncomplete)}}, cfg: cfgAB,
			want: cfsapi.StatusPending},
		{name: "FailedBelowLimitIsPending", in: statusInput{desiredConfig: "ab", errorCount: 2, state: []cfsapi.StateLayer{a1, withStatus(b2, cfsapi.LayerFailed)}}, cfg: cfgAB,
			want: cfsapi.StatusPending, layers: []string{cfsapi.StatusConfigured, cfsapi.StatusPending}},
		{name: "FailedAtLimitIsFailed", in: statusInput{desiredConfig: "ab", errorCount: 3, state: []cfsapi.StateLayer{a1, withStatus(b2, cfsapi.LayerFailed)}}, cfg: cfgAB,
			want: cfsapi.StatusFailed, layers: []string{cfsapi.StatusConfigured, cfsapi.StatusFailed}},
		{name: "FailedAboveLimitIsFailed", in: statusInput{desiredConfig: "ab", errorCount: 9, state: []cfsapi.StateLayer{a1, withStatus(b2, cfsapi.LayerFailed)}}, cfg: cfgAB,
			want: cfsapi.StatusFailed},
		{name: "UnlimitedRetriesStayPending", in: statusInput{desiredConfig: "ab", errorCount: 99, retryPolicy: cfsapi.Ptr(-1), state: []cfsapi.StateLayer{a1, withStatus(b2, cfsapi.LayerFailed)}}, cfg: cfgAB,
			want: cfsapi.StatusPending},
		{name: "OwnRetryPolicyOverridesDefault", in: statusInput{desiredConfig: "ab", errorCount: 1, retryPolicy: cfsapi.Ptr(1), state: []cfsapi.StateLayer{a1, withStatus(b2, cfsapi.LayerFailed)}}, cfg: cfgAB,
			want: cfsapi.StatusFailed},
		{name: "DefaultRetryPolicyApplies", in: statusInput{desiredConfig: "ab", errorCount: 5, state: []cfsapi.StateLayer{a1, withStatus(b2, cfsapi.LayerFailed)}}, cfg: cfgAB,
			defRetr: 10, want: cfsapi.StatusPending},
		{name: "LayerWithoutCommitIsUnconfigured", in: statusInput{desiredConfig: "x", state: []cfsapi.StateLayer{a1}},
			cfg:  &cfsapi.Configuration{Name: "x", Layers: []cfsapi.Layer{{CloneURL: repoA, Playbook: "site.yml", Commit: commit1}, {CloneURL: repoB, Playbook: "b.yml"}}},
			want: cfsapi.StatusUnconfigured, layers: []string{cfsapi.StatusConfigured, cfsapi.StatusUnconfigured}},
		{name: "LayerWithUnknownSourceIsUnconfigured", in: statusInput{desiredConfig: "x"},
			cfg: &cfsapi.Configuration{Name: "x", Layers: []cfsapi.Layer{{Source: "nosuch", Commit: commitC}}}, want: cfsapi.StatusUnconfigured},
		{name: "SourceResolvesToCloneURL", in: statusInput{desiredConfig: "x", state: []cfsapi.StateLayer{applied(repoB, "site.yml", commitC)}},
			cfg: &cfsapi.Configuration{Name: "x", Layers: []cfsapi.Layer{{Source: "src", Commit: commitC}}}, want: cfsapi.StatusConfigured},
		{name: "DefaultPlaybook", in: statusInput{desiredConfig: "x", state: []cfsapi.StateLayer{applied(repoA, "site.yml", commit1)}},
			cfg: &cfsapi.Configuration{Name: "x", Layers: []cfsapi.Layer{{CloneURL: repoA, Commit: commit1}}}, want: cfsapi.StatusConfigured},
		// Rule 3: the minimum over layers, and pending at the limit is failed.
		{name: "PendingAtLimitIsFailed", in: statusInput{desiredConfig: "ab", errorCount: 3, state: []cfsapi.StateLayer{a1}}, cfg: cfgAB,
			want: cfsapi.StatusFailed, layers: []string{cfsapi.StatusConfigured, cfsapi.StatusPending}},
		{name: "FailedBeatsPending", in: statusInput{desiredConfig: "x", errorCount: 1, retryPolicy: cfsapi.Ptr(1), state: []cfsapi.StateLayer{withStatus(a1, cfsapi.LayerFailed)}},
			cfg:  &cfsapi.Configuration{Name: "x", Layers: []cfsapi.Layer{{CloneURL: repoA, Playbook: "site.yml", Commit: commit1}, {CloneURL: repoB, Playbook: "b.yml", Commit: commit2}}},
			want: cfsapi.StatusFailed, layers: []string{cfsapi.StatusFailed, cfsapi.StatusPending}},
		{name: "UnconfiguredBeatsFailed", in: statusInput{desiredConfig: "x", errorCount: 3, state: []cfsapi.StateLayer{withStatus(a1, cfsapi.LayerFailed)}},
			cfg:  &cfsapi.Configuration{Name: "x", Layers: []cfsapi.Layer{{CloneURL: repoA, Playbook: "site.yml", Commit: commit1}, {CloneURL: repoB}}},
			want: cfsapi.StatusUnconfigured, layers: []string{cfsapi.StatusFailed, cfsapi.StatusUnconfigured}},
		{name: "NoLayersIsConfigured", in: statusInput{desiredConfig: "empty"}, cfg: &cfsapi.Configuration{Name: "empty", Layers: []cfsapi.Layer{}},
			want: cfsapi.StatusConfigured, layers: []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			def := tc.defRetr
			if def == 0 {
				def = 3
			}
			got, layers := configurationStatus(tc.in, tc.cfg, sources, def, true)
			assert.Equal(t, tc.want, got)
			if tc.layers != nil {
				var gotLayers []string
				for _, l := range layers {
					gotLayers = append(gotLayers, l.Status)
				}
				if len(tc.layers) == 0 {
					assert.Empty(t, gotLayers)
				} else {
					assert.Equal(t, tc.layers, gotLayers)
				}
			}
			plain, none := configurationStatus(tc.in, tc.cfg, sources, def, false)
			assert.Equal(t, got, plain, "details do not change the status")
			assert.Nil(t, none)
		})
	}
}
