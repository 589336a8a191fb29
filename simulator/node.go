package simulator

import (
	"context"
	"sort"
	"strconv"
	"time"

	"github.com/cray-bos/bos/internal/xname"
)

// node is one ComputerSystem and the virtual machine behind it. Its mutable fields are
// guarded by bmc.mu; an idle node owns no goroutine and at most two stopped timers.
type node struct {
	xname, name, arch, systemID string
	mac                         string // the topology's MAC of the node's NIC, which HSM and BSS know it by
	mountain                    bool
	bmc                         *bmc

	power    PowerState
	steps    []Step // the rest of the pending plan; steps[0] is entered next
	graceful bool   // the pending power-off waits on the OS
	timer    *time.Timer
	timerSeq uint64 // bumped on every (re)schedule so a stale timer firing does nothing
	gen      uint64 // bumped on every PowerState change: boot work of an older power cycle stops
	etag     uint64
	faults   faultSet
	lastRst  time.Time
	slow     float64      // Config.SlowNodes factor of every hardware delay; 0 means 1
	override bootOverride // Boot.BootSourceOverride*, set by PATCH
	locator  bool         // LocationIndicatorActive

	// Virtual node (agent.go).
	progress    bootProgress
	agentTimer  *time.Timer
	bootCancel  context.CancelFunc
	boot        bootRecord
	reportedTok string
	bootCount   int
	lastBoot    time.Time
	booted      bool // the OS is up in this power cycle
	reported    bool // BOS accepted this power cycle's report
	cfsReported bool
}

// phase is what DecideReset needs.
func (n *node) phase() Phase {
	p := Phase{Power: n.power, Target: n.power, Graceful: n.graceful}
	if len(n.steps) > 0 {
		p.Target = n.steps[len(n.steps)-1].State
	}
	return p
}

// stopTimer stops the pending transition's timer; one already firing finds timerSeq
// moved on and does nothing.
func (n *node) stopTimer() {
	n.timerSeq++
	if n.timer != nil {
		n.timer.Stop()
		n.timer = nil
	}
}

// change is a PowerState change whose hook (OnPowerChange) runs once the BMC lock is
// released. Its events are queued at once, under the lock (see enter).
type change struct {
	n     *node
	state PowerState
}

// resetResult is what the HTTP layer needs to answer a Reset.
type resetResult struct {
	outcome  Outcome
	mismatch bool // If-Match given and stale: nothing was done
}

// reset runs one ComputerSystem.Reset. ifMatch is the If-Match header ("" = none).
func (s *Simulator) reset(n *node, resetType, ifMatch string) resetResult {
	b := n.bmc
	b.mu.Lock()
	if ifMatch != "" && ifMatch != "*" && ifMatch != n.etagValue() {
		b.mu.Unlock()
		return resetResult{mismatch: true}
	}
	d := DecideReset(n.phase(), resetType, PowerFaults{GracefulHangs: n.faults.has(FaultGracefulHang)})
	var changes []change
	if d.Outcome == Apply {
		n.lastRst = s.now()
		n.cancelPlan()
		n.steps, n.graceful = d.Steps, d.Graceful
		changes = s.advance(n, nil)
	}
	b.mu.Unlock()
	if d.Outcome == Apply || d.Outcome == NoOp {
		s.stats.resets.Add(1)
		if s.cfg.OnReset != nil {
			s.cfg.OnReset(n.xname, resetType)
		}
	}
	s.announce(changes)
	return resetResult{outcome: d.Outcome}
}

// cancelPlan stops the pending transition's timer (the plan itself is replaced by the caller).
func (n *node) cancelPlan() {
	n.stopTimer()
	n.steps = nil
}

// advance enters the plan's steps that wait for nothing and schedules the first that does.
// Under FaultPowerStuck a waiting step is held (not scheduled) until the fault is cleared.
// Called with b.mu held.
func (s *Simulator) advance(n *node, changes []change) []change {
	for len(n.steps) > 0 {
		st := n.steps[0]
		if st.Wait != WaitNone {
			if n.faults.has(FaultPowerStuck) {
				return changes
			}
			if d := s.nodeDelay(n, s.waitFor(st.Wait)); d > 0 {
				n.timerSeq++
				seq := n.timerSeq
				n.timer = time.AfterFunc(d, func() { s.fire(n, seq) })
				return changes
			}
		}
		n.steps = n.steps[1:]
		changes = s.enter(n, st.State, changes)
	}
	n.steps = nil
	return changes
}

func (s *Simulator) waitFor(w Wait) time.Duration {
	switch w {
	case WaitPowerOn:
		return s.timing.PowerOn
	case WaitPowerOff:
		return s.timing.PowerOff
	case WaitGraceful:
		return s.timing.GracefulShutdown
	}
	return 0
}

