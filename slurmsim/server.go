package slurmsim

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/api/slurmapi/hostlist"
)

// Server is one simulated Slurm controller (slurmctld) with its REST API. All state hangs
// off the value; every exported method is safe for concurrent use.
type Server struct {
	cfg Config

	mu        sync.Mutex
	nodes     []*node // NodeName order
	byName    map[string]*node
	byXname   map[string]*node
	parts     []*partition
	defPart   *partition
	jobs      map[int]*job
	pending   []*job // FIFO: submit order
	running   []*job // start order
	epilogs   []*job // ended, epilog running
	finished  []*job // done, kept MinJobAge for queries
	nextJobID int
	stats     slurmapi.Stats
	allocated int       // nodes running at least one job
	accounted time.Time // AllocatedNodeSeconds is integrated up to here
	lastCheck time.Time // last reboot-timeout pass
	workload  *workload

	// ready is signalled when a reboot request finds a node ready to reboot (Run).
	ready chan struct{}

	progCtx    context.Context
	progCancel context.CancelFunc
	progWG     sync.WaitGroup

	handler http.Handler
}

type partition struct {
	name    string
	nodes   []*node
	isDef   bool
	maxTime time.Duration
	// byWeight is nodes in scheduling order (lowest weight first, then configuration
	// order); nil after a weight changed, rebuilt by schedOrder.
	byWeight []*node
}

// schedOrder is the order jobs take the partition's nodes in.
func (p *partition) schedOrder() []*node {
	if p.byWeight == nil {
		p.byWeight = slices.Clone(p.nodes)
		slices.SortStableFunc(p.byWeight, func(a, b *node) int { return cmp.Compare(a.weight, b.weight) })
	}
	return p.byWeight
}

// node is the controller's record of one node. Base state is derived (see state).
type node struct {
	idx        int
	name       string
	xname      string
	cpus       int
	parts      []*partition
	down       bool           // base DOWN
	unknown    bool           // base UNKNOWN: never registered
	flags      slurmapi.Flags // all flags but COMPLETING, which is derived from completing
	jobs       []*job
	allocCPUs  int
	completing int // ended jobs whose epilog still runs here
	reason     string
	reasonTime time.Time
	reasonUser string
	// downByAdmin marks a DOWN set by `update state=DOWN` or nextstate=DOWN, which
	// ReturnToService=2 must not undo.
	downByAdmin bool
	next        slurmapi.NextState
	undrain     bool // reboot ASAP drained the node; cancel_reboot or the reboot removes it
	bootTime    time.Time
	bootReqTime time.Time
	slurmdStart time.Time
	lastResp    time.Time
	lastBusy    time.Time
	slurmdUp    bool
	weight      int // scheduling weight: jobs take the lowest first
	hist        history
}

// state is the node's state as Slurm reports it.
func (n *node) state() slurmapi.NodeState {
	st := slurmapi.NodeState{Flags: n.flags}
	switch {
	case n.down:
		st.Base = slurmapi.StateDown
	case n.unknown:
		st.Base = slurmapi.StateUnknown
	case len(n.jobs) == 0:
		st.Base = slurmapi.StateIdle
	case n.allocCPUs >= n.cpus:
		st.Base = slurmapi.StateAllocated
	default:
		st.Base = slurmapi.StateMixed
	}
	if n.completing > 0 && !n.down {
		st.Flags |= slurmapi.FlagCompleting
	}
	return st
}

// New builds a controller from cfg. Its clock starts at cfg.Now().
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	now := cfg.Now()
	s := &Server{
		cfg:       cfg,
		byName:    make(map[string]*node, len(cfg.Nodes)),
		byXname:   make(map[string]*node),
		jobs:      make(map[int]*job),
		nextJobID: 1,
		accounted: now,
		lastCheck: now,
		ready:     make(chan struct{}, 1),
	}
	s.progCtx, s.progCancel = context.WithCancel(context.Background())
	unknown := strings.EqualFold(cfg.InitialState, "UNKNOWN")
	for i, spec := range cfg.Nodes {
		n := &node{idx: i, name: spec.Name, xname: spec.Xname, cpus: spec.CPUs, weight: 1, hist: newHistory(cfg.HistoryPerNode)}
		if n.cpus == 0 {
			n.cpus = DefaultCPUs
		}
		if unknown {
			n.unknown = true
			n.flags = slurmapi.FlagNotResponding
		} else {
			n.bootTime, n.slurmdStart, n.lastResp, n.slurmdUp = now, now, now, true
		}
		s.nodes = append(s.nodes, n)
		s.byName[n.name] = n
		if n.xname != "" {
			s.byXname[n.xname] = n
		}
	}
	for _, spec := range cfg.Partitions {
		p := &partition{name: spec.Name, isDef: spec.Default, maxTime: spec.MaxTime}
		if spec.Nodes == "" || strings.EqualFold(spec.Nodes, "ALL") {
			p.nodes = append(p.nodes, s.nodes...)
		} else {
			seen := map[*node]bool{}
			for _, name := range hostlist.MustExpand(spec.Nodes) { // validated by withDefaults
				if n := s.byName[name]; !seen[n] {
					seen[n] = true
					p.nodes = append(p.nodes, n)
				}
			}
			sortNodes(p.nodes)
		}
		for _, n := range p.nodes {
			n.parts = append(n.parts, p)
		}
		s.parts = append(s.parts, p)
		if p.isDef && s.defPart == nil {
			s.defPart = p
		}
	}
	for _, n := range s.nodes {
		s.record(n, now, causeConfigured)
	}
	s.handler = s.routes()
	return s, nil
}

