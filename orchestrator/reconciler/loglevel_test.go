package reconciler

import (
	"context"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
)

// Every pass reads the options (options); doing so sets the log level from logging_level
// and the clients' read timeouts, so a PATCH of the options takes effect by the next pass.
func TestOptionsSetLogLevel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st, err := store.Open(ctx, store.Config{EmbeddedOverPipes: true})
		require.NoError(t, err)
		defer st.Close()
		level := new(slog.LevelVar)
		var timeouts ReadTimeouts
		r := New(Config{Store: st, LogLevel: level, ReadTimeouts: &timeouts})
		defer r.queue.ShutDown()
		r.options(ctx)
		assert.Equal(t, slog.LevelInfo, level.Level(), "the default, INFO")
		_, err = st.UpdateOptions(ctx, func(o *bos.Options) error { o.LoggingLevel, o.PCSReadTimeout = "warning", 45; return nil })
		require.NoError(t, err)
		r.options(ctx)
		assert.Equal(t, slog.LevelWarn, level.Level())
		assert.Equal(t, 45*time.Second, timeouts.of(ServicePCS))
	})
}
