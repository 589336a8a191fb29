package slurmsim

import (
	"slices"
	"strconv"
	"time"
)

// Node is a copy of a node's record, as the API reports it.
type Node struct {
	Name  string
	Xname string // from NodeSpec; not part of the slurmrestd JSON, so empty via Client
	State NodeState
	// NextState and Undrain are the pending reboot's next_state and UNDRAIN marker.
	NextState  NextState
	Undrain    bool
	Reason     string
	ReasonTime time.Time
	ReasonUser string
	CPUs       int
	AllocCPUs  int
	Partitions []string
	BootTime   time.Time
	// BootReqTime is when the last reboot was issued (zero if never); Go-only.
	BootReqTime     time.Time
	SlurmdStartTime time.Time
	LastBusy        time.Time
	// Jobs are the ids of running jobs; Go-only (slurmrestd's node has no job list).
	Jobs []int
}

func (s *Server) nodeView(n *node) Node {
	v := Node{
		Name: n.name, Xname: n.xname, State: n.state(), NextState: n.next, Undrain: n.undrain,
		Reason: n.reason, ReasonTime: n.reasonTime, ReasonUser: n.reasonUser,
		CPUs: n.cpus, AllocCPUs: n.allocCPUs, BootTime: n.bootTime, BootReqTime: n.bootReqTime,
		SlurmdStartTime: n.slurmdStart, LastBusy: n.lastBusy,
	}
	for _, p := range n.parts {
		v.Partitions = append(v.Partitions, p.name)
	}
	for _, j := range n.jobs {
		v.Jobs = append(v.Jobs, j.id)
	}
	return v
}

// Nodes returns every node in NodeName order.
func (s *Server) Nodes() []Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Node, len(s.nodes))
	for i, n := range s.nodes {
		out[i] = s.nodeView(n)
	}
	return out
}

// Node returns one node.
func (s *Server) Node(name string) (Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.byName[name]
	if !ok {
		return Node{}, errInvalidNode()
	}
	return s.nodeView(n), nil
}

// Job is a copy of a job's record.
type Job struct {
	ID          int
	Name        string
	User        string
	Partition   string
	State       JobState
	Completing  bool   // ended, epilog still running
	Reason      string // pending reason (Priority, Resources) or None
	NumNodes    int
	CPUsPerNode int
	Nodes       string        // allocated nodes, ranged; empty while pending
	TimeLimit   time.Duration // 0: none
	Duration    time.Duration // 0: until the time limit
	SubmitTime  time.Time
	StartTime   time.Time
	EndTime     time.Time
}

// StateList is the job state as slurmrestd lists it: the base state, plus COMPLETING
// while the epilog runs.
func (j Job) StateList() []string {
	if j.Completing {
		return []string{string(j.State), "COMPLETING"}
	}
	return []string{string(j.State)}
}

func jobView(j *job) Job {
	return Job{
		ID: j.id, Name: j.name, User: j.user, Partition: j.part.name, State: j.state, Completing: j.completing,
		Reason: j.reason, NumNodes: j.numNodes, CPUsPerNode: j.cpusPerNode, Nodes: j.nodeList,
		TimeLimit: j.timeLimit, Duration: j.duration, SubmitTime: j.submit, StartTime: j.start, EndTime: j.end,
	}
}

// Jobs returns the jobs the controller still knows (pending, running, and finished less
// than MinJobAge ago), by id.
func (s *Server) Jobs() []Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Job, 0, len(s.jobs))
	for _, j := range s.jobs {
		out = append(out, jobView(j))
	}
	slices.SortFunc(out, func(a, b Job) int { return a.ID - b.ID })
	return out
}

// Job returns one job.
func (s *Server) Job(id int) (Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	if !ok {
		return Job{}, notFoundf(ErrnoInvalidJobID, "Invalid job id specified")
	}
	return jobView(j), nil
}

// Partition is a copy of a partition's configuration.
type Partition struct {
	Name    string
	Nodes   []string
	Default bool
	MaxTime time.Duration // 0: UNLIMITED
}

// Partitions returns the partitions in configuration order.
func (s *Server) Partitions() []Partition {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Partition, len(s.parts))
	for i, p := range s.parts {
		out[i] = Partition{Name: p.name, Default: p.isDef, MaxTime: p.maxTime, Nodes: make([]string, len(p.nodes))}
		for k, n := range p.nodes {
			out[i].Nodes[k] = n.name
		}
	}
	return out
}

// parseJobID accepts a decimal job id.
func parseJobID(s string) (int, error) {
	id, err := strconv.Atoi(s)
	if err != nil || id <= 0 {
		return 0, notFoundf(ErrnoInvalidJobID, "Invalid job id specified")
	}
	return id, nil
}
