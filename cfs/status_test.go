package cfs

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestConfigurationStatus(t *testing.T) {
	const repoA, repoB = "https://vcs/a.git", "https://vcs/b.git"
	cfgAB := &Configuration{Name: "ab", Layers: []Layer{
		{CloneURL: repoA, Playbook: "site.yml", Commit: commit1},
		{CloneURL: repoB, Playbook: "b.yml", Commit: commit2},
	}}
	applied := func(url, pb, commit string) StateLayer {
		return StateLayer{CloneURL: url, Playbook: pb, Commit: commit, Status: LayerApplied}
	}
	withStatus := func(l StateLayer, st string) StateLayer { l.Status = st; return l }
	a1, b2 := applied(repoA, "site.yml", commit1), applied(repoB, "b.yml", commit2)
	sources := map[string]string{"src": repoB}

	for _, tc := range []struct {
		name    string
		in      statusInput
		cfg     *Configuration
		want    string
		layers  []string // per-layer statuses (config_details)
		defRetr int
	}{
		// Rule 1: no configuration.
		{name: "NoDesiredConfigNoState", in: statusInput{}, want: StatusUnconfigured},
		{name: "NoDesiredConfigWithState", in: statusInput{state: []StateLayer{a1}}, want: StatusConfigured},
		{name: "UnknownConfigNoState", in: statusInput{desiredConfig: "gone"}, want: StatusUnconfigured},
		{name: "UnknownConfigWithState", in: statusInput{desiredConfig: "gone", state: []StateLayer{a1}}, want: StatusConfigured},
		// Rule 2: per layer.
		{name: "AllApplied", in: statusInput{desiredConfig: "ab", state: []StateLayer{b2, a1}}, cfg: cfgAB,
			want: StatusConfigured, layers: []string{StatusConfigured, StatusConfigured}},
		{name: "SkippedCountsAsConfigured", in: statusInput{desiredConfig: "ab", state: []StateLayer{a1, withStatus(b2, LayerSkipped)}}, cfg: cfgAB,
			want: StatusConfigured},
		{name: "EmptyStatusCountsAsApplied", in: statusInput{desiredConfig: "ab", state: []StateLayer{a1, withStatus(b2, "")}}, cfg: cfgAB,
			want: StatusConfigured},
		{name: "NoMatchingLayerIsPending", in: statusInput{desiredConfig: "ab", state: []StateLayer{a1}}, cfg: cfgAB,
			want: StatusPending, layers: []string{StatusConfigured, StatusPending}},
		{name: "OtherCommitIsPending", in: statusInput{desiredConfig: "ab", state: []StateLayer{a1, applied(repoB, "b.yml", "old")}}, cfg: cfgAB,
			want: StatusPending},
		{name: "OtherPlaybookIsPending", in: statusInput{desiredConfig: "ab", state: []StateLayer{a1, applied(repoB, "site.yml", commit2)}}, cfg: cfgAB,
			want: StatusPending},
		{name: "NoStateIsPending", in: statusInput{desiredConfig: "ab"}, cfg: cfgAB, want: StatusPending},
		{name: "IncompleteIsPending", in: statusInput{desiredConfig: "ab", state: []StateLayer{a1, withStatus(b2, LayerIncomplete)}}, cfg: cfgAB,
			want: StatusPending},
		{name: "FailedBelowLimitIsPending", in: statusInput{desiredConfig: "ab", errorCount: 2, state: []StateLayer{a1, withStatus(b2, LayerFailed)}}, cfg: cfgAB,
			want: StatusPending, layers: []string{StatusConfigured, StatusPending}},
		{name: "FailedAtLimitIsFailed", in: statusInput{desiredConfig: "ab", errorCount: 3, state: []StateLayer{a1, withStatus(b2, LayerFailed)}}, cfg: cfgAB,
			want: StatusFailed, layers: []string{StatusConfigured, StatusFailed}},
		{name: "FailedAboveLimitIsFailed", in: statusInput{desiredConfig: "ab", errorCount: 9, state: []StateLayer{a1, withStatus(b2, LayerFailed)}}, cfg: cfgAB,
			want: StatusFailed},
		{name: "UnlimitedRetriesStayPending", in: statusInput{desiredConfig: "ab", errorCount: 99, retryPolicy: Ptr(-1), state: []StateLayer{a1, withStatus(b2, LayerFailed)}}, cfg: cfgAB,
			want: StatusPending},
		{name: "OwnRetryPolicyOverridesDefault", in: statusInput{desiredConfig: "ab", errorCount: 1, retryPolicy: Ptr(1), state: []StateLayer{a1, withStatus(b2, LayerFailed)}}, cfg: cfgAB,
			want: StatusFailed},
		{name: "DefaultRetryPolicyApplies", in: statusInput{desiredConfig: "ab", errorCount: 5, state: []StateLayer{a1, withStatus(b2, LayerFailed)}}, cfg: cfgAB,
			defRetr: 10, want: StatusPending},
		{name: "LayerWithoutCommitIsUnconfigured", in: statusInput{desiredConfig: "x", state: []StateLayer{a1}},
			cfg:  &Configuration{Name: "x", Layers: []Layer{{CloneURL: repoA, Playbook: "site.yml", Commit: commit1}, {CloneURL: repoB, Playbook: "b.yml"}}},
			want: StatusUnconfigured, layers: []string{StatusConfigured, StatusUnconfigured}},
		{name: "LayerWithUnknownSourceIsUnconfigured", in: statusInput{desiredConfig: "x"},
			cfg: &Configuration{Name: "x", Layers: []Layer{{Source: "nosuch", Commit: commitC}}}, want: StatusUnconfigured},
		{name: "SourceResolvesToCloneURL", in: statusInput{desiredConfig: "x", state: []StateLayer{applied(repoB, "site.yml", commitC)}},
			cfg: &Configuration{Name: "x", Layers: []Layer{{Source: "src", Commit: commitC}}}, want: StatusConfigured},
		{name: "DefaultPlaybook", in: statusInput{desiredConfig: "x", state: []StateLayer{applied(repoA, "site.yml", commit1)}},
			cfg: &Configuration{Name: "x", Layers: []Layer{{CloneURL: repoA, Commit: commit1}}}, want: StatusConfigured},
		// Rule 3: the minimum over layers, and pending at the limit is failed.
		{name: "PendingAtLimitIsFailed", in: statusInput{desiredConfig: "ab", errorCount: 3, state: []StateLayer{a1}}, cfg: cfgAB,
			want: StatusFailed, layers: []string{StatusConfigured, StatusPending}},
		{name: "FailedBeatsPending", in: statusInput{desiredConfig: "x", errorCount: 1, retryPolicy: Ptr(1), state: []StateLayer{withStatus(a1, LayerFailed)}},
			cfg:  &Configuration{Name: "x", Layers: []Layer{{CloneURL: repoA, Playbook: "site.yml", Commit: commit1}, {CloneURL: repoB, Playbook: "b.yml", Commit: commit2}}},
			want: StatusFailed, layers: []string{StatusFailed, StatusPending}},
		{name: "UnconfiguredBeatsFailed", in: statusInput{desiredConfig: "x", errorCount: 3, state: []StateLayer{withStatus(a1, LayerFailed)}},
			cfg:  &Configuration{Name: "x", Layers: []Layer{{CloneURL: repoA, Playbook: "site.yml", Commit: commit1}, {CloneURL: repoB}}},
			want: StatusUnconfigured, layers: []string{StatusFailed, StatusUnconfigured}},
		{name: "NoLayersIsConfigured", in: statusInput{desiredConfig: "empty"}, cfg: &Configuration{Name: "empty", Layers: []Layer{}},
			want: StatusConfigured, layers: []string{}},
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
