package store

import (
	"context"
	"strings"
	"time"
)

// Shared wake-ups (Config.ShareWakes): each waking component write publishes
// "<origin> <id>,<id>,..." on {p}wake; SubscribeWakes hands the ids of the other stores'
// messages to its callback. Redis pub/sub delivers at most once: a replica that misses a
// message (reconnecting) finds the node at its next resync.

// wakeTimeout bounds a publish, made in the writer's goroutine.
const wakeTimeout = 2 * time.Second

func (s *Store) wakeChannel() string { return s.k("wake") }

// publishWakes tells the other replicas that ids were written. A failure only delays
// their look to their next resync.
func (s *Store) publishWakes(ids []string) {
	ctx, cancel := context.WithTimeout(context.Background(), wakeTimeout)
	defer cancel()
	_ = s.rdb.Publish(ctx, s.wakeChannel(), s.origin+" "+strings.Join(ids, ",")).Err()
}

// SubscribeWakes calls wake with the ids of every waking component write made by the
// other stores sharing wakes on this Redis, until ctx ends. wake must not block.
func (s *Store) SubscribeWakes(ctx context.Context, wake func(ids []string)) {
	sub := s.rdb.Subscribe(ctx, s.wakeChannel())
	defer sub.Close()
	msgs := sub.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-msgs:
			if !ok {
				return
			}
			origin, ids, _ := strings.Cut(m.Payload, " ")
			if origin != s.origin && ids != "" {
				wake(strings.Split(ids, ","))
			}
		}
	}
}
