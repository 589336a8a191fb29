package api

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/cray-bos/bos/internal/problem"
	"github.com/cray-bos/bos/orchestrator"
)

// A component patch decodes to the same value, or the same problem, by DecodeFast (the
// node report's path) as by Decode (every other body's).
func TestDecodePatchFastIsDecode(t *testing.T) {
	for _, body := range []string{
		`{"actual_state": {"boot_artifacts": {"kernel": "s3://boot-images/k", "kernel_parameters": "console=ttyS0 bss_referral_token=abc", "initrd": "s3://boot-images/i"}, "bss_token": "abc"}}`,
		`{"enabled": true, "retry_policy": 3, "error": null, "session": "s"}`,
		`{"Enabled": false, "ACTUAL_STATE": {"BSS_Token": "t"}}`,
		`{"enabled": true, "enabled": false}`,
		`{"last_action": {"action": "powering_on", "failed": true}, "event_stats": {"power_on_attempts": 2}}`,
		`{"desired_state": {"configuration": "c", "boot_artifacts": {"kernel": "k"}}, "staged_state": null}`,
		`{"status": {"phase": "configuring", "status_override": ""}}`,
		`{"bogus": 1}`, `{"actual_state": {"bogus": 1}}`, `{"enabled": "yes"}`, `{"retry_policy": 1.5}`,
		`{"retry_policy": 99999999999999999999}`, `{"id": "\ud800"}`, "{\"id\":\"\xff\"}",
		`null`, ``, `[]`, `{} {}`, `{"enabled": true} `, `{"enabled": tru}`, `{"actual_state": []}`,
	} {
		var slow, fast orchestrator.ComponentPatch
		dSlow := problem.Decode(strings.NewReader(body), &slow)
		dFast := problem.DecodeFast(strings.NewReader(body), &fast)
		assert.Equal(t, dSlow, dFast, "problem of %s", body)
		if dSlow == nil {
			assert.Equal(t, slow, fast, "value of %s", body)
		}
	}
}
