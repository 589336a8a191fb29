package pcs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cray-bos/bos/api/pcsapi"
)

// errAborted is the cause of a transition's context when DELETE /transitions/{id} aborts it.
var errAborted = errors.New("transition aborted")

// run carries out a transition as PCS's doTransition does: it plans each node from its
// power state and its BMC's ResetTypes, reserves the nodes in HSM (or checks the deputy
// keys given), then applies the actions stage by stage in sequence order, confirming each
// by the power state within the task deadline (minutes; 0 do not wait, -1 no limit).
// Aborting cancels ctx with errAborted: the tasks not finished fail and the transition
// ends aborted.
func (s *Server) run(ctx context.Context, id, op string, deadline int, deputy map[string]string, xnames []string) {
	s.update(id, func(t *pcsapi.Transition) {
		if t.TransitionStatus == pcsapi.TransitionNew {
			t.TransitionStatus = pcsapi.TransitionInProgress
		}
	})
	status := pcsapi.TransitionCompleted
	defer func() {
		if context.Cause(ctx) == errAborted {
			status = pcsapi.TransitionAborted
			s.abortTasks(id)
		}
		s.update(id, func(t *pcsapi.Transition) { t.TransitionStatus = status })
	}()

	nodes, err := s.nodes(ctx)
	if err != nil {
		s.finishAll(id, pcsapi.TaskFailed, "Failed to achieve transition", "Error retrieving HSM data")
		return
	}
	var known []string
	for _, x := range xnames {
		if _, ok := nodes[x]; ok {
			known = append(known, x)
		} else {
			s.fail(ctx, id, x, "Failed to achieve transition", "Missing xname")
		}
	}
	readings := s.read(ctx, known)
	plans := map[string]nodePlan{}
	for _, x := range known {
		p := planFor(op, readings[x].State, nodes[x])
		plans[x] = p
		if p.actions == nil {
			s.finish(ctx, id, []string{x}, p.status, p.desc, p.errText)
		}
	}
	if ctx.Err() != nil {
		return
	}

	held, deputies, ok := s.reserve(ctx, id, plans, deputy)
	if !ok {
		return
	}
	hold := &holding{s: s, keys: held}
	if len(held) > 0 {
		rctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); hold.keep(rctx) }()
		defer func() { stop(); <-done }()
	}

	// stages holds, per action, the nodes that take it; a stage's timed-out shutdowns
	// join the ForceOff stage when their plan escalates.
	stages := map[Action][]string{}
	left := map[string]int{} // actions still to confirm, per node
	for _, x := range known {
		if !s.inProgressOrNew(id, x) {
			continue
		}
		for _, a := range plans[x].actions {
			stages[a] = append(stages[a], x)
		}
		left[x] = len(plans[x].actions)
	}
	for _, a := range sequence {
		s.checkDeputies(ctx, id, deputies)
		var act []string
		for _, x := range stages[a] {
			if s.inProgressOrNew(id, x) {
				act = append(act, x)
			}
		}
		if len(act) == 0 {
			continue
		}
		if ctx.Err() != nil {
			return
		}
		sent := s.reset(ctx, id, act, a)
		// A node's reservation covers its actions, not their confirmation: it is given
		// back once its last action is sent (or refused), so the caller's next
		// transition on it, sent as soon as it reads the node's new state, can reserve it.
		var last []string
		for _, x := range act {
			p := plans[x]
			if a == p.actions[len(p.actions)-1] && !(a == ActionGracefulOff && p.escalate) || !slices.Contains(sent, x) {
				last = append(last, x)
			}
		}
		if ctx.Err() == nil {
			hold.release(last, false)
		}
		if deadline == 0 {
			for _, x := range sent {
				left[x]--
				s.confirm(ctx, id, x, a, left[x], fmt.Sprintf("Transition applied, %s. Not confirming.", a.name()),
					fmt.Sprintf("Transition applied, %s. Waiting for next transition.", a.name()))
			}
			continue
		}
		for _, x := range sent {
			s.describe(id, x, pcsapi.TaskInProgress, "Confirming successful transition, "+a.name())
		}
		late := s.await(ctx, sent, a.want(), deadline, func(x string) {
			left[x]--
			s.confirm(ctx, id, x, a, left[x], "Transition confirmed, "+a.name(),
				"Transition confirmed, "+a.name()+". Waiting for next transition")
		})
		if ctx.Err() != nil {
			return
		}
		for _, x := range late {
			if a == ActionGracefulOff && plans[x].escalate {
				stages[ActionForceOff] = append(stages[ActionForceOff], x)
				continue
			}
			s.fail(ctx, id, x, "Failed to achieve transition", fmt.Sprintf("Timeout waiting for transition, %s.", a.name()))
		}
	}
}

