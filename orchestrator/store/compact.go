package store

import (
	"math"
	"strings"
	"time"

	"github.com/cray-bos/bos/orchestrator"
)

// compactRecord is a record's decoding as the record cache keeps it beside the record's
// bytes: each string as the place in the bytes where it is written as it is, the rest as
// numbers. It holds no pointer, so the garbage collector need not look into it (a
// 100,000-node boot's Component structs, 22 strings each, cost BOS more in collections
// than their decoding saved).
type compactRecord struct {
	strs  [stringFieldCount]span // stringFields' order
	times [4]stamp               // timeFields' order
	stats [3]int                 // event_stats, in order
	retry int                    // retry_policy, when compactHasRetry
	flags uint8
}

type span struct{ at, n uint32 }

type stamp struct {
	sec  int64
	nsec int32 // -1: the zero time
}

const (
	compactEnabled = 1 << iota
	compactFailed
	compactHasRetry
)

// timeFields points at c's times.
func timeFields(c *orchestrator.Component) [4]*time.Time {
	return [...]*time.Time{&c.ActualState.LastUpdated, &c.DesiredState.LastUpdated,
		&c.StagedState.LastUpdated, &c.LastAction.LastUpdated}
}

// compact returns c, raw decoded, as a compactRecord, or false when raw does not hold one
// of c's strings as it is (escaped) or c holds a time in a zone other than UTC.
func compact(c *orchestrator.Component, raw string) (*compactRecord, bool) {
	if len(raw) > math.MaxUint32 {
		return nil, false
	}
	r := &compactRecord{stats: [3]int{c.EventStats.PowerOnAttempts, c.EventStats.PowerOffGracefulAttempts, c.EventStats.PowerOffForcefulAttempts}}
	at := 0 // the strings come in raw's order: each is looked for after the last
	for j, s := range stringFields(c) {
		if *s == "" {
			continue
		}
		i := strings.Index(raw[at:], *s)
		if i >= 0 {
			i += at
			at = i + len(*s)
		} else if i = strings.Index(raw, *s); i < 0 {
			return nil, false // escaped in raw
		}
		r.strs[j] = span{at: uint32(i), n: uint32(len(*s))}
	}
	for j, t := range timeFields(c) {
		switch {
		case *t == time.Time{}:
			r.times[j].nsec = -1
		case *t == t.UTC(): // in UTC (no other zone), no monotonic reading: as decoded
			r.times[j] = stamp{sec: t.Unix(), nsec: int32(t.Nanosecond())}
		default:
			return nil, false
		}
	}
	if c.Enabled {
		r.flags |= compactEnabled
	}
	if c.LastAction.Failed {
		r.flags |= compactFailed
	}
	if c.RetryPolicy != nil {
		r.flags |= compactHasRetry
		r.retry = *c.RetryPolicy
	}
	return r, true
}

// component rebuilds the record from r and raw, its bytes. Its strings are copies, not
// parts of raw, so that whoever keeps the record (or only its id) does not keep raw's
// memory alive; strings at the same place of raw are one copy.
func (r *compactRecord) component(raw string) orchestrator.Component {
	var c orchestrator.Component
	fields := stringFields(&c)
	for j, sp := range r.strs {
		if sp.n == 0 {
			continue
		}
		for i := range j {
			if r.strs[i] == sp {
				*fields[j] = *fields[i]
				break
			}
		}
		if *fields[j] == "" {
			*fields[j] = strings.Clone(raw[sp.at : sp.at+sp.n])
		}
	}
	for j, t := range timeFields(&c) {
		if st := r.times[j]; st.nsec >= 0 {
			*t = time.Unix(st.sec, int64(st.nsec)).UTC()
		}
	}
	c.EventStats = orchestrator.EventStats{PowerOnAttempts: r.stats[0], PowerOffGracefulAttempts: r.stats[1], PowerOffForcefulAttempts: r.stats[2]}
	c.Enabled = r.flags&compactEnabled != 0
	c.LastAction.Failed = r.flags&compactFailed != 0
	if r.flags&compactHasRetry != 0 {
		c.RetryPolicy = new(r.retry)
	}
	return c
}
