package main

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/cray-bos/bos/internal/stack"
	"github.com/cray-bos/bos/internal/topology"
)

func TestSimMemoryLimit(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name                   string
		serviceNodes, bmcNodes int
		wantMiB                int64
	}{
		{"nothing", 0, 0, 128},
		{"10,000 nodes in one process", 10000, 10000, 128 + 224},
		{"first of three shards of 100,000", 100000, 33334, 128 + 1529},
		{"one of the other shards", 0, 33333, 128 + 358},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.wantMiB, simMemoryLimit(tc.serviceNodes, tc.bmcNodes)/mib)
		})
	}
}

func TestSetSimMemoryLimit(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	topo, err := topology.Generate(topology.Options{Compute: 1000})
	if err != nil {
		t.Fatal(err)
	}
	part, err := topo.Shard(1, 4)
	if err != nil {
		t.Fatal(err)
	}
	n, shardN := len(topo.Nodes), len(part.Topology.Nodes)

	t.Setenv(simMemoryLimitEnvName, "")
	for _, tc := range []struct {
		name     string
		services []string
		shard    *topology.Shard
		want     int64
	}{
		{"every simulator", stack.Simulators, nil, simMemoryLimit(n, n)},
		{"services and a shard of BMCs", stack.Simulators, &part, simMemoryLimit(n, shardN)},
		{"a shard of BMCs alone", []string{stack.BMCs}, &part, simMemoryLimit(0, shardN)},
		{"HSM alone", []string{stack.HSM}, nil, simMemoryLimit(n, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := setSimMemoryLimit(stack.Options{Topology: topo, Shard: tc.shard, Services: tc.services})
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.want, debug.SetMemoryLimit(-1), "in force")
		})
	}

	t.Setenv(simMemoryLimitEnvName, "300MiB")
	debug.SetMemoryLimit(300 << 20) // what the runtime read from GOMEMLIMIT at start
	assert.Equal(t, int64(300<<20), setSimMemoryLimit(stack.Options{Topology: topo, Services: stack.Simulators}), "GOMEMLIMIT wins")
}

func TestSimGCPercent(t *testing.T) {
	assert.Equal(t, 100, simGCPercent(simMemoryLimit(10000, 10000), false), "10,000 nodes in one process: Go's default")
	assert.Equal(t, 100, simGCPercent(simMemoryLimit(10000, 0), false), "services alone for 10,000 nodes")
	assert.Equal(t, 400, simGCPercent(simMemoryLimit(0, 33334), true), "a shard of a third of 100,000 BMCs: paced by its limit")
	assert.Equal(t, 400, simGCPercent(simMemoryLimit(0, 1000), true), "a small shard of BMCs alone")
	assert.Equal(t, 400, simGCPercent(simMemoryLimit(100000, 33334), false), "the first of three shards of 100,000: paced by its limit")
	assert.Equal(t, 400, simGCPercent(simMemoryLimit(40000, 40000), false), "40,000 nodes in one process")
}

func TestBMCsOnly(t *testing.T) {
	assert.True(t, bmcsOnly(stack.Options{Services: []string{stack.BMCs}}))
	assert.False(t, bmcsOnly(stack.Options{Services: stack.Simulators}), "every simulator")
	assert.False(t, bmcsOnly(stack.Options{Services: []string{stack.BMCs, stack.CFS}}))
	assert.False(t, bmcsOnly(stack.Options{Services: []string{stack.IMS}}), "no BMCs")
}

func TestSetSimGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	t.Setenv(simMemoryLimitEnvName, "")
	assert.Equal(t, 400, setSimGC(2<<30, false))
	assert.Equal(t, 400, debug.SetGCPercent(100), "in force")
	assert.Equal(t, 100, setSimGC(300<<20, false))
	assert.Equal(t, 100, debug.SetGCPercent(100), "in force")
	assert.Equal(t, 400, setSimGC(300<<20, true), "BMCs alone")
	assert.Equal(t, 400, debug.SetGCPercent(100), "in force")

	debug.SetGCPercent(150) // what the runtime read from GOGC at start
	t.Setenv("GOGC", "150")
	assert.Equal(t, 150, setSimGC(2<<30, false), "GOGC wins")
	t.Setenv("GOGC", "")
	t.Setenv(simMemoryLimitEnvName, "off")
	assert.Equal(t, 150, setSimGC(1<<62, false), "GOMEMLIMIT, perhaps off: GOGC left as it is")
	assert.Equal(t, 150, debug.SetGCPercent(100), "in force")
}

// A process of BMCs alone keeps only its shard's part of the topology; one that runs the
// services keeps the whole cluster, which they serve.
func TestSetShardKeepsOnlyThePartForBMCsAlone(t *testing.T) {
	topo, err := topology.Generate(topology.Options{Compute: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		services  []string
		wantWhole bool
	}{
		{"a shard of BMCs alone", []string{stack.BMCs}, false},
		{"services and a shard of BMCs", stack.Simulators, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := stack.Options{Topology: topo, Services: tc.services}
			if err := setShard(&opts, 1, 4); err != nil {
				t.Fatal(err)
			}
			assert.Equal(t, 1, opts.Shard.Index)
			assert.Equal(t, len(topo.BMCs), opts.Shard.WholeBMCs)
			if tc.wantWhole {
				assert.Same(t, topo, opts.Topology)
			} else {
				assert.Same(t, opts.Shard.Topology, opts.Topology)
			}
		})
	}
	opts := stack.Options{Topology: topo, Services: []string{stack.BMCs}}
	assert.Error(t, setShard(&opts, 4, 4), "no such shard")
}
