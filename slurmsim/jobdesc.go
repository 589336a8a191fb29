package slurmsim

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/cray-bos/bos/api/slurmapi"
)

var sleepRE = regexp.MustCompile(`(?m)^\s*(?:srun\s+)?sleep\s+([0-9]+(?:\.[0-9]+)?)\s*$`)

// toJobDesc validates a submission and turns it into a JobDesc.
func jobDesc(r slurmapi.APIJobSubmit, user string) (slurmapi.JobDesc, error) {
	if r.Job == nil {
		return slurmapi.JobDesc{}, invalidf(0, "job description (\"job\") is required")
	}
	a := *r.Job
	d := slurmapi.JobDesc{Name: a.Name, Partition: a.Partition, User: user, CPUsPerNode: a.MinimumCpusPerNode}
	switch {
	case a.Nodes != "":
		lo, _, _ := strings.Cut(a.Nodes, "-")
		n, err := strconv.Atoi(lo)
		if err != nil {
			return slurmapi.JobDesc{}, invalidf(slurmapi.ErrnoInvalidNodeCount, "Node count specification invalid")
		}
		d.Nodes = n
	case a.MinimumNodes > 0:
		d.Nodes = a.MinimumNodes
	default:
		d.Nodes = 1
	}
	if a.TimeLimit != nil {
		d.TimeLimit = a.TimeLimit.Minutes()
	}
	if a.SimTimeLimit < 0 || a.SimDuration < 0 {
		return slurmapi.JobDesc{}, invalidf(0, "sim_time_limit and sim_duration must not be negative")
	}
	if a.SimTimeLimit > 0 {
		d.TimeLimit = slurmapi.SecondsDuration(a.SimTimeLimit)
	}
	d.Duration = slurmapi.SecondsDuration(a.SimDuration)
	if d.Duration == 0 {
		script := a.Script
		if script == "" {
			script = r.Script
		}
		if m := sleepRE.FindStringSubmatch(script); m != nil {
			secs, _ := strconv.ParseFloat(m[1], 64)
			d.Duration = slurmapi.SecondsDuration(secs)
		}
	}
	return d, nil
}
