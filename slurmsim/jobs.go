package slurmsim

import (
	"slices"
	"time"

	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/api/slurmapi/hostlist"
)

type job struct {
	id          int
	name, user  string
	part        *partition
	numNodes    int
	cpusPerNode int
	timeLimit   time.Duration
	duration    time.Duration
	submit      time.Time
	start, end  time.Time
	state       slurmapi.JobState
	reason      string // pending reason, or why it ended
	completing  bool
	epilogEnd   time.Time
	epilogOn    []*node // nodes running this job's epilog
	nodes       []*node
	nodeList    string // ranged, set at start
}

// Submit queues a job and runs the scheduler, so a job that fits starts at once (Slurm
// schedules on submit). It returns the job id.
func (s *Server) Submit(d slurmapi.JobDesc) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.account(now)
	j, err := s.newJob(d, now)
	if err != nil {
		return 0, err
	}
	s.schedule(now)
	return j.id, nil
}

// newJob validates d and queues it (the caller holds the lock).
func (s *Server) newJob(d slurmapi.JobDesc, now time.Time) (*job, error) {
	p := s.defPart
	if d.Partition != "" {
		if p = s.partitionNamed(d.Partition); p == nil {
			return nil, invalidf(slurmapi.ErrnoInvalidPartitionName, "Invalid partition name specified")
		}
	}
	if p == nil {
		return nil, invalidf(0, "No partition specified or system default partition")
	}
	if d.Nodes < 1 || d.Nodes > len(p.nodes) {
		return nil, invalidf(slurmapi.ErrnoInvalidNodeCount, "Node count specification invalid")
	}
	if d.CPUsPerNode < 0 || d.TimeLimit < 0 || d.Duration < 0 {
		return nil, invalidf(0, "CPUs, time limit and duration must not be negative")
	}
	if d.TimeLimit == 0 {
		d.TimeLimit = p.maxTime
	}
	if p.maxTime > 0 && d.TimeLimit > p.maxTime {
		return nil, invalidf(0, "Requested time limit is invalid (missing or exceeds some limit)")
	}
	if d.Name == "" {
		d.Name = "wrap"
	}
	j := &job{
		id: s.nextJobID, name: d.Name, user: userOr(d.User), part: p,
		numNodes: d.Nodes, cpusPerNode: d.CPUsPerNode, timeLimit: d.TimeLimit, duration: d.Duration,
		submit: now, state: slurmapi.JobPending, reason: "None",
	}
	s.nextJobID++
	s.jobs[j.id] = j
	s.pending = append(s.pending, j)
	s.stats.JobsSubmitted++
	return j, nil
}

// partitionNamed returns the partition called name, or nil.
func (s *Server) partitionNamed(name string) *partition {
	for _, p := range s.parts {
		if p.name == name {
			return p
		}
	}
	return nil
}

// CancelJob is scancel: a pending job is dropped, a running one ends CANCELLED (its nodes
// run the epilog).
func (s *Server) CancelJob(id int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	if !ok {
		return notFoundf(slurmapi.ErrnoInvalidJobID, "Invalid job id specified")
	}
	now := s.now()
	s.account(now)
	switch j.state {
	case slurmapi.JobPending:
		s.pending = slices.DeleteFunc(s.pending, func(p *job) bool { return p == j })
		j.state, j.end, j.reason = slurmapi.JobCancelled, now, "None"
		s.stats.JobsCancelled++
		s.finished = append(s.finished, j)
		s.schedule(now) // the queue head may have changed
	case slurmapi.JobRunning:
		s.killJob(j, slurmapi.JobCancelled, now)
		s.schedule(now)
	default:
		return conflictf(0, "Job/step already completing or completed")
	}
	return nil
}

// allocatable says whether n can take a new job needing cpus CPUs (0: the whole node).
func (s *Server) allocatable(n *node, cpus int) bool {
	if n.down || n.unknown || n.completing > 0 ||
		n.flags&(slurmapi.FlagDrain|slurmapi.FlagFail|slurmapi.FlagRebootIssued|slurmapi.FlagNotResponding) != 0 {
		return false
	}
	if n.flags&slurmapi.FlagRebootRequested != 0 && len(n.jobs) == 0 && !s.cfg.JobsWinRebootRace {
		return false // the reboot wins the race for an idle node
	}
	if cpus == 0 || cpus >= n.cpus {
		return len(n.jobs) == 0
	}
	return n.cpus-n.allocCPUs >= cpus
}

