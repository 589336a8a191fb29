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
//
// A process whose limit is large (1 GiB or more: the services of a cluster of some 40,000
// nodes or more, as the first shard of 100,000 runs them) is paced by its limit rather than
// by the doubling of its live heap: GOGC 400 under it, as `bos serve` runs. Its collector
// scans HSM's inventory of every node at each cycle (16% of that shard's CPU over a
// 100,000-node boot at GOGC 100), so fewer cycles within the same limit are CPU saved;
// the 2 KB a node of HSM, BSS and CFS above twice their live heap is that headroom, and a
// smaller process, paced by GOGC 100 below its limit, never reaches it. A process of
// BMCs alone (a shard after the first) is paced by its limit too, whatever its size: at
// 100,000 nodes its peak was its limit already at GOGC 100 (10 KB a node then), and its
// collector and assists took 15-17% of its CPU over a boot. Under GOGC 400 its
// collection took 0.5 CPU-s a shard over a 100,000-node boot at 13 KB a node, when it
// still kept the whole cluster's topology (35 MB of its 113 MB live heap); 11 KB gives
// its smaller live heap about the same room. Each process's peak is about its limit: the
// first shard of 100,000 nodes peaked at 1,809 MiB under 1,918 (14 and 13 KB a node).
// GOGC in the environment wins, and GOMEMLIMIT there leaves GOGC as it is.
const (
	simMemoryBase         = 128 << 20 // runtime, listeners, buffers of the requests in flight
	simMemoryService      = 12 << 10  // per node of HSM, BSS and CFS: twice what they keep live, and 2 KB
	simMemoryBMC          = 11 << 10  // per node of the simulated BMCs
	simMemoryLimitEnvName = "GOMEMLIMIT"
	simLargeLimit         = 1 << 30
	simLargeGCPercent     = 400
)

// simGCPercent is the GOGC of a `bos sim` process under a soft memory limit of limit
// bytes: 100, Go's default, unless the limit is large or the process runs BMCs alone.
func simGCPercent(limit int64, bmcsOnly bool) int {
	if limit >= simLargeLimit || bmcsOnly {
		return simLargeGCPercent
	}
	return 100
}

// setSimGC applies simGCPercent for limit unless GOGC is set, or GOMEMLIMIT (whose limit
// this process did not size: perhaps none), and returns the GOGC in force (-1 for off).
func setSimGC(limit int64, bmcsOnly bool) int {
	if os.Getenv("GOGC") != "" || os.Getenv(simMemoryLimitEnvName) != "" {
		percent := debug.SetGCPercent(100)
		debug.SetGCPercent(percent)
		return percent
	}
	percent := simGCPercent(limit, bmcsOnly)
	debug.SetGCPercent(percent)
	return percent
}

// runsServices says whether opts runs HSM, BSS or CFS, which hold every node's records.
func runsServices(opts stack.Options) bool {
	return slices.ContainsFunc(opts.Services, func(s string) bool { return s == stack.HSM || s == stack.BSS || s == stack.CFS })
}

// bmcsOnly says whether opts runs simulated BMCs and none of HSM, BSS and CFS.
func bmcsOnly(opts stack.Options) bool {
	return slices.Contains(opts.Services, stack.BMCs) && !runsServices(opts)
}

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
	if runsServices(opts) {
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
