package slurmsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/api/slurmapi/hostlist"
)

// ScontrolUsage is the help text of the Scontrol front end.
const ScontrolUsage = `scontrol, the subset the simulator implements:
  reboot [ASAP] [nextstate=RESUME|DOWN] [reason=<text>] ALL|<nodes>
  cancel_reboot <nodes>
  update NodeName=<nodes> State=DRAIN|DOWN|FAIL|RESUME|UNDRAIN|CANCEL_REBOOT [Reason=<text>]
  show node[s] [<nodes>]     show job[s] [<id>]     show partition[s] [<name>]
  show hostnames <hostlist>  show hostlist <names>  show hostlistsorted <names>

` + hostlist.Docstring

// Scontrol runs one scontrol command line against the simulator, printing what scontrol
// prints. Errors carry scontrol's message; the caller prints them and exits 1.
func Scontrol(ctx context.Context, c *slurmapi.Client, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("no command given\n" + ScontrolUsage)
	}
	cmd, rest := strings.ToLower(args[0]), args[1:]
	switch cmd {
	case "reboot", "reboot_nodes":
		req, err := parseReboot(rest)
		if err != nil {
			return err
		}
		if err := c.Reboot(ctx, req); err != nil {
			return fmt.Errorf("scontrol_reboot_nodes error: %w", err)
		}
		return nil
	case "cancel_reboot":
		if len(rest) != 1 {
			return errors.New("Missing node list. Specify ALL|<NodeList>")
		}
		if err := c.CancelReboot(ctx, rest[0]); err != nil {
			return fmt.Errorf("slurm_update error: %w", err)
		}
		return nil
	case "update":
		u, err := parseUpdate(rest)
		if err != nil {
			return err
		}
		if err := c.UpdateNode(ctx, u); err != nil {
			return fmt.Errorf("slurm_update error: %w", err)
		}
		return nil
	case "show":
		return scontrolShow(ctx, c, rest, stdout)
	case "help", "-h", "--help":
		_, err := io.WriteString(stdout, ScontrolUsage+"\n")
		return err
	}
	return fmt.Errorf("invalid keyword: %s\n%s", args[0], ScontrolUsage)
}

// keyValue splits "Key=value" with a case-insensitive key.
func keyValue(arg string) (key, value string, ok bool) {
	k, v, ok := strings.Cut(arg, "=")
	return strings.ToLower(k), v, ok
}

func parseReboot(args []string) (slurmapi.RebootRequest, error) {
	var req slurmapi.RebootRequest
	for _, a := range args {
		k, v, isKV := keyValue(a)
		switch {
		case strings.EqualFold(a, "ASAP"):
			req.ASAP = true
		case isKV && k == "nextstate":
			if _, err := slurmapi.ParseNextState(v); err != nil {
				return req, err
			}
			req.NextState = v
		case isKV && k == "reason":
			req.Reason = v
		case isKV:
			return req, fmt.Errorf("Invalid input: %s", a)
		case req.Nodes != "":
			return req, fmt.Errorf("Only one node list may be specified, not %s and %s", req.Nodes, a)
		default:
			req.Nodes = a
		}
	}
	if req.Nodes == "" {
		return req, errors.New("Missing node list. Specify ALL|<NodeList>")
	}
	return req, nil
}

func parseUpdate(args []string) (slurmapi.NodeUpdate, error) {
	var u slurmapi.NodeUpdate
	for _, a := range args {
		k, v, ok := keyValue(a)
		switch {
		case !ok:
			return u, fmt.Errorf("Invalid input: %s\nRequest aborted", a)
		case k == "nodename":
			u.Nodes = v
		case k == "state":
			u.State = v
		case k == "reason":
			u.Reason = v
		case k == "weight":
			w, err := strconv.Atoi(v)
			if err != nil || w < 1 {
				return u, fmt.Errorf("Invalid weight: %s\nRequest aborted", v)
			}
			u.Weight = w
		default:
			return u, fmt.Errorf("Update of this parameter is not supported: %s\nRequest aborted", a)
		}
	}
	if u.Nodes == "" {
		return u, errors.New("No valid entity in update command\nInput line must include \"NodeName\"")
	}
	switch strings.ToUpper(u.State) {
	case "DRAIN", "DOWN", "FAIL":
		if u.Reason == "" {
			return u, errors.New("You must specify a reason when DOWNING or DRAINING a node. Request denied")
		}
	}
	return u, nil
}