// fire is a transition timer expiring: enter the step it waited for and go on.
func (s *Simulator) fire(n *node, seq uint64) {
	b := n.bmc
	b.mu.Lock()
	if n.timerSeq != seq || len(n.steps) == 0 || s.ctx.Err() != nil {
		b.mu.Unlock()
		return
	}
	n.timer = nil
	st := n.steps[0]
	n.steps = n.steps[1:]
	changes := s.enter(n, st.State, nil)
	changes = s.advance(n, changes)
	b.mu.Unlock()
	s.announce(changes)
}

// enter sets a new PowerState. Leaving On ends the OS (its boot work is cancelled through
// the generation and the power cycle's context); reaching On starts the virtual node.
// Called with b.mu held.
func (s *Simulator) enter(n *node, st PowerState, changes []change) []change {
	if n.power == st {
		return changes
	}
	prev := n.power
	n.power = st
	n.gen++
	n.etag++
	if st == Off {
		n.graceful = false
	}
	if prev == On {
		n.endBoot()
		n.booted = false
		n.progress = progressNone
	}
	if st == On {
		n.override = n.override.consumed()
		s.startBoot(n)
	}
	s.stats.powerChanges.Add(1)
	// The events are queued here, under the BMC lock, so they leave in the order of the
	// changes. Queued after the unlock, a change made by another goroutine meanwhile (a
	// kernel panic at the instant of power-on) could overtake it: subscribers would get
	// Off, then a stale On.
	s.queueEvents(n, st, s.now())
	return append(changes, change{n: n, state: st})
}

// announce calls OnPowerChange, outside every lock. Hooks of changes made by different
// goroutines may run in either order; the events do not (see enter).
func (s *Simulator) announce(changes []change) {
	if s.cfg.OnPowerChange == nil {
		return
	}
	for _, c := range changes {
		s.cfg.OnPowerChange(c.n.xname, c.state.String())
	}
}

// setNodeFault flips a node fault. Clearing FaultPowerStuck resumes a held transition.
func (s *Simulator) setNodeFault(n *node, f Fault, on bool) {
	b := n.bmc
	b.mu.Lock()
	if on {
		n.faults |= faultSet(f.bit())
	} else {
		n.faults &^= faultSet(f.bit())
	}
	var changes []change
	if f == FaultPowerStuck && !on && n.timer == nil && len(n.steps) > 0 {
		changes = s.advance(n, nil)
	}
	b.mu.Unlock()
	s.announce(changes)
}

func (n *node) etagValue() string { return `W/"` + strconv.FormatUint(n.etag, 10) + `"` }

// NodeState is a copy of one virtual node's state.
type NodeState struct {
	Xname    string
	BMC      string
	SystemID string
	// Power is the Redfish PowerState: On, Off, PoweringOn, PoweringOff.
	Power string
	// BootProgress is the Redfish BootProgress.LastState the system shows.
	BootProgress string
	// Booted: the OS is up in the current power cycle.
	Booted bool
	// BootCount counts the times the OS came up; LastBoot is the latest.
	BootCount int
	LastBoot  time.Time
	// Kernel, Initrd, Params and Token come from the last boot script the node loaded
	// (kept after power-off). Token is bss_referral_token from Params.
	Kernel, Initrd, Params, Token string
	// Reported: BOS accepted the report of the current power cycle, with ReportedToken.
	Reported      bool
	ReportedToken string
	// CFSReported: CFS accepted the current power cycle's {"state": [], "enabled": true}.
	CFSReported   bool
	LastResetTime time.Time
	Faults        []Fault
}

func (n *node) state() NodeState {
	return NodeState{Xname: n.xname, BMC: n.bmc.xname, SystemID: n.systemID, Power: n.power.String(),
		BootProgress: n.progress.String(), Booted: n.booted, BootCount: n.bootCount, LastBoot: n.lastBoot,
		Kernel: n.boot.kernel, Initrd: n.boot.initrd, Params: n.boot.params, Token: n.boot.token,
		Reported: n.reported, ReportedToken: n.reportedTok, CFSReported: n.cfsReported,
		LastResetTime: n.lastRst, Faults: n.faults.list()}
}

// Node returns a copy of a node's state.
func (s *Simulator) Node(id string) (NodeState, bool) {
	n := s.nodeByID[xname.Normalize(id)]
	if n == nil {
		return NodeState{}, false
	}
	n.bmc.mu.Lock()
	defer n.bmc.mu.Unlock()
	return n.state(), true
}

// Nodes returns a copy of every node's state, sorted by xname.
func (s *Simulator) Nodes() []NodeState {
	out := make([]NodeState, 0, len(s.nodes))
	for _, b := range s.bmcs {
		b.mu.Lock()
		for _, n := range b.nodes {
			out = append(out, n.state())
		}
		b.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Xname < out[j].Xname })
	return out
}
