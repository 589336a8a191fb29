package slurmapi

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Command drives a real slurmctld through its own commands, scontrol and squeue, for
// the calls slurmrestd lacks (reboot, cancel_reboot): the rollout's Slurm port where no
// simulator runs. It reads `scontrol -o show node` and `squeue`, whose times are in the
// controller's local time (Location).
type Command struct {
	// Scontrol and Squeue are the commands' paths ("": found on PATH).
	Scontrol, Squeue string
	// Location is the time zone the commands print times in (nil: time.Local).
	Location *time.Location
	// Run runs a command and returns its output (nil: os/exec, stdout and stderr together).
	Run func(ctx context.Context, name string, args ...string) ([]byte, error)
}

func (c *Command) run(ctx context.Context, name, def string, args ...string) ([]byte, error) {
	if name == "" {
		name = def
	}
	run := c.Run
	if run == nil {
		run = func(ctx context.Context, name string, args ...string) ([]byte, error) {
			return exec.CommandContext(ctx, name, args...).CombinedOutput()
		}
	}
	out, err := run(ctx, name, args...)
	if err != nil {
		msg := strings.TrimSpace(string(out))
		return out, &Error{Code: commandCode(msg), Msg: fmt.Sprintf("%s %s: %v: %s", def, strings.Join(args, " "), err, msg)}
	}
	return out, nil
}

// commandCode classes a failed command by what it printed: a reboot Slurm already issued
// cannot be cancelled (a conflict); an unknown node is not found.
func commandCode(msg string) Code {
	low := strings.ToLower(msg)
	switch {
	case strings.Contains(low, "issued") || strings.Contains(low, "not in a rebootable state"):
		return CodeConflict
	case strings.Contains(low, "invalid node name") || strings.Contains(low, "not found"):
		return CodeNotFound
	}
	return 0 // no code: any other failure
}

func (c *Command) scontrol(ctx context.Context, args ...string) ([]byte, error) {
	return c.run(ctx, c.Scontrol, "scontrol", args...)
}

func (c *Command) loc() *time.Location {
	if c.Location != nil {
		return c.Location
	}
	return time.Local
}

// Nodes is `scontrol -o show node`.
func (c *Command) Nodes(ctx context.Context) ([]Node, error) {
	out, err := c.scontrol(ctx, "-o", "show", "node")
	if err != nil {
		return nil, err
	}
	return ParseShowNode(out, c.loc())
}

// Jobs are the running jobs, `squeue -h -t RUNNING -o %i|%N|%e`: id, nodes, end time.
func (c *Command) Jobs(ctx context.Context) ([]Job, error) {
	out, err := c.run(ctx, c.Squeue, "squeue", "--noheader", "--states=RUNNING", "--format=%i|%N|%e")
	if err != nil {
		return nil, err
	}
	return ParseSqueue(out, c.loc())
}

// Reboot is `scontrol reboot [ASAP] [nextstate=S] [reason=R] NODES`.
func (c *Command) Reboot(ctx context.Context, req RebootRequest) error {
	args := []string{"reboot"}
	if req.ASAP {
		args = append(args, "ASAP")
	}
	if req.NextState != "" {
		args = append(args, "nextstate="+req.NextState)
	}
	if req.Reason != "" {
		args = append(args, "reason="+req.Reason)
	}
	_, err := c.scontrol(ctx, append(args, req.Nodes)...)
	return err
}

// CancelReboot is `scontrol cancel_reboot NODES`.
func (c *Command) CancelReboot(ctx context.Context, nodes string) error {
	_, err := c.scontrol(ctx, "cancel_reboot", nodes)
	return err
}

// UpdateNode is `scontrol update nodename=NODES [state=S] [reason=R] [weight=W]`.
func (c *Command) UpdateNode(ctx context.Context, u NodeUpdate) error {
	args := []string{"update", "nodename=" + u.Nodes}
	if u.State != "" {
		args = append(args, "state="+u.State)
	}
	if u.Weight > 0 {
		args = append(args, "weight="+strconv.Itoa(u.Weight))
	}
	if u.Reason != "" {
		args = append(args, "reason="+u.Reason)
	}
	_, err := c.scontrol(ctx, args...)
	return err
}

