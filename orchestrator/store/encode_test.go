package store

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/orchestrator"
)

// TestEncodeComponentAsJSONMarshal: the hand encoder writes what json.Marshal writes, on
// random records holding every kind of string and time the encoders treat apart.
func TestEncodeComponentAsJSONMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		c := randomComponent(r)
		want, wantErr := json.Marshal(&c)
		got, err := encodeComponent(&c)
		if wantErr != nil {
			require.Error(t, err, "case %d: %+v", i, c)
			continue
		}
		require.NoError(t, err, "case %d", i)
		require.Equal(t, string(want), string(got), "case %d", i)
	}
}

// TestEncodeComponentKnowsEveryField fails when Component grows a field: a record with
// every field set encodes to as many keys as json.Marshal's.
func TestEncodeComponentKnowsEveryField(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var c orchestrator.Component
	for c.RetryPolicy == nil || c.LastAction.InFlight == "" || c.Status.Status == "" || c.ActualState.LastUpdated.IsZero() {
		c = randomComponent(r)
	}
	want, err := json.Marshal(&c)
	require.NoError(t, err)
	got, err := encodeComponent(&c)
	require.NoError(t, err)
	var w, g map[string]any
	require.NoError(t, json.Unmarshal(want, &w))
	require.NoError(t, json.Unmarshal(got, &g))
	require.Equal(t, w, g)
}

func randomComponent(r *rand.Rand) orchestrator.Component {
	strs := []string{"", "x3000c0s1b0n0", "s3://boot-images/1f3a/kernel", "console=ttyS0 ip=dhcp quiet",
		"a\"b\\c", "<&>", "tab\there", "\x00\x1f", "é ü", "\u2028\u2029", "\xff\xfe bad utf8", "powering_on",
		"bos-1234 in flight", "ok\x7f"}
	s := func() string { return strs[r.IntN(len(strs))] }
	zones := []*time.Location{time.UTC, time.FixedZone("", 2*3600), time.FixedZone("X", -7*3600-30*60), time.Local}
	tm := func() time.Time {
		switch r.IntN(6) {
		case 0:
			return time.Time{}
		case 1:
			return time.Date(r.IntN(3)*9999/2, 1, 1, 0, 0, 0, 0, time.UTC) // year 0 and 9999
		case 2:
			if r.IntN(4) == 0 {
				return time.Date(10000+r.IntN(2)*(-10001), 1, 1, 0, 0, 0, 0, time.UTC) // json.Marshal refuses
			}
		}
		return time.Date(2000+r.IntN(30), time.Month(1+r.IntN(12)), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60),
			[]int{0, 500, 123456789, 100000000}[r.IntN(4)], zones[r.IntN(len(zones))])
	}
	art := func() orchestrator.BootArtifacts {
		return orchestrator.BootArtifacts{Kernel: s(), KernelParameters: s(), Initrd: s()}
	}
	c := orchestrator.Component{
		ID:           s(),
		ActualState:  orchestrator.ActualState{BootArtifacts: art(), BSSToken: s(), LastUpdated: tm()},
		DesiredState: orchestrator.DesiredState{BootArtifacts: art(), Configuration: s(), BSSToken: s(), LastUpdated: tm()},
		StagedState:  orchestrator.StagedState{BootArtifacts: art(), Configuration: s(), Session: s(), LastUpdated: tm()},
		EventStats:   orchestrator.EventStats{PowerOnAttempts: r.IntN(5), PowerOffGracefulAttempts: r.IntN(3) - 1, PowerOffForcefulAttempts: r.IntN(1 << 20)},
		Status:       orchestrator.ComponentStatus{Phase: s(), Status: s(), StatusOverride: s()},
		Enabled:      r.IntN(2) == 0,
		Error:        s(),
		Session:      s(),
	}
	if r.IntN(3) > 0 {
		c.LastAction = orchestrator.LastAction{Action: s(), Failed: r.IntN(2) == 0, LastUpdated: tm(), InFlight: s()}
	}
	if r.IntN(2) == 0 {
		n := r.IntN(7) - 1
		c.RetryPolicy = &n
	}
	return c
}

