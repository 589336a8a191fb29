package main

import (
	"net/http"
	_ "net/http/pprof" // served only with --pprof-listen

	"github.com/spf13/pflag"
)

// registerPprof adds the hidden --pprof-listen flag (a developer's profiling aid, e.g.
// BenchmarkScale's BENCH_PROFILE_DIR).
func registerPprof(fl *pflag.FlagSet, addr *string) {
	fl.StringVar(addr, "pprof-listen", "", "serve Go's /debug/pprof on this address (for profiling)")
	_ = fl.MarkHidden("pprof-listen")
}

// servePprof serves Go's /debug/pprof on addr, if one is given, for as long as the
// process runs.
func servePprof(addr string) {
	if addr != "" {
		go func() { _ = http.ListenAndServe(addr, nil) }() //nolint:gosec // a developer's debugging aid, off by default
	}
}