// now is the controller clock.
func (s *Server) now() time.Time { return s.cfg.Now() }

// Handler serves the slurmrestd-shaped API (see doc.go for the routes).
func (s *Server) Handler() http.Handler { return s.handler }

// Tick runs one pass of slurmctld's background loop at now: jobs that reached their end
// or time limit finish, epilogs finish, slurmd liveness is checked, the reboot-timeout
// pass runs when PeriodicInterval has passed, requested reboots whose node is ready are
// issued, the workload generator submits, and the FIFO scheduler starts what fits.
//
// It returns the names of the nodes whose reboot was issued in this pass, in NodeName
// order; the RebootProgram is started for them (once, in its own goroutine, as
// slurmctld's agent thread does) after the state lock is released. WaitPrograms waits
// for such calls.
func (s *Server) Tick(now time.Time) []string {
	s.mu.Lock()
	s.account(now)
	s.endJobs(now)
	s.finishEpilogs(now)
	s.ping(now)
	if now.Sub(s.lastCheck) >= s.cfg.PeriodicInterval {
		s.lastCheck = now
		s.checkRebootTimeouts(now)
	}
	if s.cfg.JobsWinRebootRace {
		s.schedule(now) // queued jobs take idle nodes before their reboots are issued
	}
	batch := s.issueReboots(now)
	if s.workload != nil {
		s.workload.step(s, now)
	}
	s.schedule(now)
	s.purgeJobs(now)
	s.startProgram(batch) // unlocks
	return batch
}

// startProgram starts the RebootProgram for batch and releases the lock the caller holds.
func (s *Server) startProgram(batch []string) {
	prog := s.cfg.RebootProgram
	if len(batch) > 0 && prog != nil {
		s.stats.RebootProgramCalls++
		s.progWG.Add(1) // under the lock, so Close cannot miss it
	}
	s.mu.Unlock()
	if len(batch) > 0 && prog != nil {
		go s.runProgram(prog, append([]string(nil), batch...))
	}
}

// IssueReboots runs the reboot pass of Tick alone at now: requested reboots whose node
// is ready are issued, their RebootProgram started. It returns them, in NodeName order.
func (s *Server) IssueReboots(now time.Time) []string {
	s.mu.Lock()
	batch := s.issueReboots(now)
	s.startProgram(batch) // unlocks
	return batch
}

// Run drives Tick in real time every TickInterval until ctx is cancelled, then waits for
// running RebootProgram calls. It is the simulator's stand-in for slurmctld's main loop.
// A reboot request that finds a node ready (idle or DOWN) has its reboot pass run at
// once (IssueReboots) rather than at the next tick: slurmctld issues it within its
// background loop's second, a small share of a real reboot of minutes, where a tick is
// a large share of the simulator's reboots of seconds.
func (s *Server) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.TickInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.WaitPrograms()
			return nil
		case <-t.C:
			s.Tick(s.now())
		case <-s.ready:
			s.IssueReboots(s.now())
		}
	}
}

// WaitPrograms blocks until every RebootProgram call started so far has returned.
func (s *Server) WaitPrograms() { s.progWG.Wait() }

// Close cancels running RebootProgram calls (their context) and waits for them.
func (s *Server) Close() error {
	s.progCancel()
	s.progWG.Wait()
	return nil
}

// runProgram runs the RebootProgram for one batch. Like slurmctld, only the outcome is
// logged: node states do not depend on it.
func (s *Server) runProgram(prog RebootProgram, batch []string) {
	defer s.progWG.Done()
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("RebootProgram panicked: %v", r)
			}
		}()
		return prog.Reboot(s.progCtx, batch)
	}()
	if err == nil {
		return
	}
	s.cfg.Logger.Error("error: "+err.Error(), "nodes", hostlist.Compress(batch))
	s.mu.Lock()
	s.stats.RebootProgramFailures++
	s.mu.Unlock()
}