func scontrolShow(ctx context.Context, c *slurmapi.Client, args []string, w io.Writer) error {
	if len(args) == 0 {
		return errors.New("too few arguments for keyword:show")
	}
	what, arg := strings.ToLower(args[0]), ""
	if len(args) > 1 {
		arg = args[1]
	}
	if len(args) > 2 {
		return fmt.Errorf("too many arguments for keyword:show")
	}
	switch what {
	case "hostnames":
		names, err := hostlist.Expand(arg)
		if err != nil {
			return err
		}
		for _, n := range names {
			fmt.Fprintln(w, n)
		}
		return nil
	case "hostlist", "hostlistsorted":
		names, err := hostlist.Expand(arg) // accepts plain comma lists too
		if err != nil {
			return err
		}
		if what == "hostlist" {
			fmt.Fprintln(w, hostlist.Compress(names))
		} else {
			fmt.Fprintln(w, hostlist.CompressSorted(names))
		}
		return nil
	case "node", "nodes":
		var nodes []slurmapi.Node
		var err error
		if arg == "" {
			nodes, err = c.Nodes(ctx)
		} else if nodes, err = c.Node(ctx, arg); slurmapi.CodeOf(err) == slurmapi.CodeNotFound {
			return fmt.Errorf("Node %s not found", arg)
		}
		if err != nil {
			return err
		}
		for i, n := range nodes {
			if i > 0 {
				fmt.Fprintln(w)
			}
			WriteNode(w, n)
		}
		return nil
	case "job", "jobs":
		var jobs []slurmapi.Job
		if arg == "" {
			js, err := c.Jobs(ctx)
			if err != nil {
				return err
			}
			if len(js) == 0 {
				fmt.Fprintln(w, "No jobs in the system")
				return nil
			}
			jobs = js
		} else {
			id, err := strconv.Atoi(arg)
			if err != nil {
				return fmt.Errorf("Invalid job id specified")
			}
			j, err := c.Job(ctx, id)
			if err != nil {
				return fmt.Errorf("slurm_load_jobs error: %w", err)
			}
			jobs = []slurmapi.Job{j}
		}
		for i, j := range jobs {
			if i > 0 {
				fmt.Fprintln(w)
			}
			writeJob(w, j)
		}
		return nil
	case "partition", "partitions":
		parts, err := c.Partitions(ctx)
		if err != nil {
			return err
		}
		shown := 0
		for _, p := range parts {
			if arg != "" && p.Name != arg {
				continue
			}
			if shown > 0 {
				fmt.Fprintln(w)
			}
			shown++
			def := "NO"
			if p.Default {
				def = "YES"
			}
			fmt.Fprintf(w, "PartitionName=%s\n   Default=%s MaxTime=%s State=UP\n   Nodes=%s\n   TotalNodes=%d\n",
				p.Name, def, timeLimit(p.MaxTime, "UNLIMITED"), hostlist.Compress(p.Nodes), len(p.Nodes))
		}
		if arg != "" && shown == 0 {
			return fmt.Errorf("Partition %s not found", arg)
		}
		return nil
	}
	return fmt.Errorf("invalid entity:%s for keyword:show", args[0])
}

// WriteNode prints a node as `scontrol show node` does (the fields the simulator models),
// so text parsers written for real Slurm (State=..., Reason=...) work on either.
func WriteNode(w io.Writer, n slurmapi.Node) {
	fmt.Fprintf(w, "NodeName=%s Arch=x86_64 CoresPerSocket=%d \n", n.Name, max(n.CPUs/2, 1))
	fmt.Fprintf(w, "   CPUAlloc=%d CPUEfctv=%d CPUTot=%d CPULoad=0.00\n", n.AllocCPUs, n.CPUs, n.CPUs)
	fmt.Fprintf(w, "   NodeAddr=%s NodeHostName=%s Version=%s\n", n.Name, n.Name, slurmapi.Release)
	fmt.Fprintf(w, "   RealMemory=1 AllocMem=0 FreeMem=N/A Sockets=2 Boards=1\n")
	fmt.Fprintf(w, "   State=%s ThreadsPerCore=1 TmpDisk=0 Weight=%d Owner=N/A MCS_label=N/A\n", n.State, max(n.Weight, 1))
	if n.NextState != slurmapi.NextNone {
		fmt.Fprintf(w, "   NextState=%s\n", n.NextState)
	}
	fmt.Fprintf(w, "   Partitions=%s \n", strings.Join(n.Partitions, ","))
	fmt.Fprintf(w, "   BootTime=%s SlurmdStartTime=%s\n", orNone(n.BootTime), orNone(n.SlurmdStartTime))
	fmt.Fprintf(w, "   LastBusyTime=%s\n", orNone(n.LastBusy))
	if n.Reason != "" {
		fmt.Fprintf(w, "   Reason=%s [%s@%s]\n", n.Reason, n.ReasonUser, slurmTime(n.ReasonTime))
	}
}

