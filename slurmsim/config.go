package slurmsim

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/cray-bos/bos/api/slurmapi/hostlist"
	"github.com/cray-bos/bos/internal/topology"
)

// Config describes the simulated cluster and the controller's timing. Zero values mean
// the Slurm defaults given per field.
type Config struct {
	// Nodes are the Slurm nodes, in NodeName order (the order the scheduler fills them in
	// and RebootProgram lists them in). Required.
	Nodes []NodeSpec
	// Partitions; empty means one default partition "workq" holding every node.
	Partitions []PartitionSpec

	// RebootProgram is run (as with SlurmctldParameters=reboot_from_controller) once per
	// batch of nodes whose reboot is issued in the same controller pass. nil means
	// "RebootProgram isn't defined": scontrol reboot is refused, as in Slurm.
	RebootProgram RebootProgram
	// ResumeTimeout: an issued reboot that has not completed after this long marks the node
	// DOWN with " : reboot timed out". Default 60s (Slurm's default).
	ResumeTimeout time.Duration
	// PeriodicInterval is how often the reboot-timeout check runs (slurmctld's
	// PERIODIC_TIMEOUT), so a timeout is noticed up to this late. Default 30s.
	PeriodicInterval time.Duration
	// SlurmdTimeout: a node whose slurmd has not answered for this long is set DOWN with
	// reason "Not responding" (its jobs fail). Default 300s (Slurm's default).
	SlurmdTimeout time.Duration
	// ReturnToService is slurm.conf's ReturnToService: 0 (default) a DOWN node stays DOWN
	// until resumed; 1 a node DOWN only for "Not responding" returns when its slurmd
	// answers; 2 any node the controller (not an administrator) set DOWN returns when its
	// slurmd answers. A completed reboot returns a node regardless.
	ReturnToService int
	// Epilog is how long nodes stay COMPLETING after a job ends. Default 0 (no epilog).
	Epilog time.Duration
	// MinJobAge is how long a finished job stays visible. Default 300s (Slurm's default).
	MinJobAge time.Duration
	// JobsWinRebootRace lets the scheduler place a job on an idle node whose non-ASAP
	// reboot is requested but not yet issued. Default false: the reboot wins, as observed
	// on real Slurm (which races the two).
	JobsWinRebootRace bool
	// InitialState of every node: "IDLE" (default: booted, slurmd responding, boot time =
	// Now at New) or "UNKNOWN" (UNKNOWN+NOT_RESPONDING until its slurmd first registers,
	// like a freshly started slurmctld with no saved state).
	InitialState string
	// HistoryPerNode bounds the state transitions kept per node. Default 64.
	HistoryPerNode int
	// TickInterval is the real-time driver's period (Run). Default 1s, like slurmctld's
	// background loop.
	TickInterval time.Duration

	// Now is the clock; nil means time.Now. Tests inject a fake and call Tick themselves.
	Now func() time.Time
	// Logger receives slurmctld-style messages; nil discards them.
	Logger *slog.Logger
}

// NodeSpec is one NodeName line of slurm.conf.
type NodeSpec struct {
	Name  string // e.g. nid000001; required, unique
	Xname string // optional; lets OnBooted/OnPowerChange hooks keyed by xname find the node
	CPUs  int    // default 128
}

// PartitionSpec is one PartitionName line of slurm.conf.
type PartitionSpec struct {
	Name    string
	Nodes   string        // hostlist; empty or "ALL" means every node
	Default bool          // jobs without a partition go to the first default partition
	MaxTime time.Duration // 0 means UNLIMITED
}

// DefaultPartition is the partition made when Config.Partitions is empty (HPE's usual name).
const DefaultPartition = "workq"

// Default values.
const (
	DefaultResumeTimeout    = 60 * time.Second
	DefaultPeriodicInterval = 30 * time.Second
	DefaultSlurmdTimeout    = 300 * time.Second
	DefaultMinJobAge        = 300 * time.Second
	DefaultHistoryPerNode   = 64
	DefaultCPUs             = 128
)

// NodesFromTopology returns a NodeSpec per compute node of t (name and xname), in NID order.
func NodesFromTopology(t *topology.Topology) []NodeSpec {
	var out []NodeSpec
	for _, n := range t.Nodes {
		if n.Role == topology.RoleCompute {
			out = append(out, NodeSpec{Name: n.Name, Xname: n.Xname})
		}
	}
	return out
}

// withDefaults validates c and fills defaults; it does not modify the caller's value.
func (c Config) withDefaults() (Config, error) {
	if len(c.Nodes) == 0 {
		return c, errors.New("slurmsim: config: no nodes")
	}
	seen := make(map[string]bool, len(c.Nodes))
	for _, n := range c.Nodes {
		if n.Name == "" || strings.ContainsAny(n.Name, "[],= \t") {
			return c, fmt.Errorf("slurmsim: config: invalid node name %q", n.Name)
		}
		if seen[n.Name] {
			return c, fmt.Errorf("slurmsim: config: node %s listed twice", n.Name)
		}
		seen[n.Name] = true
		if n.CPUs < 0 {
			return c, fmt.Errorf("slurmsim: config: node %s: negative CPUs", n.Name)
		}
	}
	if c.ReturnToService < 0 || c.ReturnToService > 2 {
		return c, fmt.Errorf("slurmsim: config: ReturnToService must be 0, 1 or 2, not %d", c.ReturnToService)
	}
	switch strings.ToUpper(c.InitialState) {
	case "", "IDLE", "UNKNOWN":
	default:
		return c, fmt.Errorf("slurmsim: config: InitialState must be IDLE or UNKNOWN, not %q", c.InitialState)
	}
	for _, d := range []time.Duration{c.ResumeTimeout, c.PeriodicInterval, c.SlurmdTimeout, c.Epilog, c.MinJobAge, c.TickInterval} {
		if d < 0 {
			return c, errors.New("slurmsim: config: durations must not be negative")
		}
	}
	if c.HistoryPerNode < 0 {
		return c, errors.New("slurmsim: config: HistoryPerNode must not be negative")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.ResumeTimeout, DefaultResumeTimeout)
	def(&c.PeriodicInterval, DefaultPeriodicInterval)
	def(&c.SlurmdTimeout, DefaultSlurmdTimeout)
	def(&c.MinJobAge, DefaultMinJobAge)
	def(&c.TickInterval, time.Second)
	if c.HistoryPerNode == 0 {
		c.HistoryPerNode = DefaultHistoryPerNode
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if len(c.Partitions) == 0 {
		c.Partitions = []PartitionSpec{{Name: DefaultPartition, Default: true}}
	}
	parts := make(map[string]bool)
	for _, p := range c.Partitions {
		if p.Name == "" || parts[p.Name] {
			return c, fmt.Errorf("slurmsim: config: partition name %q empty or repeated", p.Name)
		}
		parts[p.Name] = true
		if p.Nodes != "" && !strings.EqualFold(p.Nodes, "ALL") {
			names, err := hostlist.Expand(p.Nodes)
			if err != nil {
				return c, fmt.Errorf("slurmsim: config: partition %s: %w", p.Name, err)
			}
			for _, n := range names {
				if !seen[n] {
					return c, fmt.Errorf("slurmsim: config: partition %s: unknown node %s", p.Name, n)
				}
			}
		}
	}
	return c, nil
}
