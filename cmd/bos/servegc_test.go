package main

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSetServeGC(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	defer debug.SetGCPercent(debug.SetGCPercent(100))

	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	assert.Equal(t, "Go GC: GOGC 400 (default), soft memory limit 2048 MiB (default)", setServeGC())
	assert.Equal(t, serveGCPercent, debug.SetGCPercent(serveGCPercent), "in force")
	assert.Equal(t, int64(serveMemoryLimit), debug.SetMemoryLimit(-1), "in force")

	// What the runtime read from the environment at start stays.
	t.Setenv("GOGC", "150")
	t.Setenv("GOMEMLIMIT", "300MiB")
	debug.SetGCPercent(150)
	debug.SetMemoryLimit(300 << 20)
	assert.Equal(t, "Go GC: GOGC 150 (GOGC), soft memory limit 300 MiB (GOMEMLIMIT)", setServeGC())
	assert.Equal(t, 150, debug.SetGCPercent(150), "GOGC wins")
	assert.Equal(t, int64(300<<20), debug.SetMemoryLimit(-1), "GOMEMLIMIT wins")
}