func orNone(t time.Time) string {
	if t.IsZero() {
		return "None"
	}
	return slurmTime(t)
}

func writeJob(w io.Writer, j slurmapi.Job) {
	state, _ := jobStates(j)
	nodes := j.Nodes
	if nodes == "" {
		nodes = "(null)"
	}
	fmt.Fprintf(w, "JobId=%d JobName=%s\n", j.ID, j.Name)
	fmt.Fprintf(w, "   UserId=%s JobState=%s Reason=%s\n", j.User, state, j.Reason)
	fmt.Fprintf(w, "   TimeLimit=%s\n", timeLimit(j.TimeLimit, "UNLIMITED"))
	fmt.Fprintf(w, "   SubmitTime=%s StartTime=%s EndTime=%s\n", orNone(j.SubmitTime), orNone(j.StartTime), orNone(j.EndTime))
	fmt.Fprintf(w, "   Partition=%s\n", j.Partition)
	fmt.Fprintf(w, "   NodeList=%s\n", nodes)
	fmt.Fprintf(w, "   NumNodes=%d\n", j.NumNodes)
}

// SinfoUsage is the help text of the Sinfo front end.
const SinfoUsage = `sinfo [-N] [-R] [-h] [-o <format>] [-n <nodes>] [-p <partition>]
  format letters: %P partition (* = default) %R partition %a avail %l time limit %D nodes
  %t state %T long state %N node list %E reason %u reason user %H reason time %c CPUs`

// Sinfo runs sinfo: by default one line per partition and state, -N one line per node,
// -R the reasons of DOWN, DRAINED and FAIL nodes.
func Sinfo(ctx context.Context, c *slurmapi.Client, args []string, stdout io.Writer) error {
	var nodeMode, reasons, noHeader bool
	var format, nodeFilter, partFilter string
	for i := 0; i < len(args); i++ {
		a := args[i]
		value := func() (string, error) { return optionValue("sinfo", args, &i) }
		var err error
		switch {
		case a == "-N" || a == "--Node":
			nodeMode = true
		case a == "-R" || a == "--list-reasons":
			reasons = true
		case a == "-h" || a == "--noheader":
			noHeader = true
		case strings.HasPrefix(a, "-o") || strings.HasPrefix(a, "--format"):
			format, err = value()
		case strings.HasPrefix(a, "-n") || strings.HasPrefix(a, "--nodes"):
			nodeFilter, err = value()
		case strings.HasPrefix(a, "-p") || strings.HasPrefix(a, "--partition"):
			partFilter, err = value()
		case a == "--help" || a == "--usage":
			_, err = io.WriteString(stdout, SinfoUsage+"\n")
			return err
		default:
			return fmt.Errorf("sinfo: unrecognized option '%s'\n%s", a, SinfoUsage)
		}
		if err != nil {
			return err
		}
	}
	if format == "" {
		switch {
		case reasons:
			format = "%20E %9u %19H %N"
		case nodeMode:
			format = "%#N %.6D %.#P %6t" // real sinfo -N right-aligns the partition
		default:
			format = "%#P %.5a %.10l %.6D %.6t %N"
		}
	}
	fields, err := parseFormat(format, "PRalDtTNEuHc")
	if err != nil {
		return fmt.Errorf("sinfo: %w", err)
	}
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return err
	}
	parts, err := c.Partitions(ctx)
	if err != nil {
		return err
	}
	want, err := hostSet(nodeFilter)
	if err != nil {
		return fmt.Errorf("sinfo: %w", err)
	}
	byName := make(map[string]slurmapi.Node, len(nodes))
	for _, n := range nodes {
		byName[n.Name] = n
	}

	// One candidate row per (partition, node), then grouped unless node-oriented.
	type group struct {
		vals  map[byte]string
		names []string
	}
	var groups []*group
	index := map[string]*group{}
	for _, p := range parts {
		if partFilter != "" && p.Name != partFilter {
			continue
		}
		for _, name := range p.Nodes {
			n, ok := byName[name]
			if !ok || (want != nil && !want[name]) {
				continue
			}
			if reasons && !n.State.Has(slurmapi.FlagDrain) && !n.State.Has(slurmapi.FlagFail) && n.State.Base != slurmapi.StateDown {
				continue
			}
			vals := sinfoValues(p, n)
			key := groupKey(fields, vals)
			if nodeMode {
				key = name + "\x00" + key
			}
			g := index[key]
			if g == nil {
				g = &group{vals: vals}
				index[key] = g
				groups = append(groups, g)
			}
			g.names = append(g.names, name)
		}
	}
	rows := make([]map[byte]string, len(groups))
	for i, g := range groups {
		g.vals['N'] = hostlist.Compress(g.names)
		g.vals['D'] = strconv.Itoa(len(g.names))
		rows[i] = g.vals
	}
	headers := map[byte]string{'P': "PARTITION", 'R': "PARTITION", 'a': "AVAIL", 'l': "TIMELIMIT", 'D': "NODES",
		't': "STATE", 'T': "STATE", 'N': "NODELIST", 'E': "REASON", 'u': "USER", 'H': "TIMESTAMP", 'c': "CPUS"}
	_, err = io.WriteString(stdout, table(fields, headers, rows, !noHeader))
	return err
}