// ParseShowNode reads `scontrol -o show node`: one node a line of Key=Value fields.
// Values may hold spaces (OS=, Reason=), so a field runs to the next word shaped Key=;
// Reason, whose free text may hold such words, runs to its closing "[user@time]".
// State flags this package does not model are ignored; a '*' marks not responding.
func ParseShowNode(out []byte, loc *time.Location) ([]Node, error) {
	var nodes []Node
	for line := range strings.SplitSeq(string(out), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		f := showFields(line)
		name := f["NodeName"]
		if name == "" {
			return nil, fmt.Errorf("scontrol show node: a line without NodeName: %.80q", line)
		}
		st, err := parseScontrolState(f["State"])
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", name, err)
		}
		n := Node{Name: name, State: st, Reason: reasonText(f["Reason"]), Partitions: splitList(f["Partitions"])}
		n.CPUs, _ = strconv.Atoi(f["CPUTot"])
		n.AllocCPUs, _ = strconv.Atoi(f["CPUAlloc"])
		n.Weight, _ = strconv.Atoi(f["Weight"])
		if n.BootTime, err = parseSlurmTime(f["BootTime"], loc); err != nil {
			return nil, fmt.Errorf("node %s: BootTime: %w", name, err)
		}
		if n.SlurmdStartTime, err = parseSlurmTime(f["SlurmdStartTime"], loc); err != nil {
			return nil, fmt.Errorf("node %s: SlurmdStartTime: %w", name, err)
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// showFields splits one line of `scontrol -o show` into its fields.
func showFields(line string) map[string]string {
	f := map[string]string{}
	key, inReason := "", false
	for w := range strings.SplitSeq(line, " ") {
		k, v, ok := strings.Cut(w, "=")
		if ok && !inReason && isKey(k) {
			key, f[k] = k, v
			inReason = k == "Reason" && !reasonClosed(v)
			continue
		}
		if key != "" {
			f[key] += " " + w
			if inReason && reasonClosed(w) {
				inReason = false
			}
		}
	}
	return f
}

func isKey(k string) bool {
	if k == "" || k[0] < 'A' || k[0] > 'Z' {
		return false
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// reasonClosed: a Reason ends with "[user@time]".
func reasonClosed(w string) bool { return strings.HasSuffix(w, "]") && strings.Contains(w, "@") }

// reasonText drops the " [user@time]" scontrol appends to a reason.
func reasonText(v string) string {
	if i := strings.LastIndex(v, " ["); i >= 0 && reasonClosed(v) {
		v = v[:i]
	}
	if v == "(null)" || v == "none" {
		return ""
	}
	return v
}

func splitList(v string) []string {
	if v == "" || v == "(null)" {
		return nil
	}
	return strings.Split(v, ",")
}

// parseScontrolState reads State=IDLE+DRAIN+REBOOT_REQUESTED, DOWN*+DRAIN and the like.
func parseScontrolState(v string) (NodeState, error) {
	if v == "" {
		return NodeState{}, fmt.Errorf("no State")
	}
	parts := strings.Split(v, "+")
	notResponding := false
	known := make([]string, 0, len(parts)+1)
	for i, p := range parts {
		if strings.HasSuffix(p, "*") {
			p, notResponding = strings.TrimSuffix(p, "*"), true
		}
		if i == 0 || slicesContainsFold(flagNames[:], p) {
			known = append(known, p)
		}
	}
	if notResponding && !slicesContainsFold(known, "NOT_RESPONDING") {
		known = append(known, "NOT_RESPONDING")
	}
	return ParseNodeState(known)
}

// parseSlurmTime reads Slurm's 2026-12-06T10:00:00 (local time); None, Unknown, N/A and
// the like are the zero time.
func parseSlurmTime(v string, loc *time.Location) (time.Time, error) {
	if v == "" || !strings.ContainsRune(v, 'T') {
		return time.Time{}, nil
	}
	return time.ParseInLocation("2006-01-02T15:04:05", v, loc)
}

// ParseSqueue reads `squeue --noheader --format=%i|%N|%e` of running jobs.
func ParseSqueue(out []byte, loc *time.Location) ([]Job, error) {
	var jobs []Job
	for line := range bytes.SplitSeq(out, []byte("\n")) {
		s := strings.TrimSpace(string(line))
		if s == "" {
			continue
		}
		parts := strings.Split(s, "|")
		if len(parts) != 3 {
			return nil, fmt.Errorf("squeue: want id|nodes|end, got %q", s)
		}
		id, err := strconv.Atoi(strings.TrimSpace(parts[0]))
		if err != nil {
			if _, _, ok := strings.Cut(parts[0], "_"); ok { // an array task: 12_3
				id, err = strconv.Atoi(strings.SplitN(parts[0], "_", 2)[0])
			}
			if err != nil {
				return nil, fmt.Errorf("squeue: job id %q", parts[0])
			}
		}
		end, err := parseSlurmTime(strings.TrimSpace(parts[2]), loc)
		if err != nil {
			return nil, fmt.Errorf("squeue: job %d end time: %w", id, err)
		}
		jobs = append(jobs, Job{ID: id, State: JobRunning, Nodes: strings.TrimSpace(parts[1]), EndTime: end})
	}
	return jobs, nil
}
