package main

import (
	"os"
	"runtime/debug"
	"slices"

	"github.com/cray-bos/bos/internal/stack"
)

// Go's collector lets the heap grow to twice what was live after the last collection, so a
// simulator process that holds HSM, BSS and CFS for 100,000 nodes (~5 KB a node live) and
// answers their boot traffic peaked at 2.6 GiB (issue 14). A soft memory limit sized from
// the nodes the process serves collects earlier under it instead, and costs nothing while
// the heap stays below it, as it does up to about 10,000 nodes.
const (
	simMemoryBase         = 128 << 20 // runtime, listeners, buffers of the requests in flight
	simMemoryService      = 10 << 10  // per node of HSM, BSS and CFS: twice what they keep live
	simMemoryBMC          = 10 << 10  // per node of the simulated BMCs
	simMemoryLimitEnvName = "GOMEMLIMIT"
)

// simMemoryLimit is the soft memory limit for a `bos sim` process running services for
// serviceNodes nodes and BMCs for bmcNodes.
func simMemoryLimit(serviceNodes, bmcNodes int) int64 {
	return simMemoryBase + int64(serviceNodes)*simMemoryService + int64(bmcNodes)*simMemoryBMC
}

// setSimMemoryLimit applies simMemoryLimit to this process, unless GOMEMLIMIT set one, and
// returns the limit in force.
func setSimMemoryLimit(opts stack.Options) int64 {
	if os.Getenv(simMemoryLimitEnvName) != "" {
		return debug.SetMemoryLimit(-1)
	}
	serviceNodes, bmcNodes := 0, 0
	if slices.ContainsFunc(opts.Services, func(s string) bool { return s == stack.HSM || s == stack.BSS || s == stack.CFS }) {
		serviceNodes = len(opts.Topology.Nodes)
	}
	if slices.Contains(opts.Services, stack.BMCs) {
		bmcNodes = len(opts.Topology.Nodes)
		if opts.Shard != nil {
			bmcNodes = len(opts.Shard.Topology.Nodes)
		}
	}
	limit := simMemoryLimit(serviceNodes, bmcNodes)
	debug.SetMemoryLimit(limit)
	return limit
}