func sinfoValues(p slurmapi.Partition, n slurmapi.Node) map[byte]string {
	name := p.Name
	if p.Default {
		name += "*"
	}
	reason, user, when := n.Reason, n.ReasonUser, slurmTime(n.ReasonTime)
	if reason == "" {
		reason, user = "none", "Unknown"
	}
	return map[byte]string{
		'P': name, 'R': p.Name, 'a': "up", 'l': timeLimit(p.MaxTime, "infinite"),
		't': strings.ToLower(n.State.Compact()), 'T': strings.ToLower(n.State.Long()),
		'E': reason, 'u': user, 'H': when, 'c': strconv.Itoa(n.CPUs),
	}
}

// groupKey is the printed values of every field but the node list and count.
func groupKey(fields []field, vals map[byte]string) string {
	var b strings.Builder
	for _, f := range fields {
		if f.spec != 0 && f.spec != 'N' && f.spec != 'D' {
			b.WriteString(vals[f.spec])
			b.WriteByte(0)
		}
	}
	return b.String()
}

// optionValue is the value of the option at args[*i]: after the "=" of --opt=v, glued to
// a short option (-o%N), or else the next argument, which *i then moves past.
func optionValue(prog string, args []string, i *int) (string, error) {
	a := args[*i]
	if _, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(a, "--") {
		return v, nil
	}
	if len(a) > 2 && a[1] != '-' {
		return a[2:], nil
	}
	if *i+1 >= len(args) {
		return "", fmt.Errorf("%s: option %s requires an argument", prog, a)
	}
	*i++
	return args[*i], nil
}

// hostSet is the set of names a -n/-w hostlist filter names; no filter gives nil.
func hostSet(expr string) (map[string]bool, error) {
	if expr == "" {
		return nil, nil
	}
	names, err := hostlist.Expand(expr)
	if err != nil {
		return nil, err
	}
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[n] = true
	}
	return set, nil
}

// SqueueUsage is the help text of the Squeue front end.
const SqueueUsage = `squeue [-h] [-o <format>] [-j <ids>] [-t <states>|all] [-w <nodes>] [-p <partition>]
  format letters: %i id %P partition %j name %u user %t state %T long state %M time used
  %l time limit %D nodes %R reason or node list %N node list %S start time`

