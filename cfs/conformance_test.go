package cfs

import (
	"testing"

	"github.com/cray-bos/bos/internal/conformance"
)

// cfsDeviations are the differences from config-framework-service 1.31.1's published
// document that we mean, each with its reason.
var cfsDeviations = []conformance.Deviation{}

// TestConformsToCFS validates the CFS v3 operations we serve, on success and error paths,
// against CFS 1.31.1's document, through the gateway paths (/apis/cfs/v3): what BOS sends
// (component PATCH by id list, desired_config and tags) and cray cfs v3 shaped requests.
func TestConformsToCFS(t *testing.T) {
	s := mustServer(t, Config{Components: nodeIDs(4)})
	c := conformance.New(t, conformance.CFS, s.Handler(), cfsDeviations...)
	node := nodeIDs(1)[0]
	const commit = "0123456789abcdef0123456789abcdef01234567"

	c.Do("GET", "/healthz", nil)
	// cray cfs v3 configurations update compute-config --file layers.json
	c.Do("PUT", "/v3/configurations/compute-config", map[string]any{"description": "compute",
		"layers": []map[string]any{{"name": "l1", "clone_url": repoA, "commit": commit, "playbook": "site.yml"}}})
	c.DoInvalid("PUT", "/v3/configurations/bad", map[string]any{"layers": "none"})
	c.DoInvalid("PUT", "/v3/configurations/bad", map[string]any{"layers": []map[string]any{{"clone_url": repoA, "commit": "c1", "playbook": "site.yml"}}})
	c.Do("GET", "/v3/configurations", nil)
	c.Do("GET", "/v3/configurations/compute-config", nil)
	c.Do("GET", "/v3/configurations/missing", nil)
	c.Do("PATCH", "/v3/configurations/compute-config", nil)
	c.Do("PATCH", "/v3/configurations/missing", nil)

	c.Do("GET", "/v3/components", nil)
	c.Do("GET", "/v3/components?ids="+node+"&status=pending", nil)
	c.Do("GET", "/v3/components/"+node, nil)
	c.Do("GET", "/v3/components/"+node+"?state_details=true&config_details=true", nil)
	c.Do("GET", "/v3/components/x9c0s0b0n0", nil)
	// What BOS's power-on operator sends.
	c.Do("PATCH", "/v3/components", map[string]any{"filters": map[string]any{"ids": node},
		"patch": map[string]any{"desired_config": "compute-config", "enabled": false, "state": []any{}, "tags": map[string]any{"bos_session": "s1"}}})
	c.Do("PATCH", "/v3/components", []map[string]any{{"id": node, "enabled": true}})
	c.Do("PATCH", "/v3/components/"+node, map[string]any{"state": []any{}, "enabled": true})
	c.Do("PATCH", "/v3/components/x9c0s0b0n0", map[string]any{"enabled": true})
	c.DoInvalid("PATCH", "/v3/components/"+node, map[string]any{"enabled": "yes"})
	c.Do("PUT", "/v3/components/x1000c0s9b0n0", map[string]any{"desired_config": "compute-config", "enabled": true})
	c.Do("PUT", "/v3/components", []map[string]any{{"id": "x1000c0s9b0n1", "enabled": true}})
	// cray cfs v3 options list / update; sessions create, list, describe, delete.
	c.Do("GET", "/v3/options", nil)
	c.Do("PATCH", "/v3/options", map[string]any{"batch_size": 50, "session_ttl": "2d", "logging_level": "DEBUG"})
	c.DoInvalid("PATCH", "/v3/options", map[string]any{"batch_size": 0})
	c.Do("POST", "/v3/sessions", map[string]any{"name": "fix-node", "configuration_name": "compute-config", "ansible_limit": node,
		"tags": map[string]string{"who": "admin"}})
	c.DoInvalid("POST", "/v3/sessions", map[string]any{"name": "Bad_Name", "configuration_name": "compute-config"})
	c.Do("POST", "/v3/sessions", map[string]any{"name": "fix-node", "configuration_name": "compute-config"})
	c.Do("GET", "/v3/sessions", nil)
	c.Do("GET", "/v3/sessions?status=complete&succeeded=true&min_age=0m&limit=10", nil)
	c.Do("GET", "/v3/sessions/fix-node", nil)
	c.Do("GET", "/v3/sessions/missing", nil)
	c.Do("DELETE", "/v3/sessions/fix-node", nil)
	c.Do("DELETE", "/v3/sessions", nil)
	c.Do("DELETE", "/v3/sessions/missing", nil)
	c.Do("DELETE", "/v3/configurations/compute-config", nil)
	c.Do("DELETE", "/v3/components/x1000c0s9b0n0", nil)
	c.Do("DELETE", "/v3/components/x1000c0s9b0n0", nil)
	c.Do("DELETE", "/v3/configurations/missing", nil)

	for op, st := range c.Seen() {
		t.Logf("%s %v", op, st)
	}
	t.Logf("%s: %d operations validated", conformance.CFS, len(c.Seen()))
}
