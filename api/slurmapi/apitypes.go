package slurmapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// API path prefixes: slurmrestd's, and ours for simulator controls.
const (
	APIPrefix = "/slurm/v0.0.40"
	SimPrefix = "/slurmsim/v1"
)

// Release is the Slurm release whose semantics the simulator follows.
const Release = "22.05.8"

// NoVal is slurmrestd's "integer number with flags" ({"set","infinite","number"}). It
// also decodes from a plain number, as older API versions send.
type NoVal struct {
	Set      bool  `json:"set"`
	Infinite bool  `json:"infinite"`
	Number   int64 `json:"number"`
}

// UnmarshalJSON accepts the object form or a bare number.
func (v *NoVal) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] != '{' {
		if string(b) == "null" {
			*v = NoVal{}
			return nil
		}
		n, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			return fmt.Errorf("number with flags: %w", err)
		}
		*v = NoVal{Set: true, Number: n}
		return nil
	}
	type plain NoVal
	var p plain
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return err
	}
	*v = NoVal(p)
	return nil
}

func SetNum(n int64) NoVal { return NoVal{Set: true, Number: n} }

// UnixNoVal is a timestamp: unset when zero.
func UnixNoVal(t time.Time) NoVal {
	if t.IsZero() {
		return NoVal{}
	}
	return SetNum(t.Unix())
}

func (v NoVal) Time() time.Time {
	if !v.Set || v.Infinite || v.Number == 0 {
		return time.Time{}
	}
	return time.Unix(v.Number, 0)
}

// MinutesNoVal is a time limit in minutes (rounded up); 0 is INFINITE.
func MinutesNoVal(d time.Duration) NoVal {
	if d <= 0 {
		return NoVal{Set: true, Infinite: true}
	}
	return SetNum(int64(math.Ceil(d.Minutes())))
}

func (v NoVal) Minutes() time.Duration {
	if !v.Set || v.Infinite {
		return 0
	}
	return time.Duration(v.Number) * time.Minute
}

type APIMeta struct {
	Plugin struct {
		Type       string `json:"type"`
		Name       string `json:"name"`
		DataParser string `json:"data_parser"`
	} `json:"plugin"`
	Client struct {
		Source string `json:"source"`
		User   string `json:"user"`
		Group  string `json:"group"`
	} `json:"client"`
	Slurm struct {
		Version struct {
			Major string `json:"major"`
			Micro string `json:"micro"`
			Minor string `json:"minor"`
		} `json:"version"`
		Release string `json:"release"`
		Cluster string `json:"cluster"`
	} `json:"slurm"`
}

type APIError struct {
	Description string `json:"description"`
	ErrorNumber int    `json:"error_number"`
	Error       string `json:"error"`
	Source      string `json:"source"`
}

type APIWarning struct {
	Description string `json:"description"`
	Source      string `json:"source"`
}

// APIEnvelope is the part every slurmrestd response has.
type APIEnvelope struct {
	Meta     *APIMeta     `json:"meta,omitempty"`
	Errors   []APIError   `json:"errors"`
	Warnings []APIWarning `json:"warnings"`
}

type APINode struct {
	Name                 string   `json:"name"`
	Hostname             string   `json:"hostname"`
	Address              string   `json:"address"`
	Architecture         string   `json:"architecture"`
	OperatingSystem      string   `json:"operating_system"`
	Version              string   `json:"version"`
	State                []string `json:"state"`
	NextStateAfterReboot []string `json:"next_state_after_reboot"`
	Reason               string   `json:"reason"`
	ReasonChangedAt      NoVal    `json:"reason_changed_at"`
	ReasonSetByUser      string   `json:"reason_set_by_user"`
	Partitions           []string `json:"partitions"`
	BootTime             NoVal    `json:"boot_time"`
	SlurmdStartTime      NoVal    `json:"slurmd_start_time"`
	LastBusy             NoVal    `json:"last_busy"`
	Cpus                 int      `json:"cpus"`
	EffectiveCpus        int      `json:"effective_cpus"`
	AllocCpus            int      `json:"alloc_cpus"`
	AllocIdleCpus        int      `json:"alloc_idle_cpus"`
	Weight               int      `json:"weight"`
}

type APINodesResp struct {
	APIEnvelope
	Nodes      []APINode `json:"nodes"`
	LastUpdate NoVal     `json:"last_update"`
}

