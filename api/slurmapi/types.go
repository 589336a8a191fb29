package slurmapi

import (
	"fmt"
	"strings"
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
	// Weight is the scheduling weight: jobs go to the lowest-weight nodes that fit
	// first (Slurm's default 1; 0 when not reported).
	Weight int
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
	// EndTime: when the job ended; while it runs, its expected end (start plus time
	// limit, as Slurm shows it; zero without a limit). A job may end before it.
	EndTime time.Time
}

// StateList is the job state as slurmrestd lists it: the base state, plus COMPLETING
// while the epilog runs.
func (j Job) StateList() []string {
	if j.Completing {
		return []string{string(j.State), "COMPLETING"}
	}
	return []string{string(j.State)}
}

// Partition is a copy of a partition's configuration.
type Partition struct {
	Name    string
	Nodes   []string
	Default bool
	MaxTime time.Duration // 0: UNLIMITED
}

// JobState is a job's base state as Slurm names it.
type JobState string

// Job states.
const (
	JobPending   JobState = "PENDING"
	JobRunning   JobState = "RUNNING"
	JobCompleted JobState = "COMPLETED"
	JobTimeout   JobState = "TIMEOUT"
	JobNodeFail  JobState = "NODE_FAIL"
	JobCancelled JobState = "CANCELLED"
)

// Compact is squeue's %t form.
func (js JobState) Compact() string {
	switch js {
	case JobPending:
		return "PD"
	case JobRunning:
		return "R"
	case JobCompleted:
		return "CD"
	case JobTimeout:
		return "TO"
	case JobNodeFail:
		return "NF"
	case JobCancelled:
		return "CA"
	}
	return "??"
}

// JobDesc is what a submission asks for.
type JobDesc struct {
	Name      string // default "wrap"
	Partition string // default: the default partition
	User      string // default "root"
	// Nodes is the node count; required (>= 1).
	Nodes int
	// CPUsPerNode is how many CPUs the job takes on each node; 0 means whole nodes
	// (exclusive), the usual HPE configuration.
	CPUsPerNode int
	// TimeLimit kills the job (TIMEOUT) when reached; 0 means the partition's MaxTime, or
	// none when that is unlimited.
	TimeLimit time.Duration
	// Duration is how long the job really runs; 0 means until its time limit (or until
	// cancelled when there is none).
	Duration time.Duration
}

// RebootRequest is `scontrol reboot [ASAP] [nextstate=RESUME|DOWN] [reason=...] <nodes>`.
type RebootRequest struct {
	// Nodes is a hostlist or ALL.
	Nodes string `json:"nodes"`
	// ASAP drains the nodes so no new job lands on them and the reboot happens as soon as
	// running jobs end.
	ASAP bool `json:"asap,omitempty"`
	// NextState is RESUME or DOWN (case-insensitive prefix) or empty.
	NextState string `json:"next_state,omitempty"`
	// Reason replaces the node reason; defaults are "Reboot ASAP" and "reboot requested".
	Reason string `json:"reason,omitempty"`
	// User is recorded as the reason's author; empty means root.
	User string `json:"-"`
}

// NodeUpdate is `scontrol update NodeName=<nodes> State=<state> Reason=<reason>`.
type NodeUpdate struct {
	Nodes  string // hostlist or ALL
	State  string // DRAIN, DOWN, FAIL, RESUME, UNDRAIN, CANCEL_REBOOT, or empty (reason only)
	Reason string // required with DRAIN, DOWN and FAIL
	User   string // the reason's author; empty means root
	Weight int    // > 0: the nodes' new scheduling weight (`weight=N`); 0 leaves it
}

// Transition is one recorded change of a node's state, reason or running-job count.
type Transition struct {
	At     time.Time `json:"at"`
	State  NodeState `json:"state"`
	Reason string    `json:"reason,omitempty"`
	// Jobs is how many jobs were running on the node after the change; for a "booted
	// unexpectedly" entry it is how many the reboot killed.
	Jobs  int    `json:"jobs"`
	Cause string `json:"cause"`
}

