package webui

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/api/slurmapi/hostlist"
	"github.com/cray-bos/bos/internal/xname"
	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
)

// Slurm is what the view reads from Slurm (slurmrestd); *slurmapi.Client is one.
type Slurm interface {
	Nodes(ctx context.Context) ([]slurmapi.Node, error)
	Jobs(ctx context.Context) ([]slurmapi.Job, error)
}

// NIDs reads the xname of every node by its NID (HSM), to name Slurm's nidNNNNNN nodes.
type NIDs func(ctx context.Context) (map[int]string, error)

// RefreshEvery is how often the view reads Slurm (and the staged sessions), at most.
const RefreshEvery = 1500 * time.Millisecond

// nidsEvery is how often an unknown nid name makes the view read the NIDs again, at most.
const nidsEvery = 30 * time.Second

// rollingInputs is what the rolling states are decided from beyond each node's record:
// the staged sessions and Slurm's nodes, read at most once per RefreshEvery whatever the
// number of browsers and clicks. Its maps are replaced on each read, never changed, so
// a reader may keep them.
type rollingInputs struct {
	st    *store.Store
	slurm Slurm // nil: no Slurm
	nids  NIDs
	every time.Duration
	log   *slog.Logger
	// changed is told the nodes whose Slurm state, reason or jobs changed, by whichever
	// caller read them (a browser's stream, a snapshot or a click).
	changed func(ids []string)

	refreshing sync.Mutex // one read at a time; held across I/O

	mu       sync.Mutex // guards the fields below; never held across I/O
	stagedAt time.Time  // last read of the staged sessions (zero: never)
	slurmAt  time.Time  // last read of Slurm (zero: never)
	staged   map[string]bool
	nodes    map[string]*SlurmNode // by xname
	slurmErr string                // the last Slurm read's error ("": none)
	byNID    map[int]string
	nidsAt   time.Time
}

// inputsView is one read of the inputs.
type inputsView struct {
	staged   map[string]bool
	nodes    map[string]*SlurmNode
	slurmErr string
}

func (in *rollingInputs) current() inputsView {
	in.mu.Lock()
	defer in.mu.Unlock()
	return inputsView{staged: in.staged, nodes: in.nodes, slurmErr: in.slurmErr}
}

// get returns the inputs, each read first when its last read is older than every.
func (in *rollingInputs) get(ctx context.Context) inputsView {
	in.refresh(ctx, false)
	return in.current()
}

// refresh reads the inputs whose last read is older than every, and tells changed the
// nodes whose Slurm state, reason or jobs changed. With whileStaged, Slurm is read only
// while a staged session exists (the streams' follower: without one every node's
// rolling state is none whatever Slurm says; a click still reads Slurm for its panel).
func (in *rollingInputs) refresh(ctx context.Context, whileStaged bool) {
	if ids := in.read(ctx, whileStaged); len(ids) > 0 && in.changed != nil {
		in.changed(ids)
	}
}

func (in *rollingInputs) read(ctx context.Context, whileStaged bool) (changed []string) {
	in.refreshing.Lock()
	defer in.refreshing.Unlock()
	due := func(at time.Time) bool { return at.IsZero() || time.Since(at) >= in.every }
	in.mu.Lock()
	stagedDue, slurmDue, staged := due(in.stagedAt), in.slurm != nil && due(in.slurmAt), in.staged
	in.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if stagedDue {
		read, err := in.readStaged(ctx)
		if err != nil {
			in.log.Warn("web view: reading the staged sessions", "err", err)
		}
		in.mu.Lock()
		in.stagedAt = time.Now()
		if read != nil {
			in.staged, staged = read, read
		}
		in.mu.Unlock()
	}
	if !slurmDue || whileStaged && len(staged) == 0 {
		return nil
	}
	nodes, err := in.readSlurm(ctx)
	slurmErr := ""
	if err != nil {
		slurmErr = err.Error()
		in.log.Warn("web view: reading Slurm", "err", err)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	first := in.slurmAt.IsZero() // nothing was shown before: no change to tell
	in.slurmAt, in.slurmErr = time.Now(), slurmErr
	if nodes == nil {
		return nil // keep what was last read
	}
	if first {
		in.nodes = nodes
		return nil
	}
	for id, n := range nodes {
		if !sameSlurm(in.nodes[id], n) {
			changed = append(changed, id)
		}
	}
	for id := range in.nodes {
		if nodes[id] == nil {
			changed = append(changed, id)
		}
	}
	in.nodes = nodes
	return changed
}

func sameSlurm(a, b *SlurmNode) bool {
	return a != nil && b != nil && a.Name == b.Name && a.State == b.State && a.Reason == b.Reason && slices.Equal(a.Jobs, b.Jobs)
}

// readStaged reads the names of the staged sessions.
func (in *rollingInputs) readStaged(ctx context.Context) (map[string]bool, error) {
	list, err := in.st.ListSessions(ctx, "", true, orchestrator.SessionFilter{}, time.Now())
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, s := range list {
		if s.Stage {
			out[s.Name] = true
		}
	}
	return out, nil
}

// readSlurm reads Slurm's nodes and running jobs (two requests) and keys the nodes by xname.
func (in *rollingInputs) readSlurm(ctx context.Context) (map[string]*SlurmNode, error) {
	nodes, err := in.slurm.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	jobs, err := in.slurm.Jobs(ctx)
	if err != nil {
		return nil, err
	}
	jobsOn := map[string][]int{}
	for _, j := range jobs {
		if j.State != slurmapi.JobRunning || j.Nodes == "" {
			continue
		}
		names, err := hostlist.Expand(j.Nodes)
		if err != nil {
			return nil, fmt.Errorf("job %d: nodes %q: %w", j.ID, j.Nodes, err)
		}
		for _, name := range names {
			jobsOn[name] = append(jobsOn[name], j.ID)
		}
	}
	byNID := in.nidsFor(ctx, nodes)
	out := make(map[string]*SlurmNode, len(nodes))
	for _, n := range nodes {
		id := xname.Normalize(n.Name)
		if xname.TypeOf(id) != xname.Node {
			nid, _ := slurmapi.NIDOf(n.Name)
			if id = byNID[nid]; id == "" {
				continue // a node BOS cannot name
			}
		}
		ids := jobsOn[n.Name]
		slices.Sort(ids)
		out[id] = &SlurmNode{Name: n.Name, State: n.State, Reason: n.Reason, Jobs: ids}
	}
	return out, nil
}

// nidsFor returns the xnames by NID, read again when one of nodes has a NID it lacks
// (at most every nidsEvery).
func (in *rollingInputs) nidsFor(ctx context.Context, nodes []slurmapi.Node) map[int]string {
	in.mu.Lock()
	byNID, at := in.byNID, in.nidsAt
	in.mu.Unlock()
	if in.nids == nil {
		return nil
	}
	missing := false
	for _, n := range nodes {
		if nid, ok := slurmapi.NIDOf(n.Name); ok && byNID[nid] == "" {
			missing = true
			break
		}
	}
	if !missing || !at.IsZero() && time.Since(at) < nidsEvery {
		return byNID
	}
	read, err := in.nids(ctx)
	in.mu.Lock()
	defer in.mu.Unlock()
	in.nidsAt = time.Now()
	if err != nil {
		in.log.Warn("web view: reading the nodes' NIDs", "err", err)
		return byNID
	}
	in.byNID = maps.Clone(read)
	return in.byNID
}
