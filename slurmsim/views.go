package slurmsim

import (
	"slices"
	"strconv"

	"github.com/cray-bos/bos/api/slurmapi"
)

func (s *Server) nodeView(n *node) slurmapi.Node {
	v := slurmapi.Node{
		Name: n.name, Xname: n.xname, State: n.state(), NextState: n.next, Undrain: n.undrain,
		Reason: n.reason, ReasonTime: n.reasonTime, ReasonUser: n.reasonUser,
		CPUs: n.cpus, AllocCPUs: n.allocCPUs, BootTime: n.bootTime, BootReqTime: n.bootReqTime,
		SlurmdStartTime: n.slurmdStart, LastBusy: n.lastBusy, Weight: n.weight,
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
func (s *Server) Nodes() []slurmapi.Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]slurmapi.Node, len(s.nodes))
	for i, n := range s.nodes {
		out[i] = s.nodeView(n)
	}
	return out
}

// Node returns one node.
func (s *Server) Node(name string) (slurmapi.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.byName[name]
	if !ok {
		return slurmapi.Node{}, errInvalidNode()
	}
	return s.nodeView(n), nil
}

func jobView(j *job) slurmapi.Job {
	v := slurmapi.Job{
		ID: j.id, Name: j.name, User: j.user, Partition: j.part.name, State: j.state, Completing: j.completing,
		Reason: j.reason, NumNodes: j.numNodes, CPUsPerNode: j.cpusPerNode, Nodes: j.nodeList,
		TimeLimit: j.timeLimit, Duration: j.duration, SubmitTime: j.submit, StartTime: j.start, EndTime: j.end,
	}
	if j.state == slurmapi.JobRunning && j.timeLimit > 0 {
		v.EndTime = j.start.Add(j.timeLimit) // expected end, as slurmctld shows it
	}
	return v
}

// Jobs returns the jobs the controller still knows (pending, running, and finished less
// than MinJobAge ago), by id.
func (s *Server) Jobs() []slurmapi.Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]slurmapi.Job, 0, len(s.jobs))
	for _, j := range s.jobs {
		out = append(out, jobView(j))
	}
	slices.SortFunc(out, func(a, b slurmapi.Job) int { return a.ID - b.ID })
	return out
}

// Job returns one job.
func (s *Server) Job(id int) (slurmapi.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	if !ok {
		return slurmapi.Job{}, notFoundf(slurmapi.ErrnoInvalidJobID, "Invalid job id specified")
	}
	return jobView(j), nil
}

// Partitions returns the partitions in configuration order.
func (s *Server) Partitions() []slurmapi.Partition {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]slurmapi.Partition, len(s.parts))
	for i, p := range s.parts {
		out[i] = slurmapi.Partition{Name: p.name, Default: p.isDef, MaxTime: p.maxTime, Nodes: make([]string, len(p.nodes))}
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
		return 0, notFoundf(slurmapi.ErrnoInvalidJobID, "Invalid job id specified")
	}
	return id, nil
}