func ToAPINode(n Node) APINode {
	a := APINode{
		Name: n.Name, Hostname: n.Name, Address: n.Name, Architecture: "x86_64", OperatingSystem: "Linux",
		Version: Release, State: n.State.List(), NextStateAfterReboot: []string{},
		Reason: n.Reason, ReasonChangedAt: UnixNoVal(n.ReasonTime), ReasonSetByUser: n.ReasonUser,
		Partitions: n.Partitions, BootTime: UnixNoVal(n.BootTime), SlurmdStartTime: UnixNoVal(n.SlurmdStartTime),
		LastBusy: UnixNoVal(n.LastBusy), Cpus: n.CPUs, EffectiveCpus: n.CPUs, AllocCpus: n.AllocCPUs,
		AllocIdleCpus: n.CPUs - n.AllocCPUs, Weight: n.Weight,
	}
	if a.Partitions == nil {
		a.Partitions = []string{}
	}
	if n.NextState != NextNone {
		a.NextStateAfterReboot = append(a.NextStateAfterReboot, n.NextState.String())
	}
	if n.Undrain {
		a.NextStateAfterReboot = append(a.NextStateAfterReboot, "UNDRAIN")
	}
	return a
}

// FromAPINode converts back, ignoring state flags this simulator does not model.
func FromAPINode(a APINode) (Node, error) {
	known := make([]string, 0, len(a.State))
	for i, f := range a.State {
		if i == 0 || slicesContainsFold(flagNames[:], f) {
			known = append(known, f)
		}
	}
	st, err := ParseNodeState(known)
	if err != nil {
		return Node{}, fmt.Errorf("node %s: %w", a.Name, err)
	}
	n := Node{
		Name: a.Name, State: st, Reason: a.Reason, ReasonTime: a.ReasonChangedAt.Time(), ReasonUser: a.ReasonSetByUser,
		CPUs: a.Cpus, AllocCPUs: a.AllocCpus, Partitions: a.Partitions, BootTime: a.BootTime.Time(),
		SlurmdStartTime: a.SlurmdStartTime.Time(), LastBusy: a.LastBusy.Time(), Weight: a.Weight,
	}
	for _, v := range a.NextStateAfterReboot {
		switch strings.ToUpper(v) {
		case "RESUME", "IDLE":
			n.NextState = NextResume
		case "DOWN":
			n.NextState = NextDown
		case "UNDRAIN":
			n.Undrain = true
		}
	}
	return n, nil
}

func slicesContainsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

type APIJob struct {
	JobID              int      `json:"job_id"`
	Name               string   `json:"name"`
	UserName           string   `json:"user_name"`
	Partition          string   `json:"partition"`
	JobState           []string `json:"job_state"`
	StateReason        string   `json:"state_reason"`
	Nodes              string   `json:"nodes"`
	NodeCount          NoVal    `json:"node_count"`
	MinimumCpusPerNode NoVal    `json:"minimum_cpus_per_node"`
	TimeLimit          NoVal    `json:"time_limit"`
	SubmitTime         NoVal    `json:"submit_time"`
	StartTime          NoVal    `json:"start_time"`
	EndTime            NoVal    `json:"end_time"`
	// SimTimeLimit and SimDuration are our extension, in seconds: time_limit is in whole
	// minutes, too coarse for a time-scaled simulation.
	SimTimeLimit float64 `json:"sim_time_limit"`
	SimDuration  float64 `json:"sim_duration"`
}

type APIJobsResp struct {
	APIEnvelope
	Jobs         []APIJob `json:"jobs"`
	LastBackfill NoVal    `json:"last_backfill"`
	LastUpdate   NoVal    `json:"last_update"`
}

func ToAPIJob(j Job) APIJob {
	a := APIJob{
		JobID: j.ID, Name: j.Name, UserName: j.User, Partition: j.Partition, JobState: j.StateList(),
		StateReason: j.Reason, Nodes: j.Nodes, NodeCount: SetNum(int64(j.NumNodes)),
		MinimumCpusPerNode: SetNum(int64(j.CPUsPerNode)), TimeLimit: MinutesNoVal(j.TimeLimit),
		SubmitTime: UnixNoVal(j.SubmitTime), StartTime: UnixNoVal(j.StartTime), EndTime: UnixNoVal(j.EndTime),
		SimTimeLimit: j.TimeLimit.Seconds(), SimDuration: j.Duration.Seconds(),
	}
	if j.State == JobRunning && j.TimeLimit > 0 {
		a.EndTime = UnixNoVal(j.StartTime.Add(j.TimeLimit)) // expected end, as Slurm shows it
	}
	return a
}

func FromAPIJob(a APIJob) Job {
	j := Job{
		ID: a.JobID, Name: a.Name, User: a.UserName, Partition: a.Partition, Reason: a.StateReason, Nodes: a.Nodes,
		NumNodes: int(a.NodeCount.Number), CPUsPerNode: int(a.MinimumCpusPerNode.Number),
		TimeLimit: a.TimeLimit.Minutes(), SubmitTime: a.SubmitTime.Time(), StartTime: a.StartTime.Time(),
	}
	if len(a.JobState) > 0 {
		j.State = JobState(a.JobState[0])
		j.Completing = slicesContainsFold(a.JobState[1:], "COMPLETING")
	}
	if a.SimTimeLimit > 0 {
		j.TimeLimit = SecondsDuration(a.SimTimeLimit)
	}
	j.Duration = SecondsDuration(a.SimDuration)
	if j.State != JobPending {
		j.EndTime = a.EndTime.Time() // running: the expected end
	}
	return j
}

