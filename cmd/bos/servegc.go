package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
)

// bos serve trades memory for CPU in Go's garbage collector (issue 14). Its live heap is
// small (about 30 MB at 10,000 nodes) and a boot allocates it over many times, so with
// Go's default (GOGC 100: collect when the heap doubles) background marking and assists
// took 14–16% of BOS's CPU over a 10,000-node boot. At GOGC 400 the heap may grow to five
// times what is live before a collection, and a soft memory limit caps that: past it the
// collector works harder instead (docs/benchmarks.md has the figures). The environment's
// GOGC and GOMEMLIMIT, when set, win, as they do for any Go program. At 100,000 nodes
// BOS's live heap is about 400 MB (half of it the store's record cache): under a 1 GiB
// limit the collector ran about twice as often, 0.85 CPU-ms a node for BOS against 0.79
// under 2 GiB (two runs each).
const (
	serveGCPercent   = 400
	serveMemoryLimit = 2 << 30
)

// setServeGC applies serveGCPercent and serveMemoryLimit where GOGC and GOMEMLIMIT do not
// set their own, and describes the settings in force.
func setServeGC() string {
	percent, from := os.Getenv("GOGC"), "GOGC"
	if percent == "" {
		debug.SetGCPercent(serveGCPercent)
		percent, from = strconv.Itoa(serveGCPercent), "default"
	}
	limitFrom := "GOMEMLIMIT"
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(serveMemoryLimit)
		limitFrom = "default"
	}
	return fmt.Sprintf("Go GC: GOGC %s (%s), soft memory limit %d MiB (%s)", percent, from, debug.SetMemoryLimit(-1)>>20, limitFrom)
}
