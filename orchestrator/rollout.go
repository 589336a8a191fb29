package orchestrator

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rollouts are our extension to BOS (docs/rollouts.md): a staged session's nodes handed
// to Slurm for reboot a few at a time, canary first, under a limit on nodes out of
// service and a failure budget. These are the wire types; orchestrator/rollout decides
// and drives them.

// Rollout states.
const (
	RolloutStaging  = "staging"  // the staged session is being set up
	RolloutRunning  = "running"  // nodes are handed to Slurm as the policy allows
	RolloutPaused   = "paused"   // no new node is handed (by request or at the failure budget)
	RolloutAborting = "aborting" // pending reboots are being cancelled
	RolloutAborted  = "aborted"  // final: cancelled, unrebooted nodes' stage cleared
	RolloutComplete = "complete" // final: every node healthy or failed
	RolloutFailed   = "failed"   // final: the rollout could not start (staging failed)
)

// Rollout node phases.
const (
	NodeWaiting   = "waiting"   // staged, not yet handed to Slurm
	NodeHanded    = "handed"    // `scontrol reboot ASAP nextstate=resume` asked; still in service
	NodeOut       = "out"       // out of service: drained idle, rebooting or down
	NodeHealthy   = "healthy"   // BOS stable on the new image, Slurm in service, health check passed
	NodeFailed    = "failed"    // left drained with the reason
	NodeCancelled = "cancelled" // aborted before its reboot was issued; stage cleared
)

// Rollout commands (POST /v2/rollouts/{name}/{command}).
const (
	RolloutPause  = "pause"
	RolloutResume = "resume"
	RolloutAbort  = "abort"
)

// Amount is a count of nodes or a percentage of the rollout's nodes: JSON 3 or "10%".
type Amount struct {
	N       int
	Percent bool
}

// Of resolves a to a node count out of total, rounding a percentage down but never
// below floor.
func (a Amount) Of(total, floor int) int {
	n := a.N
	if a.Percent {
		n = total * a.N / 100
	}
	return max(n, floor)
}

func (a Amount) String() string {
	if a.Percent {
		return strconv.Itoa(a.N) + "%"
	}
	return strconv.Itoa(a.N)
}

// MarshalJSON writes a count as a number and a percentage as "N%".
func (a Amount) MarshalJSON() ([]byte, error) {
	if a.Percent {
		return json.Marshal(a.String())
	}
	return json.Marshal(a.N)
}

// UnmarshalJSON reads 3, "3" or "10%".
func (a *Amount) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("want a node count or a percentage such as \"10%%\"")
		}
		*a = Amount{N: n}
		return nil
	}
	p, err := ParseAmount(s)
	if err != nil {
		return err
	}
	*a = p
	return nil
}

// ParseAmount reads "3" or "10%".
func ParseAmount(s string) (Amount, error) {
	num, pct := strings.CutSuffix(strings.TrimSpace(s), "%")
	n, err := strconv.Atoi(num)
	if err != nil {
		return Amount{}, fmt.Errorf("%q: want a node count or a percentage such as \"10%%\"", s)
	}
	return Amount{N: n, Percent: pct}, nil
}

// HealthCheck is the optional last gate before a node counts as healthy. Exactly one of
// URL (a GET answering 2xx) and Command (run on the BOS host, exit 0) is set; "{xname}"
// and "{name}" (the Slurm node name) in either are replaced by the node's.
type HealthCheck struct {
	URL            string   `json:"url,omitempty"`
	Command        []string `json:"command,omitempty"`
	TimeoutSeconds int      `json:"timeout_seconds,omitempty"` // per attempt; 0 means 10
}

