package main

import (
	"net/url"
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
// least one. So does a lone simulator process whose BOS runs on the same host (its BOS
// URL a loopback one), with BOS as the other sharer: NumCPU / 2 (a 10,000-node boot on 2
// cores: findRunnable 6% of the simulator's CPU with 2 Ps; with 1, 0.47 against 0.51
// CPU-ms a node for every CPU-ms of BOS's, three runs each). The environment's
// GOMAXPROCS, when set, wins (shards on hosts of their own).
const simProcsEnvName = "GOMAXPROCS"

// simShardProcs is the GOMAXPROCS of one of shards processes on a host of cpus cores.
func simShardProcs(cpus, shards int) int {
	return max(1, cpus/max(1, shards))
}

// simSharers is how many busy processes share the host's cores with this simulator
// process, itself included: the shards, or it and BOS when BOS is on this host.
func simSharers(shard *topology.Shard, bosURL string) int {
	if shard != nil && shard.Count > 1 {
		return shard.Count
	}
	if onThisHost(bosURL) {
		return 2
	}
	return 1
}

// onThisHost says a service URL names this host: localhost or a loopback address.
func onThisHost(serviceURL string) bool {
	u, err := url.Parse(serviceURL)
	if err != nil {
		return false
	}
	h := u.Hostname()
	return h == "localhost" || isLoopbackIP(h)
}

// setSimProcs applies simShardProcs to this process for simSharers when GOMAXPROCS is
// not set, and returns the GOMAXPROCS in force.
func setSimProcs(shard *topology.Shard, bosURL string) int {
	sharers := simSharers(shard, bosURL)
	if sharers <= 1 || os.Getenv(simProcsEnvName) != "" {
		return runtime.GOMAXPROCS(0)
	}
	n := simShardProcs(runtime.NumCPU(), sharers)
	if n < runtime.GOMAXPROCS(0) {
		runtime.GOMAXPROCS(n)
	}
	return runtime.GOMAXPROCS(0)
}