// confirm records that node x reached action a's state, the task succeeding when no
// action is left.
func (s *Server) confirm(ctx context.Context, id, x string, a Action, left int, doneDesc, nextDesc string) {
	if left <= 0 {
		s.finish(ctx, id, []string{x}, pcsapi.TaskSucceeded, doneDesc, "")
		return
	}
	s.describe(id, x, pcsapi.TaskInProgress, nextDesc)
}

// reset asks for action on xnames and returns those whose BMC accepted it; the others' tasks
// fail. Nothing is recorded once ctx ends (an abort accounts for every task left).
func (s *Server) reset(ctx context.Context, id string, xnames []string, action Action) []string {
	for _, x := range xnames {
		s.describe(id, x, "", "Applying transition, "+action.name())
	}
	errs := s.cfg.Driver.Reset(ctx, xnames, action)
	if ctx.Err() != nil {
		return nil
	}
	ok := xnames[:0:0]
	for _, x := range xnames {
		if err := errs[x]; err != nil {
			s.fail(ctx, id, x, "Failed to apply transition, "+action.name(), err.Error())
		} else {
			ok = append(ok, x)
		}
	}
	return ok
}

// await polls xnames until each reads want (calling reached for it) or the deadline
// (minutes, -1 none) passes, and returns those that did not get there.
func (s *Server) await(ctx context.Context, xnames []string, want string, deadline int, reached func(string)) []string {
	if len(xnames) == 0 {
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
		left = slices.DeleteFunc(slices.Clone(left), func(x string) bool {
			if s.seenSince(x, want, since) {
				reached(x)
				return true
			}
			return false
		})
		if len(left) == 0 {
			return nil
		}
	}
}

func (s *Server) fail(ctx context.Context, id, x, desc, msg string) {
	s.finish(ctx, id, []string{x}, pcsapi.TaskFailed, desc, msg)
}

// finish sets the outcome of xnames' tasks still new or in progress; nothing once ctx ends.
func (s *Server) finish(ctx context.Context, id string, xnames []string, status, desc, msg string) {
	if ctx.Err() != nil {
		return
	}
	s.update(id, func(t *pcsapi.Transition) {
		for i, tk := range t.Tasks {
			if slices.Contains(xnames, tk.Xname) && (tk.TaskStatus == pcsapi.TaskNew || tk.TaskStatus == pcsapi.TaskInProgress) {
				t.Tasks[i] = pcsapi.Task{Xname: tk.Xname, TaskStatus: status, TaskStatusDescription: desc, Error: msg}
			}
		}
	})
}

// finishAll sets the outcome of every task still new or in progress.
func (s *Server) finishAll(id, status, desc, msg string) {
	s.update(id, func(t *pcsapi.Transition) {
		for i, tk := range t.Tasks {
			if tk.TaskStatus == pcsapi.TaskNew || tk.TaskStatus == pcsapi.TaskInProgress {
				t.Tasks[i] = pcsapi.Task{Xname: tk.Xname, TaskStatus: status, TaskStatusDescription: desc, Error: msg}
			}
		}
	})
}

// abortTasks fails the tasks an abort leaves unfinished, as PCS's doAbort does.
func (s *Server) abortTasks(id string) {
	s.update(id, func(t *pcsapi.Transition) {
		for i, tk := range t.Tasks {
			if tk.TaskStatus == pcsapi.TaskNew || tk.TaskStatus == pcsapi.TaskInProgress {
				t.Tasks[i] = pcsapi.Task{Xname: tk.Xname, TaskStatus: pcsapi.TaskFailed,
					TaskStatusDescription: "Aborted. Last status - " + tk.TaskStatusDescription, Error: "Transition aborted"}
			}
		}
	})
}

// describe updates the description (and, if status is set, the status) of x's task while
// it is unfinished.
func (s *Server) describe(id, x, status, desc string) {
	s.update(id, func(t *pcsapi.Transition) {
		for i, tk := range t.Tasks {
			if tk.Xname == x && (tk.TaskStatus == pcsapi.TaskNew || tk.TaskStatus == pcsapi.TaskInProgress) {
				if status != "" {
					t.Tasks[i].TaskStatus = status
				}
				t.Tasks[i].TaskStatusDescription = desc
			}
		}
	})
}

// inProgressOrNew says whether x's task is unfinished.
func (s *Server) inProgressOrNew(id, x string) bool {
	out := false
	s.update(id, func(t *pcsapi.Transition) {
		for _, tk := range t.Tasks {
			if tk.Xname == x {
				out = tk.TaskStatus == pcsapi.TaskNew || tk.TaskStatus == pcsapi.TaskInProgress
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
