package store_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// countCommands counts the commands (pipelined ones one by one) a client sends.
type countCommands struct{ n atomic.Int64 }

func (c *countCommands) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *countCommands) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { c.n.Add(1); return next(ctx, cmd) }
}
func (c *countCommands) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { c.n.Add(int64(len(cmds))); return next(ctx, cmds) }
}

// A token's record, once written or read, is resolved from memory: node reports naming
// it cost no Redis round trip. Another process's tokens are read from Redis once.
func TestTokensResolvedFromMemory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		stores := storetest.OpenShared(t, backend, 2, store.Config{})
		writer, reader := stores[0], stores[1]
		rec := orchestrator.TokenRecord{BootArtifacts: orchestrator.BootArtifacts{Kernel: "k", KernelParameters: "p", Initrd: "i"}, Timestamp: t0}
		require.NoError(t, writer.PutToken(ctx, "tok", rec))
		var wrote, read countCommands
		writer.RedisClient().AddHook(&wrote)
		reader.RedisClient().AddHook(&read)

		for range 3 {
			got, err := writer.GetTokens(ctx, []string{"tok"})
			require.NoError(t, err)
			assert.Equal(t, map[string]orchestrator.TokenRecord{"tok": rec}, got)
			got, err = reader.GetTokens(ctx, []string{"tok", "nope"})
			require.NoError(t, err)
			assert.Equal(t, map[string]orchestrator.TokenRecord{"tok": rec}, got)
		}
		assert.Zero(t, wrote.n.Load(), "the writer knows its token")
		assert.Equal(t, int64(3), read.n.Load(), "the reader reads tok once; nope, unknown, every time")
	})
}
