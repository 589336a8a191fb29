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
	assert.Equal(t, start, setSimProcs(nil, ""), "not sharded: unchanged")
	assert.Equal(t, start, setSimProcs(one, "http://bos.example:8080"), "one shard, BOS elsewhere: unchanged")
	assert.Equal(t, 1, setSimProcs(many, ""), "more shards than cores: one P each")
	runtime.GOMAXPROCS(start)
	assert.Equal(t, simShardProcs(runtime.NumCPU(), 2), setSimProcs(nil, "http://127.0.0.1:8080"), "BOS on this host: half the cores")
	runtime.GOMAXPROCS(start)

	t.Setenv(simProcsEnvName, "3")
	assert.Equal(t, start, setSimProcs(many, ""), "GOMAXPROCS in the environment wins")
	assert.Equal(t, start, setSimProcs(nil, "http://127.0.0.1:8080"), "GOMAXPROCS in the environment wins")
}

// The processes a simulator shares the host's cores with: its fellow shards, or BOS
// when BOS's URL is on this host.
func TestSimSharers(t *testing.T) {
	three := &topology.Shard{Index: 1, Count: 3}
	for _, tc := range []struct {
		shard *topology.Shard
		bos   string
		want  int
	}{
		{nil, "", 1},
		{nil, "http://bos.example:8080", 1},
		{nil, "http://10.1.2.3:8080", 1},
		{nil, "http://127.0.0.1:8080", 2},
		{nil, "http://127.1.2.3:8080", 2},
		{nil, "http://localhost:8080", 2},
		{nil, "http://[::1]:8080", 2},
		{&topology.Shard{Index: 0, Count: 1}, "http://127.0.0.1:8080", 2},
		{three, "", 3},
		{three, "http://127.0.0.1:8080", 3},
	} {
		assert.Equal(t, tc.want, simSharers(tc.shard, tc.bos), "%+v %s", tc.shard, tc.bos)
	}
}
