package main

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/cray-bos/bos/internal/topology"
)

func TestSimShardProcs(t *testing.T) {
	for _, tc := range []struct {
		cpus, shards, want int
	}{
		{2, 1, 2},
		{2, 3, 1},
		{8, 3, 2},
		{64, 10, 6},
		{1, 4, 1},
		{4, 0, 4},
	} {
		assert.Equal(t, tc.want, simShardProcs(tc.cpus, tc.shards), "%d cores, %d shards", tc.cpus, tc.shards)
	}
}

func TestSetSimProcs(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	start := runtime.GOMAXPROCS(0)
	many := &topology.Shard{Index: 1, Count: 1 << 20}
	one := &topology.Shard{Index: 0, Count: 1}

	t.Setenv(simProcsEnvName, "")
	assert.Equal(t, start, setSimProcs(nil), "not sharded: unchanged")
	assert.Equal(t, start, setSimProcs(one), "one shard: unchanged")
	assert.Equal(t, 1, setSimProcs(many), "more shards than cores: one P each")
	runtime.GOMAXPROCS(start)

	t.Setenv(simProcsEnvName, "3")
	assert.Equal(t, start, setSimProcs(many), "GOMAXPROCS in the environment wins")
}
