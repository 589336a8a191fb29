// Package stacktest holds the settings the tests start a stack with when they measure
// orchestration rather than hardware: simulated delays vanish, retries and reports come
// quickly, and CFS configures in prompt batches. It imports no stack code, so the stack's
// own tests can use it too.
package stacktest

import (
	"time"

	"github.com/cray-bos/bos/cfs"
	"github.com/cray-bos/bos/simulator"
)

// FastTiming is the simulators' timing with hardware delays at zero, the boot script
// fetched again after 100 ms and the BOS/CFS reports backing off by 50 ms up to 500 ms.
func FastTiming() simulator.Timing {
	timing := simulator.DefaultTiming()
	timing.Scale = 0
	timing.BootScriptRetry = 100 * time.Millisecond
	timing.ReportBackoff, timing.ReportBackoffCap = 50*time.Millisecond, 500*time.Millisecond
	return timing
}

// FastFaultTiming is FastTiming for runs with faults: a hung node agent or event delivery
// gives up after 2 s and a BMC's 503 asks for a retry after 1 s.
func FastFaultTiming() simulator.Timing {
	timing := FastTiming()
	timing.HTTPTimeout = 2 * time.Second
	timing.RetryAfter = time.Second
	return timing
}

// FastCFS is CFS configuring at once, in batches of up to 500 that close 20 ms after
// their first member; seed seeds its draws (failures, session names).
func FastCFS(seed int64) cfs.Config {
	return cfs.Config{Timing: cfs.Timing{BatchWindow: 20 * time.Millisecond, BatchSize: 500, Scale: 1}, Seed: seed}
}
