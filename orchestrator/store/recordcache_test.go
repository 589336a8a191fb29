package store

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/cray-bos/bos/orchestrator"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The record cache stays within its bytes, evicting the oldest entries first, and a record
// written over and over does not grow it.
func TestRecordCacheBounded(t *testing.T) {
	raw := strings.Repeat("r", 1000)
	limit := 10 * entrySize("x0000", raw)
	c := newRecordCache(limit)
	for i := range 25 {
		c.put(fmt.Sprintf("x%04d", i), raw, nil)
		_, size := c.len()
		require.LessOrEqual(t, size, limit)
	}
	n, _ := c.len()
	assert.Equal(t, 10, n)
	_, ok := c.get("x0014")
	assert.False(t, ok, "evicted, oldest first")
	got, ok := c.get("x0015")
	assert.True(t, ok)
	assert.Equal(t, raw, got)

	// Rewriting one record keeps one entry, its latest bytes, and a short queue.
	for i := range 10000 {
		c.put("x0024", fmt.Sprintf("%s%04d", raw[4:], i), nil) // the same size
	}
	got, _ = c.get("x0024")
	assert.Equal(t, raw[4:]+"9999", got)
	n, size := c.len()
	assert.Equal(t, 10, n)
	assert.LessOrEqual(t, size, limit)
	assert.Less(t, len(c.fifo)-c.head, 2*n+65)
	assert.Less(t, cap(c.fifo), 1000)
	_, ok = c.get("x0015")
	assert.True(t, ok, "rewrites of x0024 pushed nothing else out")

	c.drop("x0024")
	_, ok = c.get("x0024")
	assert.False(t, ok)
	c.put("big", strings.Repeat("b", limit), nil)
	_, ok = c.get("big")
	assert.False(t, ok, "an entry larger than the cache is not kept")

	var none *recordCache // RecordCacheBytes < 0
	none.put("x", "y", nil)
	_, ok = none.get("x")
	assert.False(t, ok)
}

// The default cache remembers every record of a 100,000-node boot, so each node's report
// knows its record's bytes: at 32 MiB it held about a sixth of them at 100,000 nodes, and
// the reports read first (a second round trip: BOS's report path cost 172 µs CPU a node
// there against 120 with every record remembered).
func TestRecordCacheDefaultHoldsAHundredThousandNodes(t *testing.T) {
	// A node mid-boot: desired and actual artifacts the same image, with the kernel
	// parameters of the simulated compute image and what BOS adds to them.
	params := "console=ttyS0,115200 bad_page=panic crashkernel=360M hugepagelist=2m-2g intel_iommu=off " +
		"intel_pstate=disable iommu.passthrough=on numa_interleave_omit=headless oops=panic pageblock_order=14 " +
		"rd.neednet=1 rd.retry=10 rd.shell split_lock_detect=off ip=dhcp quiet spire_join_token=${SPIRE_JOIN_TOKEN} " +
		"root=craycps-s3:s3://boot-images/2f3a6c1e-8d1b-4b6e-9a3c-5e7f0d2c4b1a/rootfs:3f1c9a7e2b5d8c4f6a0e1b3d5c7e9f2a-217:dvs:api-gw-service-nmn.local:300:nmn0 " +
		"nmd_data=url=s3://boot-images/2f3a6c1e-8d1b-4b6e-9a3c-5e7f0d2c4b1a/rootfs,etag=3f1c9a7e2b5d8c4f6a0e1b3d5c7e9f2a-217 bos_update_frequency=4h"
	artifacts := orchestrator.BootArtifacts{
		Kernel:           "s3://boot-images/2f3a6c1e-8d1b-4b6e-9a3c-5e7f0d2c4b1a/kernel",
		KernelParameters: params,
		Initrd:           "s3://boot-images/2f3a6c1e-8d1b-4b6e-9a3c-5e7f0d2c4b1a/initrd",
	}
	now := time.Date(2026, 12, 6, 21, 0, 0, 123456789, time.UTC)
	c := orchestrator.Component{
		ID:           "x1000c7s7b1n1",
		ActualState:  orchestrator.ActualState{BootArtifacts: artifacts, BSSToken: "0d9c4a3e-5b6f-4e7d-8c9a-1b2c3d4e5f60", LastUpdated: now},
		DesiredState: orchestrator.DesiredState{BootArtifacts: artifacts, Configuration: "compute-config", BSSToken: "0d9c4a3e-5b6f-4e7d-8c9a-1b2c3d4e5f60", LastUpdated: now},
		StagedState:  orchestrator.StagedState{LastUpdated: now},
		LastAction:   orchestrator.LastAction{Action: orchestrator.ActionPoweringOn, LastUpdated: now, InFlight: "bos-7c9f5d8b4-x2x7q"},
		EventStats:   orchestrator.EventStats{PowerOnAttempts: 1},
		Status:       orchestrator.ComponentStatus{Phase: orchestrator.PhasePoweringOn},
		Enabled:      true,
		Session:      "3b8e6f2a-1c4d-4e5f-8a9b-0c1d2e3f4a5b",
	}
	c.RefreshStatus()
	raw, err := encodeComponent(&c)
	require.NoError(t, err)
	assert.Greater(t, len(raw), 1500, "a record as large as the benchmark's")
	d, ok := asDecoded(&c)
	require.True(t, ok)
	_, ok = compact(&d, string(raw))
	require.True(t, ok, "kept decoded")
	assert.LessOrEqual(t, 100_000*(entrySize(c.ID, string(raw))+decodedSize), DefaultRecordCacheBytes,
		"with the records decoded")
}

