package cfs

import (
	"fmt"
	"time"

	"github.com/cray-bos/bos/api/cfsapi"
)

// The batcher stands in for CFS's batcher and the sessions it launches. A component that is
// enabled, has a desired configuration and reads pending joins the open batch. The batch
// closes BatchWindow after its first member or when it holds BatchSize members; its session
// then "runs" for (ConfigureDelay + jitter) × Scale, after which each member either gets a
// state layer appended for every layer of its configuration (→ configured) or fails (its
// first pending layer is appended as failed and error_count goes up; below the retry limit
// it reads pending again and joins a new batch). One timer per batch, never per component.
//
// Results are keyed by generation: a member whose record was written after it joined (it
// was disabled, re-patched, deleted) is skipped; the write that changed it has already
// re-evaluated it.

// batch is one simulated CFS session.
type batch struct {
	session string
	members []member
	window  *time.Timer // closes the batch; nil once launched
	run     *time.Timer // delivers results
}

type member struct {
	id  string
	gen uint64
}

// minRun is the shortest session: it keeps an always-failing component with an unlimited
// retry policy from spinning when ConfigureDelay is zero.
const minRun = time.Millisecond

// evaluate puts r in the open batch if the batcher should configure it. Caller holds s.mu.
func (s *Server) evaluate(r *record) {
	if s.closed || s.batcherDisabled || !r.enabled || r.desiredConfig == "" || r.queuedGen == r.gen {
		return
	}
	if s.status(r) != cfsapi.StatusPending {
		return
	}
	r.queuedGen = r.gen
	b := s.open
	if b == nil {
		s.batchSeq++
		b = &batch{session: fmt.Sprintf("batcher-%08x-%04x", s.rng.Uint32(), s.batchSeq&0xffff)}
		s.open = b
		b.window = time.AfterFunc(s.timing.BatchWindow, func() { s.closeBatch(b) })
	}
	b.members = append(b.members, member{r.id, r.gen})
	if len(b.members) >= s.timing.BatchSize {
		s.launch(b)
	}
}

// closeBatch ends the collection window of b.
func (s *Server) closeBatch(b *batch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open == b && !s.closed {
		s.launch(b)
	}
}

// launch starts b's session. Caller holds s.mu.
func (s *Server) launch(b *batch) {
	if s.open == b {
		s.open = nil
	}
	if b.window != nil {
		b.window.Stop()
		b.window = nil
	}
	d := s.timing.ConfigureDelay
	if s.timing.Jitter > 0 {
		d += time.Duration(s.rng.Int64N(int64(s.timing.Jitter)))
	}
	d = max(time.Duration(float64(d)*s.timing.Scale), minRun)
	s.running[b] = struct{}{}
	s.batchSession(b, s.now())
	b.run = time.AfterFunc(d, func() { s.finish(b) })
	s.log.Debug("cfs: batch launched", "session", b.session, "components", len(b.members), "runs", d)
}

// finish delivers b's results.
func (s *Server) finish(b *batch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.running, b)
	if s.closed {
		return
	}
	now := s.now()
	stamp := now.UTC().Format(time.RFC3339)
	var ok, failed, stale int
	for _, m := range b.members {
		r := s.comps[m.id]
		if r == nil || r.gen != m.gen {
			stale++
			continue
		}
		cfg := s.configs[r.desiredConfig]
		if !r.enabled || cfg == nil {
			stale++
			continue
		}
		if s.status(r) != cfsapi.StatusPending {
			stale++ // e.g. its configuration changed to one it already has
			continue
		}
		if s.failing[r.id] || (s.failRate > 0 && s.rng.Float64() < s.failRate) {
			s.fail(r, cfg, b.session, stamp)
			failed++
		} else {
			state := r.state
			for _, l := range cfg.Layers {
				state = appendState(state, cfsapi.StateLayer{CloneURL: layerCloneURL(l, s.sources), Playbook: playbookOf(l),
					Commit: l.Commit, Status: cfsapi.LayerApplied, LastUpdated: stamp, SessionName: b.session})
			}
			r.state = state
			ok++
		}
		r.gen++
		s.evaluate(r) // a failure below the retry limit reads pending again
	}
	s.batchSessionDone(b, stamp, failed)
	s.stats.configured += ok
	s.stats.failed += failed
	s.stats.stale += stale
	s.log.Debug("cfs: batch finished", "session", b.session, "configured", ok, "failed", failed, "stale", stale)
}

// fail records a failed session for r: its first pending layer is appended as failed and
// error_count goes up.
func (s *Server) fail(r *record, cfg *cfsapi.Configuration, session, stamp string) {
	r.errorCount++
	for _, l := range cfg.Layers {
		if layerRank(l, r.state, s.sources, false) == rankPending {
			r.state = appendState(r.state, cfsapi.StateLayer{CloneURL: layerCloneURL(l, s.sources), Playbook: playbookOf(l),
				Commit: l.Commit, Status: cfsapi.LayerFailed, LastUpdated: stamp, SessionName: session})
			return
		}
	}
}

func playbookOf(l cfsapi.Layer) string {
	if l.Playbook == "" {
		return cfsapi.DefaultPlaybook
	}
	return l.Playbook
}

// SetFailing makes the batcher fail (failing=true) or stop failing the given components,
// from their next session on. Unknown ids are remembered for when they appear.
func (s *Server) SetFailing(ids []string, failing bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if failing {
			s.failing[id] = true
		} else {
			delete(s.failing, id)
		}
	}
}

// SetFailRate sets the probability (0..1) that any component's session fails.
func (s *Server) SetFailRate(rate float64) error {
	if rate < 0 || rate > 1 {
		return fmt.Errorf("cfs: fail rate %v is not within [0, 1]", rate)
	}
	s.mu.Lock()
	s.failRate = rate
	s.mu.Unlock()
	return nil
}

// Close stops the batcher: pending batches are dropped and no new ones start. The HTTP API
// keeps working.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.open != nil && s.open.window != nil {
		s.open.window.Stop()
	}
	s.open = nil
	for b := range s.running {
		b.run.Stop()
	}
	clear(s.running)
}