func BenchmarkEncodeComponent(b *testing.B) {
	now := time.Now().UTC()
	c := orchestrator.Component{ID: "x3000c0s1b0n0",
		ActualState: orchestrator.ActualState{BootArtifacts: orchestrator.BootArtifacts{Kernel: "s3://boot-images/abc/kernel",
			KernelParameters: "console=ttyS0,115200 bad_page=panic crashkernel=360M ip=dhcp root=craycps-s3:s3://boot-images/abc/rootfs",
			Initrd:           "s3://boot-images/abc/initrd"}, BSSToken: "0f0e0d0c-0b0a-0908-0706-050403020100", LastUpdated: now},
		LastAction: orchestrator.LastAction{Action: "powering_on", LastUpdated: now, InFlight: "bos-1"},
		Status:     orchestrator.ComponentStatus{Phase: "configuring", Status: "configuring"}, Enabled: true, Session: "session-1"}
	c.DesiredState = orchestrator.DesiredState{BootArtifacts: c.ActualState.BootArtifacts, Configuration: "cos-config", BSSToken: c.ActualState.BSSToken, LastUpdated: now}
	b.Run("json.Marshal", func(b *testing.B) {
		for b.Loop() {
			_, _ = json.Marshal(&c)
		}
	})
	b.Run("encodeComponent", func(b *testing.B) {
		for b.Loop() {
			_, _ = encodeComponent(&c)
		}
	})
}

// TestAsDecodedIsTheDecoding: what the record cache keeps for a record it writes is what
// decoding the record's bytes gives, to the bit, and so is the record rebuilt from its
// compact form; a record it cannot tell about is not kept.
func TestAsDecodedIsTheDecoding(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	kept, compacted := 0, 0
	for i := range 20000 {
		c := randomComponent(r)
		if r.IntN(2) == 0 {
			c.ActualState.LastUpdated = time.Now() // a monotonic reading
		}
		if r.IntN(2) == 0 { // strings the bytes hold as they are: compact records
			for _, s := range stringFields(&c) {
				if !plainJSONString(*s) {
					*s = "plain"
				}
			}
		}
		raw, err := encodeComponent(&c)
		if err != nil {
			continue
		}
		want, err := decodeComponent(raw)
		require.NoError(t, err)
		got, ok := asDecoded(&c)
		if !ok {
			continue
		}
		kept++
		require.True(t, reflect.DeepEqual(want, got), "case %d:\n%#v\n%#v", i, want, got)
		cr, ok := compact(&got, string(raw))
		if !ok {
			continue
		}
		compacted++
		rebuilt := cr.component(string(raw))
		require.True(t, reflect.DeepEqual(want, rebuilt), "case %d, rebuilt:\n%#v\n%#v", i, want, rebuilt)
	}
	assert.Greater(t, kept, 1000)
	assert.Greater(t, compacted, 500)
}

// plainJSONString, 8 bytes at a time, takes every byte at every place of a word and of
// the tail as printable ASCII that encoding/json writes as it is.
func TestPlainJSONString(t *testing.T) {
	for c := range 256 {
		b, err := json.Marshal(string([]byte{'a', byte(c)}))
		require.NoError(t, err)
		want := c >= 0x20 && c < 0x7f && len(b) == 4 // `"a` + c + `"`: c as it is
		for at := range 19 {
			s := []byte(strings.Repeat("a", 19))
			s[at] = byte(c)
			require.Equal(t, want, plainJSONString(string(s)), "byte %#x at %d", c, at)
		}
	}
	assert.True(t, plainJSONString(""))
}

// A record's encoding is one allocation of about its size, however long its strings.
func TestEncodeComponentAllocatesOnce(t *testing.T) {
	c := orchestrator.Component{ID: "x1", Session: "s1",
		ActualState: orchestrator.ActualState{BootArtifacts: orchestrator.BootArtifacts{
			Kernel: "s3://k", KernelParameters: strings.Repeat("console=ttyS0 ", 150), Initrd: "s3://i"}, LastUpdated: time.Now()}}
	c.DesiredState.BootArtifacts = c.ActualState.BootArtifacts
	raw, err := encodeComponent(&c)
	require.NoError(t, err)
	assert.LessOrEqual(t, cap(raw), len(raw)+encodedKeysSize)
	assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() { _, _ = encodeComponent(&c) }))
}

// A write's history entries are encoded into one element as they are found: one
// allocation however many.
func TestHistoryOfAllocatesOnce(t *testing.T) {
	s := &Store{historyMax: 8}
	old := &orchestrator.Component{ID: "x1", Session: "s1", Enabled: true}
	old.RefreshStatus()
	cur := old.Clone()
	cur.Status.Phase, cur.Error = orchestrator.PhasePoweringOn, "e"
	cur.RefreshStatus()
	elem := s.historyOf(old, &cur)
	got, err := decodeHistory(nil, string(elem))
	require.NoError(t, err)
	want := orchestrator.ComponentChanges(old, &cur, time.Unix(0, 0))
	require.Len(t, want, 3, "phase, status, error")
	for i := range got {
		got[i].Time = want[i].Time
	}
	assert.Equal(t, want, got)
	assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() { _ = s.historyOf(old, &cur) }))
}