// Squeue runs squeue: pending, running and completing jobs (all with -t all).
func Squeue(ctx context.Context, c *slurmapi.Client, args []string, stdout io.Writer) error {
	var noHeader bool
	format := "%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R"
	var ids, states []string
	var nodeFilter, partFilter string
	for i := 0; i < len(args); i++ {
		a := args[i]
		value := func() (string, error) { return optionValue("squeue", args, &i) }
		var v string
		var err error
		switch {
		case a == "-h" || a == "--noheader":
			noHeader = true
		case strings.HasPrefix(a, "-o") || strings.HasPrefix(a, "--format"):
			format, err = value()
		case strings.HasPrefix(a, "-j") || strings.HasPrefix(a, "--jobs"):
			v, err = value()
			ids = strings.Split(v, ",")
		case strings.HasPrefix(a, "-t") || strings.HasPrefix(a, "--states"):
			v, err = value()
			states = strings.Split(strings.ToUpper(v), ",")
		case strings.HasPrefix(a, "-w") || strings.HasPrefix(a, "--nodelist"):
			nodeFilter, err = value()
		case strings.HasPrefix(a, "-p") || strings.HasPrefix(a, "--partition"):
			partFilter, err = value()
		case a == "--help" || a == "--usage":
			_, err = io.WriteString(stdout, SqueueUsage+"\n")
			return err
		default:
			return fmt.Errorf("squeue: unrecognized option '%s'\n%s", a, SqueueUsage)
		}
		if err != nil {
			return err
		}
	}
	fields, err := parseFormat(format, "iPjutTMlDRNS")
	if err != nil {
		return fmt.Errorf("squeue: %w", err)
	}
	jobs, now, err := c.JobsAt(ctx)
	if err != nil {
		return err
	}
	onNodes, err := hostSet(nodeFilter)
	if err != nil {
		return fmt.Errorf("squeue: %w", err)
	}
	var rows []map[byte]string
	for _, j := range jobs {
		if !jobSelected(j, ids, states, partFilter, onNodes) {
			continue
		}
		rows = append(rows, squeueValues(j, now))
	}
	headers := map[byte]string{'i': "JOBID", 'P': "PARTITION", 'j': "NAME", 'u': "USER", 't': "ST", 'T': "STATE",
		'M': "TIME", 'l': "TIME_LIMIT", 'D': "NODES", 'R': "NODELIST(REASON)", 'N': "NODELIST", 'S': "START_TIME"}
	_, err = io.WriteString(stdout, table(fields, headers, rows, !noHeader))
	return err
}

func jobSelected(j slurmapi.Job, ids, states []string, part string, onNodes map[string]bool) bool {
	if len(ids) > 0 && !slices.Contains(ids, strconv.Itoa(j.ID)) {
		return false
	}
	if part != "" && j.Partition != part {
		return false
	}
	long, short := jobStates(j)
	switch {
	case slices.Contains(states, "ALL"):
	case len(states) > 0:
		if !slices.Contains(states, long) && !slices.Contains(states, short) {
			return false
		}
	default:
		if long != "PENDING" && long != "RUNNING" && long != "COMPLETING" {
			return false
		}
	}
	if onNodes != nil {
		names, _ := hostlist.Expand(j.Nodes)
		if !slices.ContainsFunc(names, func(n string) bool { return onNodes[n] }) {
			return false
		}
	}
	return true
}

// jobStates is the job's state as squeue and scontrol show it, long and short: COMPLETING
// (CG) while the epilog runs.
func jobStates(j slurmapi.Job) (long, short string) {
	if j.Completing {
		return "COMPLETING", "CG"
	}
	return string(j.State), j.State.Compact()
}

func squeueValues(j slurmapi.Job, now time.Time) map[byte]string {
	long, short := jobStates(j)
	var used time.Duration
	switch {
	case j.State == slurmapi.JobRunning:
		used = now.Sub(j.StartTime)
	case !j.StartTime.IsZero() && !j.EndTime.IsZero():
		used = j.EndTime.Sub(j.StartTime)
	}
	reason := j.Nodes
	if j.State == slurmapi.JobPending {
		reason = "(" + j.Reason + ")"
	}
	start := "N/A"
	if !j.StartTime.IsZero() {
		start = slurmTime(j.StartTime)
	}
	return map[byte]string{
		'i': strconv.Itoa(j.ID), 'P': j.Partition, 'j': j.Name, 'u': j.User, 't': short, 'T': long,
		'M': slurmDuration(used), 'l': timeLimit(j.TimeLimit, "UNLIMITED"), 'D': strconv.Itoa(j.NumNodes),
		'R': reason, 'N': j.Nodes, 'S': start,
	}
}