// MarshalText writes the scontrol form (IDLE+DRAIN).
func (s NodeState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses the scontrol form.
func (s *NodeState) UnmarshalText(b []byte) error {
	st, err := ParseNodeState(strings.Split(string(b), "+"))
	if err != nil {
		return err
	}
	*s = st
	return nil
}

// ParseNodeState reads a slurmrestd state list (base state first, then flags). Unknown
// flags are an error.
func ParseNodeState(list []string) (NodeState, error) {
	var st NodeState
	if len(list) == 0 {
		return st, fmt.Errorf("empty node state")
	}
	found := false
	for i, name := range baseNames {
		if strings.EqualFold(list[0], name) {
			st.Base, found = BaseState(i), true
		}
	}
	if !found {
		return st, fmt.Errorf("unknown node state %q", list[0])
	}
next:
	for _, f := range list[1:] {
		for i, name := range flagNames {
			if strings.EqualFold(f, name) {
				st.Flags |= 1 << i
				continue next
			}
		}
		return st, fmt.Errorf("unknown node state flag %q", f)
	}
	return st, nil
}

// Stats are cumulative counters since New, for tests and benchmarks.
type Stats struct {
	JobsSubmitted int `json:"jobs_submitted"`
	JobsStarted   int `json:"jobs_started"`
	JobsCompleted int `json:"jobs_completed"`
	JobsTimedOut  int `json:"jobs_timed_out"`
	JobsNodeFail  int `json:"jobs_node_fail"` // killed because a node went DOWN or rebooted under them
	JobsCancelled int `json:"jobs_cancelled"`

	RebootsRequested int `json:"reboots_requested"`
	RebootsCancelled int `json:"reboots_cancelled"`
	RebootsIssued    int `json:"reboots_issued"`
	RebootsCompleted int `json:"reboots_completed"`
	RebootsTimedOut  int `json:"reboots_timed_out"`
	// RebootProgramCalls counts batches handed to the RebootProgram; failures are calls
	// that returned an error (non-zero exit).
	RebootProgramCalls    int `json:"reboot_program_calls"`
	RebootProgramFailures int `json:"reboot_program_failures"`
	// UnexpectedReboots counts registrations with a new boot time from nodes whose reboot
	// was not issued by the controller; JobsKilledByReboot the jobs such reboots killed.
	UnexpectedReboots  int `json:"unexpected_reboots"`
	JobsKilledByReboot int `json:"jobs_killed_by_reboot"`

	// AllocatedNodeSeconds integrates the number of nodes running jobs over time.
	AllocatedNodeSeconds float64 `json:"allocated_node_seconds"`
}

// WorkloadConfig describes a synthetic workload that keeps a share of the nodes busy.
type WorkloadConfig struct {
	// BusyShare is the share of the partition's nodes to keep allocated, in (0, 1].
	// Nodes asked for by pending jobs count toward it, so the queue stays bounded when
	// nodes are drained.
	BusyShare float64
	// MinNodes and MaxNodes bound a job's node count (uniform). Defaults 1 and 1.
	MinNodes int
	MaxNodes int
	// MinDuration and MaxDuration bound a job's run time (uniform). Defaults 1m and 10m.
	MinDuration time.Duration
	MaxDuration time.Duration
	// TimeLimitFactor sets each job's time limit to its duration times this, rounded up
	// to a whole second; values below 1 make jobs hit the limit (TIMEOUT). Default 1.5.
	TimeLimitFactor float64
	// Partition for the jobs; empty means the default partition.
	Partition string
	// Seed makes the job sequence reproducible.
	Seed int64
}

// UserHeader names the caller as slurmrestd's auth headers do; it becomes the reason's
// author. No token is checked.
const UserHeader = "X-SLURM-USER-NAME"