// RolloutPolicy is how a rollout moves.
type RolloutPolicy struct {
	// Canary nodes go first, and nothing else moves until they are healthy: the first
	// Canary nodes in rollout order, or CanaryNodes (xnames) when given.
	Canary      int      `json:"canary,omitempty"`
	CanaryNodes []string `json:"canary_nodes,omitempty"`
	// MaxUnavailable bounds the rollout's nodes out of service at once (handed to Slurm
	// and not yet healthy or failed, or out of service in Slurm while waiting). At least 1.
	MaxUnavailable Amount `json:"max_unavailable"`
	// FailureBudget: the rollout pauses itself once this many nodes failed since it
	// started or was last resumed. 0 means 1.
	FailureBudget Amount `json:"failure_budget"`
	// NodeTimeoutSeconds: a node out of service longer than this without being healthy
	// fails. 0 means 1800.
	NodeTimeoutSeconds int          `json:"node_timeout_seconds,omitempty"`
	HealthCheck        *HealthCheck `json:"health_check,omitempty"`
	// SteerJobs makes the nodes still to roll Slurm's last choice for new jobs (their
	// scheduling weight raised by SteerWeight until each is handed over, or the rollout
	// aborted), so they empty as their jobs end and are handed over idle. Absent from a
	// create means on (WithDefaults); a stored rollout holds the value it was created
	// with, and one stored without it (created when the default was off) does not steer.
	SteerJobs *bool `json:"steer_jobs,omitempty"`
}

// Steering reports whether a stored rollout steers jobs (SteerJobs).
func (p RolloutPolicy) Steering() bool { return p.SteerJobs != nil && *p.SteerJobs }

// WithDefaults resolves a create's policy: steer_jobs absent means true.
func (p RolloutPolicy) WithDefaults() RolloutPolicy {
	if p.SteerJobs == nil {
		on := true
		p.SteerJobs = &on
	}
	return p
}

// SteerWeight is added to the Slurm weight of a node a steering rollout has yet to roll.
const SteerWeight = 1 << 20

// NodeTimeout is NodeTimeoutSeconds with its default.
func (p RolloutPolicy) NodeTimeout() time.Duration {
	if p.NodeTimeoutSeconds <= 0 {
		return 30 * time.Minute
	}
	return time.Duration(p.NodeTimeoutSeconds) * time.Second
}

// RolloutCreate is the body of POST /v2/rollouts.
type RolloutCreate struct {
	Name         string        `json:"name"`
	TemplateName string        `json:"template_name"`
	Limit        string        `json:"limit,omitempty"`
	Policy       RolloutPolicy `json:"policy"`
}

// Validate checks the body's schema.
func (rc *RolloutCreate) Validate() error {
	var v checker
	v.name("name", rc.Name)
	v.name("template_name", rc.TemplateName)
	v.length("limit", rc.Limit, 0, 65535)
	p := rc.Policy
	if p.Canary < 0 {
		v.addf("policy.canary", "must not be negative (got %d)", p.Canary)
	}
	v.items("policy.canary_nodes", p.CanaryNodes, 0, 10000, 127)
	checkAmount := func(field string, a Amount, least int) {
		switch {
		case a.Percent && (a.N < 1 || a.N > 100):
			v.addf(field, "must be between 1%% and 100%% (got %s)", a)
		case !a.Percent && a.N < least:
			v.addf(field, "must be at least %d (got %d)", least, a.N)
		}
	}
	checkAmount("policy.max_unavailable", p.MaxUnavailable, 1)
	checkAmount("policy.failure_budget", p.FailureBudget, 0)
	if p.NodeTimeoutSeconds < 0 {
		v.addf("policy.node_timeout_seconds", "must not be negative (got %d)", p.NodeTimeoutSeconds)
	}
	if h := p.HealthCheck; h != nil {
		if (h.URL == "") == (len(h.Command) == 0) {
			v.addf("policy.health_check", "set exactly one of url and command")
		}
		if h.URL != "" && !strings.HasPrefix(h.URL, "http://") && !strings.HasPrefix(h.URL, "https://") {
			v.addf("policy.health_check.url", "must be an http or https URL")
		}
		if h.TimeoutSeconds < 0 {
			v.addf("policy.health_check.timeout_seconds", "must not be negative (got %d)", h.TimeoutSeconds)
		}
	}
	return v.err("invalid rollout")
}

