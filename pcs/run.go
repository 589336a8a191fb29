package pcs

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/cray-bos/bos/api/pcsapi"
)

// run carries out a transition: each step of op's plan on the nodes still in it, a task
// failing when its node's BMC refuses or does not reach the wanted state by the deadline
// (minutes; 0 do not wait, -1 no limit).
func (s *Server) run(ctx context.Context, id, op string, deadline int, xnames []string) {
	s.update(id, func(t *pcsapi.Transition) {
		t.TransitionStatus = pcsapi.TransitionInProgress
		for i := range t.Tasks {
			t.Tasks[i].TaskStatus, t.Tasks[i].TaskStatusDescription = pcsapi.TaskInProgress, "Task is in progress"
		}
	})
	defer s.update(id, func(t *pcsapi.Transition) { t.TransitionStatus = pcsapi.TransitionCompleted })

	plan, ok := plans[op]
	if !ok || plan == nil {
		s.finish(id, xnames, pcsapi.TaskUnsupported, "Operation not supported by this PCS", "")
		return
	}
	pending, err := s.known(ctx, id, xnames)
	if err != nil {
		s.finish(id, xnames, pcsapi.TaskFailed, "Failed to read HSM", err.Error())
		return
	}
	for _, st := range plan {
		readings := s.read(ctx, pending)
		var act []string
		for _, x := range pending {
			switch rd := readings[x]; {
			case rd.Err != nil:
				s.fail(id, x, "Failed to read the power state", rd.Err.Error())
			case rd.State != st.want:
				act = append(act, x)
			}
		}
		act = s.reset(ctx, id, act, st.do)
		left := s.await(ctx, act, st.want, deadline)
		if st.escalate != nil && len(left) > 0 {
			left = s.await(ctx, s.reset(ctx, id, left, *st.escalate), st.want, deadline)
		}
		for _, x := range left {
			s.fail(id, x, fmt.Sprintf("The node did not reach power state %s in time", st.want), "failed to achieve transition")
		}
		if ctx.Err() != nil {
			return
		}
		pending = s.inProgress(id)
	}
	s.finish(id, pending, pcsapi.TaskSucceeded, "Transition confirmed, "+op, "")
}

// known returns the xnames HSM knows, failing the tasks of the others.
func (s *Server) known(ctx context.Context, id string, xnames []string) ([]string, error) {
	nodes, err := s.cfg.Driver.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, x := range xnames {
		if slices.Contains(nodes, x) {
			out = append(out, x)
		} else {
			s.fail(id, x, "Missing xname", "xname not found in HSM")
		}
	}
	return out, nil
}

// reset asks for action on xnames and returns those whose BMC accepted it.
func (s *Server) reset(ctx context.Context, id string, xnames []string, action Action) []string {
	if len(xnames) == 0 {
		return nil
	}
	errs := s.cfg.Driver.Reset(ctx, xnames, action)
	ok := xnames[:0:0]
	for _, x := range xnames {
		if err := errs[x]; err != nil {
			s.fail(id, x, "Failed to "+action.String(), err.Error())
		} else {
			ok = append(ok, x)
		}
	}
	return ok
}

// await polls xnames until each reads want or the deadline (minutes) passes, and
// returns those that did not get there.
func (s *Server) await(ctx context.Context, xnames []string, want string, deadline int) []string {
	if deadline == 0 || len(xnames) == 0 {
		return nil
	}
	var end <-chan time.Time
	if deadline > 0 {
		t := time.NewTimer(time.Duration(deadline) * time.Minute)
		defer t.Stop()
		end = t.C
	}
	tick := time.NewTicker(s.cfg.PollInterval)
	defer tick.Stop()
	since := time.Now()
	left := xnames
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-end:
			return left
		case <-tick.C:
		}
		s.read(ctx, left)
		left = slices.DeleteFunc(slices.Clone(left), func(x string) bool { return s.seenSince(x, want, since) })
		if len(left) == 0 {
			return nil
		}
	}
}

func (s *Server) fail(id, x, desc, msg string) {
	s.finish(id, []string{x}, pcsapi.TaskFailed, desc, msg)
}

// finish sets the outcome of xnames' tasks.
func (s *Server) finish(id string, xnames []string, status, desc, msg string) {
	s.update(id, func(t *pcsapi.Transition) {
		for i := range t.Tasks {
			if slices.Contains(xnames, t.Tasks[i].Xname) {
				t.Tasks[i] = pcsapi.Task{Xname: t.Tasks[i].Xname, TaskStatus: status, TaskStatusDescription: desc, Error: msg}
			}
		}
	})
}

// inProgress lists the xnames of the transition's tasks still in progress.
func (s *Server) inProgress(id string) []string {
	var out []string
	s.update(id, func(t *pcsapi.Transition) {
		for _, tk := range t.Tasks {
			if tk.TaskStatus == pcsapi.TaskInProgress {
				out = append(out, tk.Xname)
			}
		}
	})
	return out
}

// update applies f to a transition under the lock and recounts its tasks.
func (s *Server) update(id string, f func(*pcsapi.Transition)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.transitions[id]
	if !ok {
		return
	}
	f(t)
	c := pcsapi.TaskCounts{Total: len(t.Tasks)}
	for _, tk := range t.Tasks {
		switch tk.TaskStatus {
		case pcsapi.TaskNew:
			c.New++
		case pcsapi.TaskInProgress:
			c.InProgress++
		case pcsapi.TaskFailed:
			c.Failed++
		case pcsapi.TaskSucceeded:
			c.Succeeded++
		case pcsapi.TaskUnsupported:
			c.Unsupported++
		}
	}
	t.TaskCounts = c
}
