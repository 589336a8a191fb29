package main

import (
	"os"
	"runtime"

	"github.com/cray-bos/bos/internal/topology"
)

// The shards of one cluster (`bos sim --shard K/N`) usually share a host: N processes of
// GOMAXPROCS = every core each keep more Ps than there are cores, and a P with nothing
// to run searches the others' run queues and the network poller before it sleeps
// (runtime.findRunnable: 14 to 17% of each shard's CPU in a sharded boot's profiles, as
// much as its garbage collector). A shard's requests are small and many, so it gains
// nothing from more Ps than its share of the cores: a shard of N takes NumCPU / N, at
// least one. The environment's GOMAXPROCS, when set, wins (shards on hosts of their own).
const simProcsEnvName = "GOMAXPROCS"

// simShardProcs is the GOMAXPROCS of one of shards processes on a host of cpus cores.
func simShardProcs(cpus, shards int) int {
	return max(1, cpus/max(1, shards))
}

// setSimProcs applies simShardProcs to this process when it is one of several shards and
// GOMAXPROCS is not set, and returns the GOMAXPROCS in force.
func setSimProcs(shard *topology.Shard) int {
	if shard == nil || shard.Count <= 1 || os.Getenv(simProcsEnvName) != "" {
		return runtime.GOMAXPROCS(0)
	}
	n := simShardProcs(runtime.NumCPU(), shard.Count)
	if n < runtime.GOMAXPROCS(0) {
		runtime.GOMAXPROCS(n)
	}
	return runtime.GOMAXPROCS(0)
}
