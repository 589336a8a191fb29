package cfs

import "github.com/cray-bos/bos/api/cfsapi"

// Status ranks: a component's status is the minimum over its layers (section 4.3).
const (
	rankUnconfigured = iota
	rankFailed
	rankPending
	rankConfigured
)

var rankNames = [...]string{cfsapi.StatusUnconfigured, cfsapi.StatusFailed, cfsapi.StatusPending, cfsapi.StatusConfigured}

// statusInput is what configuration_status depends on: nothing else, and nothing stored.
type statusInput struct {
	desiredConfig string
	errorCount    int
	retryPolicy   *int // nil: the default policy applies
	state         []cfsapi.StateLayer
}

// configurationStatus derives configuration_status as CFS does on every read:
//
//  1. No configuration by that name (or none named): unconfigured without state, else
//     configured.
//  2. Per layer (playbook defaulting to site.yml, a source resolved to its clone URL):
//     unconfigured without commit or clone URL; configured if a state layer with the same
//     clone URL, playbook and commit has any status but failed or incomplete; pending if
//     there is none, or it is incomplete, or it is failed below the retry limit; failed if
//     it is failed at the limit (error_count >= retry policy, unless the policy is -1).
//  3. The component's status is the lowest layer status (unconfigured < failed < pending <
//     configured), and pending becomes failed at the retry limit.
//
// With details it also returns each layer with its status (desired_state).
func configurationStatus(in statusInput, cfg *cfsapi.Configuration, sources map[string]string, defaultRetry int, details bool) (string, []cfsapi.DesiredLayer) {
	if in.desiredConfig == "" || cfg == nil {
		if len(in.state) == 0 {
			return cfsapi.StatusUnconfigured, nil
		}
		return cfsapi.StatusConfigured, nil
	}
	retries := defaultRetry
	if in.retryPolicy != nil {
		retries = *in.retryPolicy
	}
	atLimit := retries != -1 && in.errorCount >= retries

	var desired []cfsapi.DesiredLayer
	if details {
		desired = make([]cfsapi.DesiredLayer, 0, len(cfg.Layers))
	}
	status := rankConfigured
	for _, l := range cfg.Layers {
		r := layerRank(l, in.state, sources, atLimit)
		status = min(status, r)
		if details {
			desired = append(desired, cfsapi.DesiredLayer{Layer: l, Status: rankNames[r]})
		}
	}
	if status == rankPending && atLimit {
		status = rankFailed
	}
	return rankNames[status], desired
}

func layerRank(l cfsapi.Layer, state []cfsapi.StateLayer, sources map[string]string, atLimit bool) int {
	cloneURL, playbook := layerCloneURL(l, sources), l.Playbook
	if playbook == "" {
		playbook = cfsapi.DefaultPlaybook
	}
	if l.Commit == "" || cloneURL == "" {
		return rankUnconfigured
	}
	for _, s := range state {
		if s.CloneURL != cloneURL || s.Playbook != playbook || s.Commit != l.Commit {
			continue
		}
		switch s.Status {
		case cfsapi.LayerFailed:
			if atLimit {
				return rankFailed
			}
			return rankPending
		case cfsapi.LayerIncomplete:
			return rankPending
		default: // applied, skipped
			return rankConfigured
		}
	}
	return rankPending
}

// layerCloneURL is the layer's clone URL, or its source's.
func layerCloneURL(l cfsapi.Layer, sources map[string]string) string {
	if l.CloneURL != "" {
		return l.CloneURL
	}
	return sources[l.Source]
}
