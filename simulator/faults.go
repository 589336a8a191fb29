package simulator

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/cray-bos/bos/internal/xname"
)

// Fault is an injected misbehaviour of a BMC or of a node. See doc.go for each one's effect.
type Fault string

// BMC faults (keyed by BMC xname).
const (
	// FaultHang: the BMC accepts connections and reads requests but never answers, until
	// the client gives up or the simulator closes.
	FaultHang Fault = "hang"
	// FaultUnreachable: the BMC's listener is closed (connection refused) and requests on
	// connections already open are cut without an answer.
	FaultUnreachable Fault = "unreachable"
	// FaultSlow: every request waits Timing.SlowLatency before it is handled.
	FaultSlow Fault = "slow"
)

// Node faults (keyed by node xname).
const (
	// FaultReset503: the node's Reset action answers 503 ServiceTemporarilyUnavailable with
	// Retry-After; nothing changes.
	FaultReset503 Fault = "reset-503"
	// FaultReset500: the node's Reset action answers 500 InternalError; nothing changes.
	FaultReset500 Fault = "reset-500"
	// FaultPowerStuck: power transitions never complete: the system stays PoweringOn or
	// PoweringOff until the fault is cleared (then the transition finishes).
	FaultPowerStuck Fault = "power-stuck"
	// FaultGracefulHang: the OS ignores GracefulShutdown, GracefulRestart and the power
	// button; the system stays On. Only ForceOff, ForceRestart and PowerCycle work.
	FaultGracefulHang Fault = "graceful-hang"
	// FaultNoReport: the node boots (OnBooted fires, CFS is told) but never reports to BOS.
	FaultNoReport Fault = "no-report"
	// FaultWrongImage: the node reports a BSS token other than the one BSS gave it.
	FaultWrongImage Fault = "wrong-image"
	// FaultKernelPanic: when the OS would come up the kernel panics and the node powers off:
	// no OnBooted, no reports.
	FaultKernelPanic Fault = "kernel-panic"
)

// faultBits index the faults in a bitmask (nodes and BMCs keep a small word, not a set).
var faultBits = map[Fault]uint16{
	FaultHang: 1 << 0, FaultUnreachable: 1 << 1, FaultSlow: 1 << 2,
	FaultReset503: 1 << 3, FaultReset500: 1 << 4, FaultPowerStuck: 1 << 5, FaultGracefulHang: 1 << 6,
	FaultNoReport: 1 << 7, FaultWrongImage: 1 << 8, FaultKernelPanic: 1 << 9,
}

// AllFaults lists every fault, BMC faults first.
var AllFaults = []Fault{FaultHang, FaultUnreachable, FaultSlow, FaultReset503, FaultReset500,
	FaultPowerStuck, FaultGracefulHang, FaultNoReport, FaultWrongImage, FaultKernelPanic}

// IsBMCFault reports whether f applies to a BMC (else to a node).
func (f Fault) IsBMCFault() bool { return f == FaultHang || f == FaultUnreachable || f == FaultSlow }

func (f Fault) bit() uint16 { return faultBits[f] }

type faultSet uint16

func (s faultSet) has(f Fault) bool { return uint16(s)&f.bit() != 0 }

func (s faultSet) list() []Fault {
	var out []Fault
	for _, f := range AllFaults {
		if s.has(f) {
			out = append(out, f)
		}
	}
	return out
}

// Faults are injected at New.
type Faults struct {
	// Set gives faults to named nodes or BMCs (the fault decides which kind of xname).
	Set map[string][]Fault
	// Rates gives a fault to a fraction of all nodes (node faults) or BMCs (BMC faults):
	// round(rate × count) members chosen by a permutation seeded with Config.Seed and the
	// fault's name, so the same seed picks the same set.
	Rates map[Fault]float64
}

func checkFault(f Fault) error {
	if _, ok := faultBits[f]; !ok {
		return fmt.Errorf("unknown fault %q", f)
	}
	return nil
}