func SecondsDuration(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// APIJobSubmit is v0.0.40_job_submit_req; only "job" is supported (no heterogeneous jobs).
type APIJobSubmit struct {
	Script string      `json:"script,omitempty"`
	Job    *APIJobDesc `json:"job"`
}

// APIJobDesc is the subset of v0.0.40_job_desc_msg the simulator understands; other
// fields are refused so a client never believes an option took effect.
type APIJobDesc struct {
	Name                    string   `json:"name,omitempty"`
	Partition               string   `json:"partition,omitempty"`
	Nodes                   string   `json:"nodes,omitempty"` // "N" or "N-M": N nodes
	MinimumNodes            int      `json:"minimum_nodes,omitempty"`
	MaximumNodes            int      `json:"maximum_nodes,omitempty"`
	MinimumCpusPerNode      int      `json:"minimum_cpus_per_node,omitempty"`
	TimeLimit               *NoVal   `json:"time_limit,omitempty"` // minutes
	Script                  string   `json:"script,omitempty"`
	CurrentWorkingDirectory string   `json:"current_working_directory,omitempty"`
	Environment             []string `json:"environment,omitempty"`
	StandardOutput          string   `json:"standard_output,omitempty"`
	StandardError           string   `json:"standard_error,omitempty"`
	// Extension, seconds: exact time limit and run time for scaled simulations. Without
	// sim_duration, a "sleep N" in the script gives the run time.
	SimTimeLimit float64 `json:"sim_time_limit,omitempty"`
	SimDuration  float64 `json:"sim_duration,omitempty"`
}

type APIJobSubmitResp struct {
	APIEnvelope
	JobID            int    `json:"job_id"`
	StepID           string `json:"step_id"`
	JobSubmitUserMsg string `json:"job_submit_user_msg"`
	Result           struct {
		JobID            int    `json:"job_id"`
		StepID           string `json:"step_id"`
		JobSubmitUserMsg string `json:"job_submit_user_msg"`
	} `json:"result"`
}

type APINodeUpdate struct {
	State     []string `json:"state,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	ReasonUID string   `json:"reason_uid,omitempty"`
	Weight    *NoVal   `json:"weight,omitempty"`
}

type APIPartition struct {
	Name  string `json:"name"`
	Nodes struct {
		Configured string `json:"configured"`
		Total      int    `json:"total"`
	} `json:"nodes"`
	Partition struct {
		State []string `json:"state"`
	} `json:"partition"`
	Maximums struct {
		Time NoVal `json:"time"`
	} `json:"maximums"`
	// Default is our extension: v0.0.40 does not say which partition is the default.
	Default bool `json:"default"`
}

type APIPartitionsResp struct {
	APIEnvelope
	Partitions []APIPartition `json:"partitions"`
	LastUpdate NoVal          `json:"last_update"`
}

// APIRegister is our slurmd-registration extension.
type APIRegister struct {
	BootTime time.Time `json:"boot_time"`
}

type APICancelReboot struct {
	Nodes string `json:"nodes"`
}

type APIHistoryResp struct {
	APIEnvelope
	Node        string       `json:"node"`
	Transitions []Transition `json:"transitions"`
}

type APIStatsResp struct {
	APIEnvelope
	Stats Stats `json:"stats"`
}

// APIWorkload is WorkloadConfig on the wire, durations in seconds.
type APIWorkload struct {
	BusyShare       float64 `json:"busy_share"`
	MinNodes        int     `json:"min_nodes,omitempty"`
	MaxNodes        int     `json:"max_nodes,omitempty"`
	MinDuration     float64 `json:"min_duration,omitempty"`
	MaxDuration     float64 `json:"max_duration,omitempty"`
	TimeLimitFactor float64 `json:"time_limit_factor,omitempty"`
	Partition       string  `json:"partition,omitempty"`
	Seed            int64   `json:"seed,omitempty"`
}

type APIWorkloadResp struct {
	APIEnvelope
	Workload APIWorkload `json:"workload"`
}

func ToAPIWorkload(c WorkloadConfig) APIWorkload {
	return APIWorkload{BusyShare: c.BusyShare, MinNodes: c.MinNodes, MaxNodes: c.MaxNodes,
		MinDuration: c.MinDuration.Seconds(), MaxDuration: c.MaxDuration.Seconds(),
		TimeLimitFactor: c.TimeLimitFactor, Partition: c.Partition, Seed: c.Seed}
}

func (a APIWorkload) Config() WorkloadConfig {
	return WorkloadConfig{BusyShare: a.BusyShare, MinNodes: a.MinNodes, MaxNodes: a.MaxNodes,
		MinDuration: SecondsDuration(a.MinDuration), MaxDuration: SecondsDuration(a.MaxDuration),
		TimeLimitFactor: a.TimeLimitFactor, Partition: a.Partition, Seed: a.Seed}
}
