package slurmsim

import (
	"fmt"
	"strings"
	"time"

	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/api/slurmapi/hostlist"
)

// Reboot applies a reboot request per Slurm 22.05's _slurm_rpc_reboot_nodes (reference
// section 3.1). Every node is checked before any changes; nodes that already have a
// reboot requested or issued are silently skipped. The reboot itself is issued by a
// later Tick once a node is idle (or DOWN).
func (s *Server) Reboot(req slurmapi.RebootRequest) error {
	if s.cfg.RebootProgram == nil {
		return invalidf(0, "RebootProgram isn't defined")
	}
	if strings.TrimSpace(req.Nodes) == "" {
		return invalidf(0, "Missing node list. Specify ALL|<NodeList>")
	}
	next := slurmapi.NextNone
	if req.NextState != "" {
		var err error
		if next, err = slurmapi.ParseNextState(req.NextState); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	nodes, err := s.resolve(req.Nodes)
	if err != nil {
		return err
	}
	now := s.now()
	var changed []string
	ready := false
	for _, n := range nodes {
		if n.flags&(slurmapi.FlagRebootRequested|slurmapi.FlagRebootIssued) != 0 {
			continue
		}
		ready = ready || n.readyToReboot()
		n.flags |= slurmapi.FlagRebootRequested
		n.next = next
		if req.Reason != "" {
			s.setReason(n, req.Reason, req.User, now)
		}
		if req.ASAP {
			if n.next == slurmapi.NextNone {
				n.next = slurmapi.NextResume
			}
			if n.flags&slurmapi.FlagDrain == 0 {
				n.undrain = true
			}
			n.flags |= slurmapi.FlagDrain
			if n.reason == "" {
				s.setReason(n, "Reboot ASAP", req.User, now)
			}
		}
		if n.reason == "" {
			s.setReason(n, "reboot requested", req.User, now)
		}
		s.stats.RebootsRequested++
		s.record(n, now, causeRebootRequested)
		changed = append(changed, n.name)
	}
	if len(changed) > 0 {
		s.cfg.Logger.Info("reboot request queued", "nodes", hostlist.Compress(changed), "asap", req.ASAP, "nextstate", next.String())
	}
	if ready && !s.cfg.JobsWinRebootRace { // the race: jobs take idle nodes first at the tick
		select {
		case s.ready <- struct{}{}:
		default:
		}
	}
	return nil
}

// CancelReboot is `scontrol cancel_reboot <nodes>`: a requested (not yet issued) reboot
// is dropped, and the drain an ASAP request added is removed with its reason. Nodes whose
// reboot is already issued are reported with ESLURM_REBOOT_IN_PROGRESS's message while
// the others are still cancelled, as slurmctld does.
func (s *Server) CancelReboot(nodes string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ns, err := s.resolve(nodes)
	if err != nil {
		return err
	}
	return s.cancelReboots(ns, s.now())
}

func (s *Server) cancelReboots(ns []*node, now time.Time) error {
	var err error
	for _, n := range ns {
		if n.flags&slurmapi.FlagRebootIssued != 0 {
			err = conflictf(0, "REBOOT on node %s already in progress -- unable to cancel", n.name)
			continue
		}
		if n.flags&slurmapi.FlagRebootRequested == 0 {
			continue
		}
		n.flags &^= slurmapi.FlagRebootRequested
		if n.undrain {
			n.flags &^= slurmapi.FlagDrain
		}
		n.next, n.undrain = slurmapi.NextNone, false
		n.clearReasonIfUp()
		s.stats.RebootsCancelled++
		s.record(n, now, causeRebootCancelled)
	}
	return err
}

// issueReboots is _queue_reboot_msg (reference 3.2): every requested node that is idle
// and responding, or DOWN, becomes DOWN+REBOOT_ISSUED (flags kept) with " : reboot
// issued" appended to its reason. The batch is returned in NodeName order.
func (s *Server) issueReboots(now time.Time) []string {
	var batch []string
	for _, n := range s.nodes {
		if n.flags&slurmapi.FlagRebootRequested == 0 {
			continue
		}
		if !n.readyToReboot() {
			continue
		}
		n.down = true
		n.flags = n.flags&^slurmapi.FlagRebootRequested | slurmapi.FlagRebootIssued
		n.bootReqTime = now
		n.reason += " : reboot issued"
		n.reasonTime = now
		s.stats.RebootsIssued++
		s.record(n, now, causeRebootIssued)
		batch = append(batch, n.name)
	}
	if len(batch) > 0 {
		s.cfg.Logger.Debug("debug: Issuing reboot request for nodes " + hostlist.Compress(batch))
	}
	return batch
}

// readyToReboot: a requested reboot is issued now (not completing; idle and responding,
// or DOWN).
func (n *node) readyToReboot() bool {
	st := n.state()
	if st.Has(slurmapi.FlagCompleting) {
		return false
	}
	idle := st.Base == slurmapi.StateIdle && n.flags&slurmapi.FlagNotResponding == 0
	return idle || st.Base == slurmapi.StateDown
}

// checkRebootTimeouts is check_reboot_nodes (reference 3.5): an issued reboot older than
// ResumeTimeout leaves the node DOWN with " : reboot timed out", without DRAIN.
func (s *Server) checkRebootTimeouts(now time.Time) {
	for _, n := range s.nodes {
		if n.flags&slurmapi.FlagRebootIssued == 0 || !now.After(n.bootReqTime.Add(s.cfg.ResumeTimeout)) {
			continue
		}
		n.flags &^= slurmapi.FlagRebootIssued | slurmapi.FlagDrain
		n.next, n.undrain = slurmapi.NextNone, false
		n.down, n.downByAdmin = true, false
		n.reason += " : reboot timed out"
		n.reasonTime = now
		s.stats.RebootsTimedOut++
		s.cfg.Logger.Error(fmt.Sprintf("error: Node %s: reboot timed out (ResumeTimeout %s)", n.name, s.cfg.ResumeTimeout))
		s.record(n, now, causeRebootTimedOut)
	}
}

// NodeRegistered is a slurmd registering with the controller after it started; bootTime
// is when the node's OS booted. While the node's reboot is issued, a boot time older than
// the reboot request is ignored ("still waiting for boot"); a newer one completes the
// reboot (reference 3.4): REBOOT_ISSUED cleared, DRAIN cleared if a nextstate was given,
// then DOWN with " : reboot complete" for nextstate=DOWN, else back in service.
//
// A new boot the controller did not ask for, on a node that is not DOWN, is an
// unexpected reboot: the node's jobs fail and, unless ReturnToService=2 (or the boot
// predates the controller's last contact), the node goes DOWN ("Node unexpectedly
// rebooted ..."). A DOWN node registering is subject to ReturnToService.
func (s *Server) NodeRegistered(name string, bootTime time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.byName[name]
	if !ok {
		return errInvalidNode()
	}
	now := s.now()
	s.account(now)
	prevBoot, prevResp := n.bootTime, n.lastResp
	n.slurmdUp, n.lastResp, n.slurmdStart = true, now, now
	n.bootTime = bootTime
	n.flags &^= slurmapi.FlagNotResponding
	rebooted := bootTime.After(prevBoot) && !prevBoot.IsZero()

	switch {
	case n.flags&slurmapi.FlagRebootIssued != 0:
		// slurmctld keeps both times in whole seconds: a boot in the request's second counts.
		if bootTime.Truncate(time.Second).Before(n.bootReqTime.Truncate(time.Second)) {
			s.record(n, now, causeRegistered) // still waiting for boot
			return nil
		}
		s.completeReboot(n, now)
	case n.unknown:
		n.unknown = false
		s.record(n, now, causeRegistered)
	case rebooted && !n.down:
		// The node rebooted although the controller did not ask: its jobs died with it.
		s.stats.UnexpectedReboots++
		s.stats.JobsKilledByReboot += len(n.jobs)
		s.cfg.Logger.Info(fmt.Sprintf("Node %s rebooted %d secs ago", n.name, int(now.Sub(bootTime).Seconds())))
		s.record(n, now, causeBootedUnexpectedly)
		if s.cfg.ReturnToService != 2 && bootTime.After(prevResp) {
			s.setDown(n, now, fmt.Sprintf("Node unexpectedly rebooted boot_time=%d last response=%d",
				bootTime.Unix(), prevResp.Unix()), "slurm", false, causeRegistered)
			return nil
		}
		for len(n.jobs) > 0 {
			s.killJob(n.jobs[0], slurmapi.JobNodeFail, now)
		}
		s.record(n, now, causeRegistered)
	default:
		s.record(n, now, causeRegistered)
		if n.down && s.returnsToService(n) {
			s.returnToService(n, now, causeReturnToService)
		}
	}
	return nil
}

// completeReboot is the return-to-service path of an issued reboot.
func (s *Server) completeReboot(n *node, now time.Time) {
	n.flags &^= slurmapi.FlagRebootIssued
	if n.next != slurmapi.NextNone {
		n.flags &^= slurmapi.FlagDrain
	}
	if n.next == slurmapi.NextDown {
		n.down, n.downByAdmin = true, true
		n.reason += " : reboot complete"
		n.reasonTime = now
	} else {
		n.down, n.downByAdmin = false, false
		n.clearReasonIfUp()
		s.cfg.Logger.Info(fmt.Sprintf("node %s returned to service", n.name))
	}
	n.next, n.undrain = slurmapi.NextNone, false
	s.stats.RebootsCompleted++
	s.record(n, now, causeRebootComplete)
}

// SlurmdStopped tells the controller a node's slurmd went away (node powered off or
// crashed): it is NOT_RESPONDING from the next Tick and DOWN after SlurmdTimeout.
func (s *Server) SlurmdStopped(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.byName[name]
	if !ok {
		return errInvalidNode()
	}
	n.slurmdUp = false
	return nil
}

// OnBooted has the signature of the node simulator's boot hook: a node (by xname) whose
// OS came up at `at` registers its slurmd. Xnames that are not Slurm nodes are ignored.
func (s *Server) OnBooted(xname string, at time.Time) {
	if name, ok := s.nameOfXname(xname); ok {
		_ = s.NodeRegistered(name, at)
	}
}

// OnPowerChange has the signature of the node simulator's power hook: powering off stops
// the node's slurmd.
func (s *Server) OnPowerChange(xname, state string) {
	switch strings.ToLower(state) {
	case "off", "poweringoff":
		if name, ok := s.nameOfXname(xname); ok {
			_ = s.SlurmdStopped(name)
		}
	}
}

func (s *Server) nameOfXname(xname string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.byXname[xname]
	if !ok {
		return "", false
	}
	return n.name, true
}

// Update states accepted by UpdateNode.
var updateStates = []string{"CANCEL_REBOOT", "DOWN", "DRAIN", "FAIL", "RESUME", "UNDRAIN"}

// UpdateNode changes node state like `scontrol update` (reference 3.7): DRAIN and FAIL
// stop new jobs (running ones finish), DOWN fails running jobs, RESUME clears DRAIN,
// FAIL, DOWN and pending or issued reboots (a node coming out of DOWN is IDLE+
// NOT_RESPONDING until its slurmd answers), UNDRAIN clears DRAIN only. A node RESUME
// does not apply to gets "Invalid node state specified" while the others still change.
func (s *Server) UpdateNode(u slurmapi.NodeUpdate) error {
	state := strings.ToUpper(strings.TrimSpace(u.State))
	valid := state == ""
	for _, v := range updateStates {
		valid = valid || state == v
	}
	if !valid {
		return invalidf(0, "Invalid input: State=%s\nRequest aborted\nValid states are: %s", u.State, strings.Join(updateStates, " "))
	}
	if (state == "DRAIN" || state == "DOWN" || state == "FAIL") && u.Reason == "" {
		return invalidf(0, "You must specify a reason when DOWNING or DRAINING a node. Request denied")
	}
	if state == "" && u.Reason == "" && u.Weight == 0 {
		return invalidf(0, "No changes specified: give State=, Reason= and/or Weight=")
	}
	if u.Weight < 0 {
		return invalidf(0, "Invalid weight: %d", u.Weight)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	nodes, err := s.resolve(u.Nodes)
	if err != nil {
		return err
	}
	now := s.now()
	s.account(now)
	if u.Weight > 0 {
		for _, n := range nodes {
			n.weight = u.Weight
			for _, p := range n.parts {
				p.byWeight = nil
			}
		}
		if state == "" && u.Reason == "" {
			return nil // the weight is not part of the recorded state
		}
	}
	if state == "CANCEL_REBOOT" {
		return s.cancelReboots(nodes, now)
	}
	cause := "update State=" + state
	var failed error
	for _, n := range nodes {
		switch state {
		case "DRAIN":
			n.flags |= slurmapi.FlagDrain
			n.undrain = false // an administrator's drain outlives a cancelled ASAP reboot
		case "FAIL":
			n.flags |= slurmapi.FlagFail
		case "DOWN":
			s.setDown(n, now, u.Reason, u.User, true, cause)
		case "UNDRAIN":
			n.flags &^= slurmapi.FlagDrain
			n.undrain = false
			n.clearReasonIfUp()
		case "RESUME":
			if !n.down && n.flags&(slurmapi.FlagDrain|slurmapi.FlagFail|slurmapi.FlagRebootRequested|slurmapi.FlagRebootIssued) == 0 {
				failed = conflictf(0, "Invalid node state specified")
				continue
			}
			n.flags &^= slurmapi.FlagDrain | slurmapi.FlagFail | slurmapi.FlagRebootRequested | slurmapi.FlagRebootIssued
			n.next, n.undrain = slurmapi.NextNone, false
			if n.down {
				n.down, n.downByAdmin = false, false
				n.flags |= slurmapi.FlagNotResponding // until the next ping
			}
			n.clearReason()
		}
		if u.Reason != "" && state != "RESUME" && state != "UNDRAIN" {
			s.setReason(n, u.Reason, u.User, now)
		}
		if state == "" {
			cause = "update Reason"
		}
		s.record(n, now, cause)
	}
	return failed
}
