package slurmsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
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

func setNum(n int64) NoVal { return NoVal{Set: true, Number: n} }

// unixNoVal is a timestamp: unset when zero.
func unixNoVal(t time.Time) NoVal {
	if t.IsZero() {
		return NoVal{}
	}
	return setNum(t.Unix())
}

func (v NoVal) time() time.Time {
	if !v.Set || v.Infinite || v.Number == 0 {
		return time.Time{}
	}
	return time.Unix(v.Number, 0)
}

// minutesNoVal is a time limit in minutes (rounded up); 0 is INFINITE.
func minutesNoVal(d time.Duration) NoVal {
	if d <= 0 {
		return NoVal{Set: true, Infinite: true}
	}
	return setNum(int64(math.Ceil(d.Minutes())))
}

func (v NoVal) minutes() time.Duration {
	if !v.Set || v.Infinite {
		return 0
	}
	return time.Duration(v.Number) * time.Minute
}

type apiMeta struct {
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

type apiError struct {
	Description string `json:"description"`
	ErrorNumber int    `json:"error_number"`
	Error       string `json:"error"`
	Source      string `json:"source"`
}

type apiWarning struct {
	Description string `json:"description"`
	Source      string `json:"source"`
}

// apiEnvelope is the part every slurmrestd response has.
type apiEnvelope struct {
	Meta     *apiMeta     `json:"meta,omitempty"`
	Errors   []apiError   `json:"errors"`
	Warnings []apiWarning `json:"warnings"`
}

type apiNode struct {
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
}

type apiNodesResp struct {
	apiEnvelope
	Nodes      []apiNode `json:"nodes"`
	LastUpdate NoVal     `json:"last_update"`
}

func toAPINode(n Node) apiNode {
	a := apiNode{
		Name: n.Name, Hostname: n.Name, Address: n.Name, Architecture: "x86_64", OperatingSystem: "Linux",
		Version: Release, State: n.State.List(), NextStateAfterReboot: []string{},
		Reason: n.Reason, ReasonChangedAt: unixNoVal(n.ReasonTime), ReasonSetByUser: n.ReasonUser,
		Partitions: n.Partitions, BootTime: unixNoVal(n.BootTime), SlurmdStartTime: unixNoVal(n.SlurmdStartTime),
		LastBusy: unixNoVal(n.LastBusy), Cpus: n.CPUs, EffectiveCpus: n.CPUs, AllocCpus: n.AllocCPUs,
		AllocIdleCpus: n.CPUs - n.AllocCPUs,
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

// fromAPINode converts back, ignoring state flags this simulator does not model.
func fromAPINode(a apiNode) (Node, error) {
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
		Name: a.Name, State: st, Reason: a.Reason, ReasonTime: a.ReasonChangedAt.time(), ReasonUser: a.ReasonSetByUser,
		CPUs: a.Cpus, AllocCPUs: a.AllocCpus, Partitions: a.Partitions, BootTime: a.BootTime.time(),
		SlurmdStartTime: a.SlurmdStartTime.time(), LastBusy: a.LastBusy.time(),
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

type apiJob struct {
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

type apiJobsResp struct {
	apiEnvelope
	Jobs         []apiJob `json:"jobs"`
	LastBackfill NoVal    `json:"last_backfill"`
	LastUpdate   NoVal    `json:"last_update"`
}

func toAPIJob(j Job) apiJob {
	a := apiJob{
		JobID: j.ID, Name: j.Name, UserName: j.User, Partition: j.Partition, JobState: j.StateList(),
		StateReason: j.Reason, Nodes: j.Nodes, NodeCount: setNum(int64(j.NumNodes)),
		MinimumCpusPerNode: setNum(int64(j.CPUsPerNode)), TimeLimit: minutesNoVal(j.TimeLimit),
		SubmitTime: unixNoVal(j.SubmitTime), StartTime: unixNoVal(j.StartTime), EndTime: unixNoVal(j.EndTime),
		SimTimeLimit: j.TimeLimit.Seconds(), SimDuration: j.Duration.Seconds(),
	}
	if j.State == JobRunning && j.TimeLimit > 0 {
		a.EndTime = unixNoVal(j.StartTime.Add(j.TimeLimit)) // expected end, as Slurm shows it
	}
	return a
}

func fromAPIJob(a apiJob) Job {
	j := Job{
		ID: a.JobID, Name: a.Name, User: a.UserName, Partition: a.Partition, Reason: a.StateReason, Nodes: a.Nodes,
		NumNodes: int(a.NodeCount.Number), CPUsPerNode: int(a.MinimumCpusPerNode.Number),
		TimeLimit: a.TimeLimit.minutes(), SubmitTime: a.SubmitTime.time(), StartTime: a.StartTime.time(),
	}
	if len(a.JobState) > 0 {
		j.State = JobState(a.JobState[0])
		j.Completing = slicesContainsFold(a.JobState[1:], "COMPLETING")
	}
	if a.SimTimeLimit > 0 {
		j.TimeLimit = secondsDuration(a.SimTimeLimit)
	}
	j.Duration = secondsDuration(a.SimDuration)
	if j.State != JobPending && j.State != JobRunning {
		j.EndTime = a.EndTime.time()
	}
	return j
}

func secondsDuration(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// apiJobSubmit is v0.0.40_job_submit_req; only "job" is supported (no heterogeneous jobs).
type apiJobSubmit struct {
	Script string      `json:"script,omitempty"`
	Job    *apiJobDesc `json:"job"`
}

// apiJobDesc is the subset of v0.0.40_job_desc_msg the simulator understands; other
// fields are refused so a client never believes an option took effect.
type apiJobDesc struct {
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

type apiJobSubmitResp struct {
	apiEnvelope
	JobID            int    `json:"job_id"`
	StepID           string `json:"step_id"`
	JobSubmitUserMsg string `json:"job_submit_user_msg"`
	Result           struct {
		JobID            int    `json:"job_id"`
		StepID           string `json:"step_id"`
		JobSubmitUserMsg string `json:"job_submit_user_msg"`
	} `json:"result"`
}

var sleepRE = regexp.MustCompile(`(?m)^\s*(?:srun\s+)?sleep\s+([0-9]+(?:\.[0-9]+)?)\s*$`)

// toJobDesc validates a submission and turns it into a JobDesc.
func (r apiJobSubmit) toJobDesc(user string) (JobDesc, error) {
	if r.Job == nil {
		return JobDesc{}, invalidf(0, "job description (\"job\") is required")
	}
	a := *r.Job
	d := JobDesc{Name: a.Name, Partition: a.Partition, User: user, CPUsPerNode: a.MinimumCpusPerNode}
	switch {
	case a.Nodes != "":
		lo, _, _ := strings.Cut(a.Nodes, "-")
		n, err := strconv.Atoi(lo)
		if err != nil {
			return JobDesc{}, invalidf(ErrnoInvalidNodeCount, "Node count specification invalid")
		}
		d.Nodes = n
	case a.MinimumNodes > 0:
		d.Nodes = a.MinimumNodes
	default:
		d.Nodes = 1
	}
	if a.TimeLimit != nil {
		d.TimeLimit = a.TimeLimit.minutes()
	}
	if a.SimTimeLimit < 0 || a.SimDuration < 0 {
		return JobDesc{}, invalidf(0, "sim_time_limit and sim_duration must not be negative")
	}
	if a.SimTimeLimit > 0 {
		d.TimeLimit = secondsDuration(a.SimTimeLimit)
	}
	d.Duration = secondsDuration(a.SimDuration)
	if d.Duration == 0 {
		script := a.Script
		if script == "" {
			script = r.Script
		}
		if m := sleepRE.FindStringSubmatch(script); m != nil {
			secs, _ := strconv.ParseFloat(m[1], 64)
			d.Duration = secondsDuration(secs)
		}
	}
	return d, nil
}

type apiNodeUpdate struct {
	State     []string `json:"state,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	ReasonUID string   `json:"reason_uid,omitempty"`
}

type apiPartition struct {
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

type apiPartitionsResp struct {
	apiEnvelope
	Partitions []apiPartition `json:"partitions"`
	LastUpdate NoVal          `json:"last_update"`
}

// apiRegister is our slurmd-registration extension.
type apiRegister struct {
	BootTime time.Time `json:"boot_time"`
}

type apiCancelReboot struct {
	Nodes string `json:"nodes"`
}

type apiHistoryResp struct {
	apiEnvelope
	Node        string       `json:"node"`
	Transitions []Transition `json:"transitions"`
}

type apiStatsResp struct {
	apiEnvelope
	Stats Stats `json:"stats"`
}

// apiWorkload is WorkloadConfig on the wire, durations in seconds.
type apiWorkload struct {
	BusyShare       float64 `json:"busy_share"`
	MinNodes        int     `json:"min_nodes,omitempty"`
	MaxNodes        int     `json:"max_nodes,omitempty"`
	MinDuration     float64 `json:"min_duration,omitempty"`
	MaxDuration     float64 `json:"max_duration,omitempty"`
	TimeLimitFactor float64 `json:"time_limit_factor,omitempty"`
	Partition       string  `json:"partition,omitempty"`
	Seed            int64   `json:"seed,omitempty"`
}

type apiWorkloadResp struct {
	apiEnvelope
	Workload apiWorkload `json:"workload"`
}

func toAPIWorkload(c WorkloadConfig) apiWorkload {
	return apiWorkload{BusyShare: c.BusyShare, MinNodes: c.MinNodes, MaxNodes: c.MaxNodes,
		MinDuration: c.MinDuration.Seconds(), MaxDuration: c.MaxDuration.Seconds(),
		TimeLimitFactor: c.TimeLimitFactor, Partition: c.Partition, Seed: c.Seed}
}

func (a apiWorkload) config() WorkloadConfig {
	return WorkloadConfig{BusyShare: a.BusyShare, MinNodes: a.MinNodes, MaxNodes: a.MaxNodes,
		MinDuration: secondsDuration(a.MinDuration), MaxDuration: secondsDuration(a.MaxDuration),
		TimeLimitFactor: a.TimeLimitFactor, Partition: a.Partition, Seed: a.Seed}
}
