package slurmsim

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"time"

	"github.com/cray-bos/bos/api/slurmapi"
)

type workload struct {
	cfg  slurmapi.WorkloadConfig
	rng  *rand.Rand
	part *partition
	seq  int
}

func workloadWithDefaults(c slurmapi.WorkloadConfig) (slurmapi.WorkloadConfig, error) {
	if c.BusyShare <= 0 || c.BusyShare > 1 || math.IsNaN(c.BusyShare) {
		return c, errors.New("workload: busy_share must be in (0, 1]")
	}
	if c.MinNodes == 0 {
		c.MinNodes = 1
	}
	if c.MaxNodes == 0 {
		c.MaxNodes = c.MinNodes
	}
	if c.MinDuration == 0 {
		c.MinDuration = time.Minute
	}
	if c.MaxDuration == 0 {
		c.MaxDuration = max(10*time.Minute, c.MinDuration)
	}
	if c.TimeLimitFactor == 0 {
		c.TimeLimitFactor = 1.5
	}
	switch {
	case c.MinNodes < 1 || c.MaxNodes < c.MinNodes:
		return c, errors.New("workload: need 1 <= min_nodes <= max_nodes")
	case c.MinDuration <= 0 || c.MaxDuration < c.MinDuration:
		return c, errors.New("workload: need 0 < min_duration <= max_duration")
	case c.TimeLimitFactor < 0 || math.IsNaN(c.TimeLimitFactor) || math.IsInf(c.TimeLimitFactor, 0):
		return c, errors.New("workload: time_limit_factor must be positive")
	}
	return c, nil
}

// StartWorkload starts (or replaces) the workload generator; each Tick then submits jobs
// until allocated plus pending nodes reach BusyShare of the partition.
func (s *Server) StartWorkload(cfg slurmapi.WorkloadConfig) error {
	cfg, err := workloadWithDefaults(cfg)
	if err != nil {
		return invalidf(0, "%v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.defPart
	if cfg.Partition != "" {
		p = s.partitionNamed(cfg.Partition)
	}
	if p == nil {
		return invalidf(slurmapi.ErrnoInvalidPartitionName, "Invalid partition name specified")
	}
	if cfg.MaxNodes > len(p.nodes) {
		return invalidf(slurmapi.ErrnoInvalidNodeCount, "workload: max_nodes %d exceeds the %d nodes of partition %s", cfg.MaxNodes, len(p.nodes), p.name)
	}
	if p.maxTime > 0 && time.Duration(math.Ceil(float64(cfg.MaxDuration)*cfg.TimeLimitFactor)) > p.maxTime {
		return invalidf(0, "workload: jobs would exceed partition %s MaxTime", p.name)
	}
	cfg.Partition = p.name
	s.workload = &workload{cfg: cfg, rng: rand.New(rand.NewSource(cfg.Seed)), part: p}
	s.cfg.Logger.Info("workload started", "busy_share", cfg.BusyShare, "partition", p.name)
	return nil
}

// StopWorkload stops submitting; jobs already submitted run to their end.
func (s *Server) StopWorkload() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.workload = nil
}

// Workload returns the running generator's configuration, if any.
func (s *Server) Workload() (slurmapi.WorkloadConfig, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.workload == nil {
		return slurmapi.WorkloadConfig{}, false
	}
	return s.workload.cfg, true
}

// step submits jobs until demand (allocated nodes plus nodes wanted by pending jobs of
// the partition) reaches the target. The caller holds the lock.
func (w *workload) step(s *Server, now time.Time) {
	total := len(w.part.nodes)
	target := int(math.Round(w.cfg.BusyShare * float64(total)))
	demand := 0
	for _, n := range w.part.nodes {
		if len(n.jobs) > 0 {
			demand++
		}
	}
	for _, j := range s.pending {
		if j.part == w.part {
			demand += j.numNodes
		}
	}
	for demand < target {
		size := w.cfg.MinNodes + w.rng.Intn(w.cfg.MaxNodes-w.cfg.MinNodes+1)
		span := int64(w.cfg.MaxDuration - w.cfg.MinDuration)
		d := w.cfg.MinDuration
		if span > 0 {
			d += time.Duration(w.rng.Int63n(span + 1))
		}
		d = d.Round(time.Second)
		if d <= 0 {
			d = time.Second
		}
		limit := time.Duration(math.Ceil(float64(d)*w.cfg.TimeLimitFactor/float64(time.Second))) * time.Second
		if limit <= 0 {
			limit = time.Second
		}
		w.seq++
		if _, err := s.newJob(slurmapi.JobDesc{Name: fmt.Sprintf("wl%d", w.seq), Partition: w.part.name, User: "workload",
			Nodes: size, TimeLimit: limit, Duration: d}, now); err != nil {
			s.cfg.Logger.Error("workload: submit failed", "err", err)
			return
		}
		demand += size
	}
}