// schedule is a strict FIFO pass (no backfill): jobs start in submit order on the
// allocatable nodes of their partition with the lowest weight, then lowest-numbered; the first job that does not fit
// blocks every later job of its partition (reason Resources, later ones Priority).
func (s *Server) schedule(now time.Time) {
	if len(s.pending) == 0 {
		return
	}
	var blocked []*partition
	kept := s.pending[:0]
	for _, j := range s.pending {
		if slices.Contains(blocked, j.part) {
			j.reason = "Priority"
			kept = append(kept, j)
			continue
		}
		nodes := s.pick(j)
		if nodes == nil {
			j.reason = "Resources"
			blocked = append(blocked, j.part)
			kept = append(kept, j)
			continue
		}
		s.startJob(j, nodes, now)
	}
	clear(s.pending[len(kept):])
	s.pending = kept
}

func (s *Server) pick(j *job) []*node {
	var out []*node
	for _, n := range j.part.schedOrder() {
		if s.allocatable(n, j.cpusPerNode) {
			out = append(out, n)
			if len(out) == j.numNodes {
				slices.SortFunc(out, func(a, b *node) int { return a.idx - b.idx }) // as a node bitmap lists them
				return out
			}
		}
	}
	return nil
}

func (s *Server) startJob(j *job, nodes []*node, now time.Time) {
	j.state, j.start, j.reason, j.nodes = slurmapi.JobRunning, now, "None", nodes
	names := make([]string, len(nodes))
	for i, n := range nodes {
		names[i] = n.name
		n.allocCPUs += j.cpusOn(n)
		n.jobs = append(n.jobs, j)
		if len(n.jobs) == 1 {
			s.allocated++
		}
		n.lastBusy = now
		s.record(n, now, causeJobStarted)
	}
	j.nodeList = hostlist.Compress(names)
	s.running = append(s.running, j)
	s.stats.JobsStarted++
}

// cpusOn is how many of n's CPUs j takes: all of them for a whole-node job.
func (j *job) cpusOn(n *node) int {
	if j.cpusPerNode == 0 || j.cpusPerNode > n.cpus {
		return n.cpus
	}
	return j.cpusPerNode
}

// endJobs finishes running jobs whose duration or time limit has passed.
func (s *Server) endJobs(now time.Time) {
	var done []*job
	for _, j := range s.running {
		finishes := j.duration > 0 && (j.timeLimit == 0 || j.duration <= j.timeLimit)
		switch {
		case finishes && !now.Before(j.start.Add(j.duration)):
			j.state = slurmapi.JobCompleted
		case j.timeLimit > 0 && !now.Before(j.start.Add(j.timeLimit)):
			j.state = slurmapi.JobTimeout
		default:
			continue
		}
		done = append(done, j)
	}
	for _, j := range done {
		s.killJob(j, j.state, now)
	}
}

// killJob ends a running job in state st at now: its nodes are released and, with an
// Epilog, stay COMPLETING for that long (DOWN nodes run no epilog).
func (s *Server) killJob(j *job, st slurmapi.JobState, now time.Time) {
	s.running = slices.DeleteFunc(s.running, func(r *job) bool { return r == j })
	j.state, j.end = st, now
	switch st {
	case slurmapi.JobCompleted:
		s.stats.JobsCompleted++
	case slurmapi.JobTimeout:
		s.stats.JobsTimedOut++
	case slurmapi.JobNodeFail:
		s.stats.JobsNodeFail++
	case slurmapi.JobCancelled:
		s.stats.JobsCancelled++
	}
	epilog := s.cfg.Epilog > 0
	for _, n := range j.nodes {
		n.jobs = slices.DeleteFunc(n.jobs, func(r *job) bool { return r == j })
		n.allocCPUs -= j.cpusOn(n)
		if len(n.jobs) == 0 {
			s.allocated--
			n.lastBusy = now
		}
		if epilog && !n.down {
			n.completing++
			j.epilogOn = append(j.epilogOn, n)
		}
		s.record(n, now, causeJobEnded)
	}
	if epilog {
		j.completing, j.epilogEnd = true, now.Add(s.cfg.Epilog)
		s.epilogs = append(s.epilogs, j)
		return
	}
	s.finished = append(s.finished, j)
}

// finishEpilogs clears COMPLETING from the nodes of jobs whose epilog is over.
func (s *Server) finishEpilogs(now time.Time) {
	kept := s.epilogs[:0]
	for _, j := range s.epilogs {
		if now.Before(j.epilogEnd) {
			kept = append(kept, j)
			continue
		}
		j.completing = false
		for _, n := range j.epilogOn {
			n.completing--
			s.record(n, now, causeEpilogDone)
		}
		j.epilogOn = nil
		s.finished = append(s.finished, j)
	}
	clear(s.epilogs[len(kept):])
	s.epilogs = kept
}

// purgeJobs forgets finished jobs older than MinJobAge.
func (s *Server) purgeJobs(now time.Time) {
	i := 0
	for ; i < len(s.finished); i++ {
		if now.Sub(s.finished[i].end) < s.cfg.MinJobAge {
			break
		}
		delete(s.jobs, s.finished[i].id)
	}
	if i > 0 {
		s.finished = slices.Delete(s.finished, 0, i)
	}
}
