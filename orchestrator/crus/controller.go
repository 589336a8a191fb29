package crus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cray-bos/bos/internal/loop"
	bos "github.com/cray-bos/bos/orchestrator"
)

// Run drives every session in the store until ctx ends: one goroutine per session with
// work. At start each unfinished session gets "Learning initiated" and carries on from
// its stored stage; sessions created or deleted through this Server's API start at once,
// others (another API process) within Timing.Rescan. Run returns when ctx is done and
// every session goroutine has stopped.
func (s *Server) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.ctx != nil {
		s.mu.Unlock()
		return errors.New("crus: Run called twice")
	}
	s.ctx = ctx
	s.mu.Unlock()
	defer s.wg.Wait()

	pass := s.learn // at start; then every Rescan
	loop.Every(ctx, s.log, "crus rescan", func() time.Duration { return s.t.Rescan }, nil, func(ctx context.Context) {
		pass(ctx)
		pass = s.scan
	})
	return nil
}

// learn marks every unfinished session as resumed by this controller, then starts them.
func (s *Server) learn(ctx context.Context) {
	recs, err := s.list(ctx)
	if err != nil {
		s.log.Error("crus: listing sessions at start", "err", err)
		return // the rescan tries again
	}
	for _, r := range recs {
		if !r.Completed && r.State != StateDeleting {
			if _, err := s.update(ctx, r.UpgradeID, -1, func(x *Record) error {
				x.Messages = appendMessage(x.Messages, msgLearning)
				return nil
			}); err != nil && !bos.IsNotFound(err) {
				s.log.Error("crus: resuming session", "upgrade_id", r.UpgradeID, "err", err)
			}
		}
		if hasWork(&r) {
			s.notify(r.UpgradeID)
		}
	}
}

// scan starts a goroutine for every session with work and none running.
func (s *Server) scan(ctx context.Context) {
	recs, err := s.list(ctx)
	if err != nil {
		s.log.Warn("crus: listing sessions", "err", err)
		return
	}
	for _, r := range recs {
		if hasWork(&r) {
			s.notify(r.UpgradeID)
		}
	}
}

// notify wakes the session's goroutine, starting one if none runs. Before Run it does
// nothing (Run's first scan finds the session).
func (s *Server) notify(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == nil || s.ctx.Err() != nil {
		return
	}
	if w, ok := s.workers[id]; ok {
		select {
		case w.wake <- struct{}{}:
		default:
		}
		return
	}
	w := &worker{wake: make(chan struct{}, 1)}
	s.workers[id] = w
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.work(s.ctx, id, w)
	}()
}

// retire removes the worker unless it was woken meanwhile (then it carries on).
func (s *Server) retire(id string, w *worker) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-w.wake:
		return false
	default:
		delete(s.workers, id)
		return true
	}
}

// work is one session's loop: look, then wait as the look says, on errors with
// exponential backoff (CRUS retries forever: fixing the cause lets the session go on).
func (s *Server) work(ctx context.Context, id string, w *worker) {
	log := s.log.With("upgrade_id", id)
	attempts := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		var idle bool
		var after time.Duration
		var err error
		if p := loop.Safely(log, "crus session "+id, func() { idle, after, err = s.look(ctx, id) }); p != nil {
			err = p // a bug in a step: backed off and retried like any failure
		}
		switch {
		case ctx.Err() != nil:
			s.retire(id, w)
			return
		case errors.Is(err, errStale):
			after = 0 // changed under us (DELETE): look again
		case err != nil:
			attempts++
			after = s.backoff(attempts)
			log.Warn("crus: step failed; retrying", "attempt", attempts, "retry_in", after, "err", err)
			s.noteError(ctx, id, err)
		default:
			attempts = 0
		}
		if idle && err == nil {
			if s.retire(id, w) {
				return
			}
			continue
		}
		if after <= 0 {
			select {
			case <-ctx.Done():
			default:
				continue
			}
		}
		timer.Reset(after)
		select {
		case <-ctx.Done():
		case <-w.wake:
			timer.Stop() // Go 1.23+ timers: no stale tick survives Stop or Reset
		case <-timer.C:
		}
	}
}

// backoff is Poll doubled per consecutive failure, capped at MaxBackoff, ±20% jitter.
func (s *Server) backoff(attempts int) time.Duration {
	d := loop.Delay(s.t.Poll, s.t.MaxBackoff, attempts)
	s.mu.Lock()
	j := 0.8 + 0.4*s.rng.Float64()
	s.mu.Unlock()
	return time.Duration(float64(d) * j)
}

// noteError posts "Processing step N in stage S failed - err" (once per distinct text).
func (s *Server) noteError(ctx context.Context, id string, cause error) {
	_, err := s.update(ctx, id, -1, func(r *Record) error {
		r.Messages = appendMessage(r.Messages, msgStepError(r.Progress.Step, r.Progress.Stage, cause))
		return nil
	})
	if err != nil && !bos.IsNotFound(err) && ctx.Err() == nil {
		s.log.Error("crus: recording an error", "upgrade_id", id, "err", err)
	}
}

// look is one pass over a session (persist, then act):
//  1. pending actions (stored by the previous pass) are performed, then cleared;
//  2. a removed session's record is deleted; a finished one goes idle;
//  3. otherwise the stage's view of the world is read, DecideUpgrade runs, and its record is
//     stored with compare-and-set on the version it was decided from — its actions are
//     performed by the next pass, so a crash in between replays them (they are
//     idempotent) rather than losing them.
func (s *Server) look(ctx context.Context, id string) (idle bool, after time.Duration, err error) {
	rec, err := s.load(ctx, id)
	if bos.IsNotFound(err) {
		return true, 0, nil
	}
	if err != nil {
		return false, 0, err
	}
	if len(rec.Progress.Pending) > 0 {
		if err := s.perform(ctx, &rec, rec.Progress.Pending); err != nil {
			return false, 0, err
		}
		done := len(rec.Progress.Pending)
		if rec, err = s.update(ctx, id, -1, func(r *Record) error {
			r.Progress.Pending = r.Progress.Pending[min(done, len(r.Progress.Pending)):]
			return nil
		}); err != nil {
			return false, 0, fmt.Errorf("clear performed actions: %w", err)
		}
	}
	if rec.Progress.Remove {
		if err := s.cfg.Store.DeleteCRUSSession(ctx, id); err != nil && !bos.IsNotFound(err) {
			return false, 0, err
		}
		s.log.Info("crus: session removed", "upgrade_id", id)
		return true, 0, nil
	}
	if rec.Completed && rec.State != StateDeleting {
		return true, 0, nil
	}
	obs, err := s.observe(ctx, &rec, NeedsOf(&rec))
	if err != nil {
		return false, 0, err
	}
	dec := DecideUpgrade(rec, obs, s.now(), s.t)
	if _, err := s.update(ctx, id, rec.Version, func(r *Record) error {
		*r = dec.Record
		r.Version = rec.Version
		return nil
	}); err != nil {
		return false, 0, err
	}
	if dec.Record.Progress.Stage != rec.Progress.Stage || dec.Record.Progress.Step != rec.Progress.Step {
		s.log.Info("crus: stage", "upgrade_id", id, "step", dec.Record.Progress.Step, "stage", dec.Record.Progress.Stage)
	}
	if len(dec.Actions()) > 0 || dec.Record.Progress.Remove {
		return false, 0, nil // perform them now
	}
	return dec.Idle, dec.After, nil
}