// account integrates the allocated-node count up to now.
func (s *Server) account(now time.Time) {
	if now.After(s.accounted) {
		s.stats.AllocatedNodeSeconds += float64(s.allocated) * now.Sub(s.accounted).Seconds()
		s.accounted = now
	}
}

// resolve turns a node list ("ALL" or a hostlist) into nodes, failing on any unknown name.
// Duplicates are kept once, in NodeName order.
func (s *Server) resolve(expr string) ([]*node, error) {
	expr = strings.TrimSpace(expr)
	if strings.EqualFold(expr, "ALL") {
		return append([]*node(nil), s.nodes...), nil
	}
	names, err := hostlist.Expand(expr)
	if err != nil {
		return nil, invalidf(slurmapi.ErrnoInvalidNodeName, "Invalid node name specified: %v", err)
	}
	if len(names) == 0 {
		return nil, invalidf(0, "Missing node list. Specify ALL|<NodeList>")
	}
	seen := make(map[*node]bool, len(names))
	out := make([]*node, 0, len(names))
	for _, name := range names {
		n, ok := s.byName[name]
		if !ok {
			return nil, errInvalidNode()
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sortNodes(out)
	return out, nil
}

// sortNodes puts ns in NodeName order (linear for the usual, already ordered, list).
func sortNodes(ns []*node) {
	slices.SortFunc(ns, func(a, b *node) int { return cmp.Compare(a.idx, b.idx) })
}

func (s *Server) setReason(n *node, reason, user string, now time.Time) {
	n.reason, n.reasonTime, n.reasonUser = reason, now, userOr(user)
}

func (n *node) clearReason() { n.reason, n.reasonTime, n.reasonUser = "", time.Time{}, "" }

// clearReasonIfUp drops the reason once nothing (DOWN, DRAIN, FAIL) needs explaining.
func (n *node) clearReasonIfUp() {
	if !n.down && n.flags&(slurmapi.FlagDrain|slurmapi.FlagFail) == 0 {
		n.clearReason()
	}
}

func userOr(u string) string {
	if u == "" {
		return "root"
	}
	return u
}

// setDown makes n DOWN with reason (kept if empty), failing its jobs (NODE_FAIL).
func (s *Server) setDown(n *node, now time.Time, reason, user string, byAdmin bool, cause string) {
	n.down = true // first, so the failed jobs run no epilog here
	n.downByAdmin = byAdmin
	if reason != "" {
		s.setReason(n, reason, user, now)
	}
	for len(n.jobs) > 0 {
		s.killJob(n.jobs[0], slurmapi.JobNodeFail, now)
	}
	s.record(n, now, cause)
}

// returnToService brings a DOWN node back (IDLE, or still drained if DRAIN is set).
func (s *Server) returnToService(n *node, now time.Time, cause string) {
	n.down, n.downByAdmin = false, false
	n.clearReasonIfUp()
	s.cfg.Logger.Info(fmt.Sprintf("node %s returned to service", n.name))
	s.record(n, now, cause)
}

// ping is the controller's view of slurmd liveness: a running slurmd answers, a stopped
// one is marked NOT_RESPONDING at once and set DOWN after SlurmdTimeout.
func (s *Server) ping(now time.Time) {
	for _, n := range s.nodes {
		if n.slurmdUp {
			n.lastResp = now
			if n.flags&slurmapi.FlagNotResponding != 0 {
				n.flags &^= slurmapi.FlagNotResponding
				s.record(n, now, causeResponding)
			}
			if n.down && n.flags&slurmapi.FlagRebootIssued == 0 && s.returnsToService(n) {
				s.returnToService(n, now, causeReturnToService)
			}
			continue
		}
		if n.flags&slurmapi.FlagNotResponding == 0 {
			n.flags |= slurmapi.FlagNotResponding
			s.record(n, now, causeNotResponding)
		}
		if !n.down && !n.unknown && now.Sub(n.lastResp) >= s.cfg.SlurmdTimeout {
			s.setDown(n, now, "Not responding", "slurm", false, causeNotResponding)
		}
	}
}

// returnsToService applies ReturnToService to a DOWN node whose slurmd answers.
func (s *Server) returnsToService(n *node) bool {
	switch s.cfg.ReturnToService {
	case 1:
		return n.reason == "Not responding"
	case 2:
		return !n.downByAdmin
	}
	return false
}

// Stats returns the counters, integrated up to the clock's now.
func (s *Server) Stats() slurmapi.Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.account(s.now())
	return s.stats
}
