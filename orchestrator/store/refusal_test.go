package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/etag"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// A write whose caller refuses the record (a node report refused while a power-off is
// under way, an If-Match that does not hold) is answered with that refusal only when the
// record refused is the stored one: this process's memory of it may be out of date
// (another replica wrote it since), and the refusal is then decided again on what Redis
// holds. (TestCrashMatrix on Redis, reboot, kill before the fourth call: a restarted
// reconciler's power-on raced a reply the killed one had been waiting for, the memory
// went back to the power-off, and node reports were refused with 409 until the boot
// timed out and the nodes were booted again.)
func TestRefusalIsDecidedOnTheStoredRecord(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		stores := storetest.OpenShared(t, backend, 2, store.Config{})
		mine, other := stores[0], stores[1]
		_, err := mine.AddComponents(ctx, []bos.Component{bos.NewComponent("x1", time.Now())}) // remembered as written
		require.NoError(t, err)
		_, err = other.UpdateComponents(ctx, []string{"x1"}, func(c *bos.Component) error {
			c.LastAction.Action = bos.ActionPoweringOn
			return nil
		})
		require.NoError(t, err)

		refuseUnlessOn := func(c *bos.Component) error {
			if c.LastAction.Action != bos.ActionPoweringOn {
				return &bos.Error{Code: bos.ECONFLICT, Message: "not powering on"}
			}
			c.Error = "reported"
			return nil
		}
		_, _, err = mine.UpdateComponentIfJSON(ctx, "x1", etag.Condition{}, refuseUnlessOn)
		require.NoError(t, err, "decided on the record the other store wrote")

		_, tag, err := other.UpdateComponentIfJSON(ctx, "x1", etag.Condition{}, func(c *bos.Component) error {
			c.Error = "again"
			return nil
		})
		require.NoError(t, err)
		cond, err := etag.ParseIfMatch([]string{tag})
		require.NoError(t, err)
		stored, _, err := mine.UpdateComponentIfJSON(ctx, "x1", cond, func(c *bos.Component) error {
			c.Error = "matched"
			return nil
		})
		require.NoError(t, err, "If-Match of the stored record")
		assert.Contains(t, string(stored), `"matched"`)

		_, _, err = mine.UpdateComponentIfJSON(ctx, "x1", cond, func(c *bos.Component) error { return nil })
		assert.Equal(t, bos.EPRECONDITION, bos.ErrorCode(err), "a refusal decided on the stored record stands")
	})
}
