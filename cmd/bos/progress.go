package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/term"
)

// look is one reading of a session's progress, v2 or v1.
type look struct {
	total    int
	phases   []share // the nodes still moving, by phase, in display order
	done     float64 // percent of the nodes that reached their desired state
	failed   float64 // percent that failed
	complete bool
}

// share is the percentage of the nodes in one phase, with a long and a short label.
type share struct {
	long, short string
	pct         float64
}

// Pacing of the line-per-change display (output that is not a terminal).
const (
	progressMinGap    = 2 * time.Second  // at most one line per this, however fast shares change
	progressHeartbeat = 30 * time.Second // a line at least this often, even when nothing changes
	progressStep      = 5.0              // a share must cross a multiple of this to count as a change
)

// progress shows a session's progress. On a terminal it rewrites one line in place, cut
// to the terminal's width by dropping parts (never wrapping). Otherwise it prints a line
// when a share crosses a multiple of progressStep (at most one per progressMinGap) and a
// heartbeat line every progressHeartbeat, so a stalled session does not flood a log.
type progress struct {
	w     io.Writer
	tty   bool
	width func() int       // columns of the terminal (tty only)
	now   func() time.Time // the clock that paces lines

	printed   bool
	lastPrint time.Time
	lastKey   string
	open      bool // a tty line is on screen without its newline
}

// newProgress shows progress on w, as a terminal if w is one.
func newProgress(w io.Writer) *progress {
	p := &progress{w: w, now: time.Now, width: func() int { return 80 }}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
		p.width = func() int {
			if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
				return cols
			}
			return 80
		}
	}
	return p
}

func (p *progress) show(elapsed time.Duration, l look) {
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", fitLine(elapsed, l, p.width()-1))
		p.open = true
		if l.complete {
			p.done()
		}
		return
	}
	now := p.now()
	key := l.key()
	since := now.Sub(p.lastPrint)
	if p.printed && !l.complete && (key == p.lastKey || since < progressMinGap) && since < progressHeartbeat {
		return
	}
	fmt.Fprintln(p.w, fullLine(elapsed, l, false))
	p.printed, p.lastPrint, p.lastKey = true, now, key
}

// done ends the line on a terminal (before anything else is printed).
func (p *progress) done() {
	if p.open {
		fmt.Fprintln(p.w)
		p.open = false
	}
}

// key is l with every share rounded up to a multiple of progressStep, so any first node
// in a phase (or failed) counts as a change, and then every further step.
func (l look) key() string {
	q := func(pct float64) int { return int(math.Ceil(pct / progressStep)) }
	var b strings.Builder
	fmt.Fprintf(&b, "%d %d %d", l.total, q(l.done), q(l.failed))
	for _, s := range l.phases {
		fmt.Fprintf(&b, " %d", q(s.pct))
	}
	return b.String()
}

// fmtElapsed is a duration to a tenth of a second under a minute, to the second above.
func fmtElapsed(d time.Duration) string {
	if d < time.Minute {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func bar(pct float64, width int) string {
	filled := min(max(int(pct/100*float64(width)), 0), width)
	return strings.Repeat("█", filled) + strings.Repeat("░", width-filled)
}

// fullLine is the widest form: every phase by its long name, with a bar on a terminal.
func fullLine(elapsed time.Duration, l look, withBar bool) string {
	if l.total == 0 && !l.complete {
		return fmt.Sprintf("%7s session being set up", fmtElapsed(elapsed))
	}
	var parts []string
	for _, s := range l.phases {
		parts = append(parts, fmt.Sprintf("%s %.0f%%", s.long, s.pct))
	}
	parts = append(parts, fmt.Sprintf("done %.0f%%", l.done), fmt.Sprintf("failed %.0f%%", l.failed))
	b := " "
	if withBar {
		b = " " + bar(l.done+l.failed, 30) + " "
	}
	return fmt.Sprintf("%7s%s%5.1f%%  %d nodes: %s", fmtElapsed(elapsed), b, l.done+l.failed, l.total, strings.Join(parts, " · "))
}

// fitLine is the widest form of the line that fits in width columns: it drops the long
// names, then the bar's length, then the phases, then the elapsed time.
func fitLine(elapsed time.Duration, l look, width int) string {
	pct := l.done + l.failed
	el := fmtElapsed(elapsed)
	if l.total == 0 && !l.complete {
		s := []rune(el + " setting up")
		return string(s[:max(min(width, len(s)), 0)])
	}
	var short []string
	for _, s := range l.phases {
		short = append(short, fmt.Sprintf("%s %.0f%%", s.short, s.pct))
	}
	outcome := fmt.Sprintf("done %.0f%% failed %.0f%%", l.done, l.failed)
	candidates := []string{
		fullLine(elapsed, l, true),
		fmt.Sprintf("%7s %s %5.1f%% %d nodes: %s %s", el, bar(pct, 20), pct, l.total, strings.Join(short, " "), outcome),
		fmt.Sprintf("%s %s %.1f%% %s %s", el, bar(pct, 10), pct, strings.Join(short, " "), outcome),
		fmt.Sprintf("%s %s %.1f%% %s", el, bar(pct, 10), pct, outcome),
		fmt.Sprintf("%s %.1f%% %s", el, pct, outcome),
		fmt.Sprintf("%.1f%% failed %.0f%%", pct, l.failed),
	}
	for _, c := range candidates {
		if utf8.RuneCountInString(c) <= width {
			return c
		}
	}
	last := []rune(candidates[len(candidates)-1])
	return string(last[:max(min(width, len(last)), 0)])
}