// pickByRate returns round(rate × len(ids)) of ids, chosen reproducibly from seed and f.
func pickByRate(ids []string, f Fault, rate float64, seed int64) ([]string, error) {
	if err := checkFault(f); err != nil {
		return nil, err
	}
	if rate < 0 || rate > 1 || math.IsNaN(rate) {
		return nil, fmt.Errorf("fault %s: rate %v must be within [0, 1]", f, rate)
	}
	h := fnv.New64a()
	h.Write([]byte(f))
	rng := rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
	k := int(math.Round(rate * float64(len(ids))))
	perm := rng.Perm(len(ids))[:k]
	sort.Ints(perm)
	out := make([]string, k)
	for i, p := range perm {
		out[i] = ids[p]
	}
	return out, nil
}

// SetFault gives fault f to a node or BMC (a BMC fault needs a BMC xname, a node fault a
// node xname).
func (s *Simulator) SetFault(id string, f Fault) error { return s.changeFault(id, f, true) }

// ClearFault removes fault f from a node or BMC. Clearing FaultPowerStuck lets a held
// transition finish; clearing FaultUnreachable listens again (if Start was called).
func (s *Simulator) ClearFault(id string, f Fault) error { return s.changeFault(id, f, false) }

// SetFaultRate gives fault f to round(rate × count) nodes or BMCs chosen with seed and
// returns their xnames. Members already holding f keep it.
func (s *Simulator) SetFaultRate(f Fault, rate float64, seed int64) ([]string, error) {
	ids := s.nodeIDs
	if f.IsBMCFault() {
		ids = s.bmcIDs
	}
	picked, err := pickByRate(ids, f, rate, seed)
	if err != nil {
		return nil, err
	}
	for _, id := range picked {
		if err := s.SetFault(id, f); err != nil {
			return nil, err
		}
	}
	return picked, nil
}

// Faults returns every current fault, keyed by node or BMC xname.
func (s *Simulator) Faults() map[string][]Fault {
	out := map[string][]Fault{}
	for _, b := range s.bmcs {
		if fs := faultSet(b.faults.Load()); fs != 0 {
			out[b.xname] = fs.list()
		}
		b.mu.Lock()
		for _, n := range b.nodes {
			if n.faults != 0 {
				out[n.xname] = n.faults.list()
			}
		}
		b.mu.Unlock()
	}
	return out
}

// FaultyNodes returns the xnames holding fault f, sorted.
func (s *Simulator) FaultyNodes(f Fault) []string {
	var out []string
	for id, fs := range s.Faults() {
		if slices.Contains(fs, f) {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

func (s *Simulator) changeFault(id string, f Fault, on bool) error {
	if err := checkFault(f); err != nil {
		return err
	}
	id = xname.Normalize(id)
	if f.IsBMCFault() {
		b := s.bmcByID[id]
		if b == nil {
			return fmt.Errorf("fault %s: %q is not a BMC of this simulator", f, id)
		}
		return s.setBMCFault(b, f, on)
	}
	n := s.nodeByID[id]
	if n == nil {
		return fmt.Errorf("fault %s: %q is not a node of this simulator", f, id)
	}
	s.setNodeFault(n, f, on)
	return nil
}

// applyConfigFaults installs Config.Faults; called by New before anything runs.
func (s *Simulator) applyConfigFaults(fs Faults, seed int64) error {
	for id, list := range fs.Set {
		for _, f := range list {
			if err := s.changeFault(id, f, true); err != nil {
				return err
			}
		}
	}
	// Map order must not change which members a rate picks: sort the faults.
	rated := make([]Fault, 0, len(fs.Rates))
	for f := range fs.Rates {
		rated = append(rated, f)
	}
	slices.Sort(rated)
	for _, f := range rated {
		if _, err := s.SetFaultRate(f, fs.Rates[f], seed); err != nil {
			return err
		}
	}
	return nil
}
