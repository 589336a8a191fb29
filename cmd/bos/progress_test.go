package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock is a clock the test moves.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func testProgress(w *bytes.Buffer, tty bool, width int) (*progress, *fakeClock) {
	c := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	return &progress{w: w, tty: tty, width: func() int { return width }, now: c.now}, c
}

func bootLook(on, cfg, done, failed float64) look {
	return look{total: 10000, done: done, failed: failed,
		phases: []share{{"powering off", "off", 0}, {"powering on", "on", on}, {"configuring", "cfg", cfg}}}
}

func TestProgressFitsTheTerminalWidth(t *testing.T) {
	l := bootLook(12.34, 40, 45.5, 2.16)
	for _, width := range []int{200, 133, 132, 100, 80, 60, 40, 30, 20, 10} {
		var buf bytes.Buffer
		p, _ := testProgress(&buf, true, width)
		p.show(83*time.Minute, l)
		out := buf.String()
		require.True(t, strings.HasPrefix(out, "\r\033[K"), "rewritten in place")
		line := strings.TrimPrefix(out, "\r\033[K")
		assert.NotContains(t, line, "\n", "width %d: no newline until done", width)
		assert.Less(t, utf8.RuneCountInString(line), width, "width %d: %q must not wrap", width, line)
		if width >= 150 {
			assert.Contains(t, line, "powering on 12%", "width %d: the full line", width)
		}
		if width >= 40 {
			assert.Contains(t, line, "failed 2%", "width %d: failures are the last to go", width)
		}
	}
	var buf bytes.Buffer
	p, _ := testProgress(&buf, true, 80)
	p.show(time.Second, look{total: 4, done: 100, complete: true})
	assert.True(t, strings.HasSuffix(buf.String(), "\n"), "the line ends when the session completes")
}

func TestProgressInALogPrintsChangesNotTicks(t *testing.T) {
	var buf bytes.Buffer
	p, clock := testProgress(&buf, false, 0)
	lines := func() []string { return strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") }
	tick := func(l look) { clock.add(250 * time.Millisecond); p.show(clock.t.Sub(time.Time{}), l) }

	tick(bootLook(100, 0, 0, 0))
	require.Len(t, lines(), 1, "the first look is printed")
	tick(bootLook(99, 1, 0, 0))
	assert.Len(t, lines(), 1, "within 2 s of the last line: nothing, however much changed")
	for range 7 {
		tick(bootLook(99, 1, 0, 0))
	}
	assert.Len(t, lines(), 2, "2 s later the change is printed")
	for range 20 {
		tick(bootLook(98.5, 1.5, 0, 0))
	}
	assert.Len(t, lines(), 2, "a change within the same 5% step is not a change")
	tick(bootLook(98.5, 1.5, 0, 0.01))
	assert.Len(t, lines(), 3, "the first failure is")

	// A session stuck at 99% for an hour: a heartbeat every 30 s, not a line per tick.
	stuck := bootLook(1, 0, 97, 2)
	tick(stuck)
	before := len(lines())
	for range 4 * 3600 {
		tick(stuck)
	}
	assert.InDelta(t, 3600/30, len(lines())-before, 2, "one heartbeat per 30 s")
	stuck.complete = true
	tick(stuck)
	assert.Contains(t, lines()[len(lines())-1], "done 97%", "completion is always printed")
	assert.NotContains(t, buf.String(), "\r", "no terminal control in a log")
	assert.NotContains(t, buf.String(), "█", "no bar in a log")
}