// The cache counts a record's decoding (its compact form). A decoding that does not fit,
// or whose strings the bytes do not hold as they are, is not kept; the bytes are.
func TestRecordCacheCountsDecodings(t *testing.T) {
	comp := orchestrator.Component{ID: "x1", Error: strings.Repeat("e", 100), Session: "s1", RetryPolicy: new(2),
		ActualState: orchestrator.ActualState{LastUpdated: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)}}
	raw, err := encodeComponent(&comp)
	require.NoError(t, err)
	rs := string(raw)

	c := newRecordCache(1 << 20)
	c.put("x1", rs, new(comp.Clone()))
	_, size := c.len()
	assert.Equal(t, entrySize("x1", rs)+decodedSize, size)
	got, ok := c.decoded("x1", rs)
	require.True(t, ok)
	assert.Equal(t, comp, got)
	for _, s := range stringFields(&got) {
		assert.False(t, inside(*s, rs), "a record handed out keeps no part of the entry's bytes alive: %q", *s)
	}
	_, ok = c.decoded("x1", rs+" ")
	assert.False(t, ok, "other bytes")

	// A string raw does not hold as it is (escaped): the bytes only.
	esc := orchestrator.Component{ID: "x2", Error: `say "no"`}
	escRaw, err := encodeComponent(&esc)
	require.NoError(t, err)
	c.put("x2", string(escRaw), new(esc.Clone()))
	_, size2 := c.len()
	assert.Equal(t, entrySize("x2", string(escRaw)), size2-size)
	_, ok = c.decoded("x2", string(escRaw))
	assert.False(t, ok)

	// Bytes read (learn): counted the same; bytes that are no longer the entry's are not
	// learnt.
	c.put("x3", rs, nil)
	_, before := c.len()
	c.learn("x3", rs+" ", new(comp.Clone()))
	_, after := c.len()
	assert.Equal(t, before, after)
	_, ok = c.decoded("x3", rs)
	assert.False(t, ok)
	c.learn("x3", strings.Clone(rs) /* the same bytes, read again */, new(comp.Clone()))
	_, after = c.len()
	assert.Equal(t, before+decodedSize, after)
	got, ok = c.decoded("x3", rs)
	assert.True(t, ok)
	assert.Equal(t, comp, got)

	// An entry whose decoding would not fit keeps its bytes only.
	small := newRecordCache(entrySize("x1", rs) + 10)
	small.put("x1", rs, new(comp.Clone()))
	n, size := small.len()
	assert.Equal(t, 1, n)
	assert.Equal(t, entrySize("x1", rs), size)
	_, ok = small.decoded("x1", rs)
	assert.False(t, ok)
}

// A rebuilt record's strings that were one string of the bytes are one copy.
func TestCompactRecordCopiesOnce(t *testing.T) {
	art := orchestrator.BootArtifacts{Kernel: "s3://k", KernelParameters: strings.Repeat("console=ttyS0 ", 50), Initrd: "s3://i"}
	comp := orchestrator.Component{ID: "x1", ActualState: orchestrator.ActualState{BootArtifacts: art}}
	raw, err := encodeComponent(&comp)
	require.NoError(t, err)
	cr, ok := compact(&comp, string(raw))
	require.True(t, ok)
	got := cr.component(string(raw))
	assert.Equal(t, comp, got)
	rs := string(raw)
	assert.Equal(t, 4.0, testing.AllocsPerRun(100, func() { _ = cr.component(rs) }), "the 3 artifacts and the id")
}

// inside reports whether s's bytes are part of raw's.
func inside(s, raw string) bool {
	p, r := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.StringData(raw)))
	return len(s) > 0 && p >= r && p+uintptr(len(s)) <= r+uintptr(len(raw))
}