// RolloutNode is one node's progress.
type RolloutNode struct {
	Xname  string `json:"xname"`
	Name   string `json:"name"` // Slurm's node name
	Phase  string `json:"phase"`
	Canary bool   `json:"canary,omitempty"`
	// Wave numbers the passes that handed nodes to Slurm (1 the first; canaries are wave 1).
	Wave     int       `json:"wave,omitempty"`
	HandedAt time.Time `json:"handed_at,omitzero"`
	OutAt    time.Time `json:"out_at,omitzero"`
	DoneAt   time.Time `json:"done_at,omitzero"`
	// Reason says why the node failed, or what it waits for.
	Reason string `json:"reason,omitempty"`
	// Weight is the node's Slurm weight before a steering rollout raised it (policy
	// steer_jobs); 0 when not raised or once put back.
	Weight int `json:"weight,omitempty"`
}

// RolloutCounts counts the nodes by phase.
type RolloutCounts struct {
	Total     int `json:"total"`
	Waiting   int `json:"waiting"`
	Handed    int `json:"handed"`
	Out       int `json:"out"`
	Healthy   int `json:"healthy"`
	Failed    int `json:"failed"`
	Cancelled int `json:"cancelled"`
}

// Rollout is the public record (GET /v2/rollouts/{name}).
type Rollout struct {
	Name         string        `json:"name"`
	Tenant       string        `json:"tenant,omitempty"`
	TemplateName string        `json:"template_name"`
	Limit        string        `json:"limit,omitempty"`
	Policy       RolloutPolicy `json:"policy"`
	State        string        `json:"state"`
	// Reason says why the rollout is paused, failed, aborted, or complete with failures.
	Reason string `json:"reason,omitempty"`
	// StageSession is the staged BOS session that set the nodes' staged_state.
	StageSession string `json:"stage_session"`
	// MaxUnavailable and FailureBudget are the policy's amounts resolved to node counts.
	MaxUnavailable int `json:"max_unavailable_nodes,omitempty"`
	FailureBudget  int `json:"failure_budget_nodes,omitempty"`
	// BudgetBase is the failed count at the last resume: the budget counts from it.
	BudgetBase int           `json:"budget_base,omitempty"`
	Waves      int           `json:"waves"`
	Counts     RolloutCounts `json:"counts"`
	Nodes      []RolloutNode `json:"nodes"`
	Created    time.Time     `json:"created"`
	Updated    time.Time     `json:"updated"`
}

// Final reports whether the rollout has ended.
func (r *Rollout) Final() bool {
	return r.State == RolloutAborted || r.State == RolloutComplete || r.State == RolloutFailed
}

// Count recomputes Counts from Nodes.
func (r *Rollout) Count() {
	c := RolloutCounts{Total: len(r.Nodes)}
	for _, n := range r.Nodes {
		switch n.Phase {
		case NodeWaiting:
			c.Waiting++
		case NodeHanded:
			c.Handed++
		case NodeOut:
			c.Out++
		case NodeHealthy:
			c.Healthy++
		case NodeFailed:
			c.Failed++
		case NodeCancelled:
			c.Cancelled++
		}
	}
	r.Counts = c
}

// ApplyCommand changes the state as pause, resume or abort asks; ECONFLICT when the
// state does not allow it.
func (r *Rollout) ApplyCommand(cmd string) error {
	switch {
	case cmd == RolloutPause && (r.State == RolloutRunning || r.State == RolloutStaging):
		r.State, r.Reason = RolloutPaused, "paused by request"
	case cmd == RolloutResume && r.State == RolloutPaused:
		r.State, r.Reason = RolloutRunning, ""
		r.BudgetBase = r.Counts.Failed
		if r.StageSession == "" || len(r.Nodes) == 0 {
			r.State = RolloutStaging
		}
	case cmd == RolloutAbort && !r.Final():
		r.State, r.Reason = RolloutAborting, "aborted by request"
	case cmd != RolloutPause && cmd != RolloutResume && cmd != RolloutAbort:
		return Errorf(EINVALID, "unknown rollout command %q (pause, resume, abort)", cmd)
	default:
		return Errorf(ECONFLICT, "rollout '%s' is %s: cannot %s it", r.Name, r.State, cmd)
	}
	return nil
}
