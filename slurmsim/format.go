package slurmsim

import (
	"fmt"
	"strings"
	"time"
)

// field is one %[.][#][width]X specifier of an sinfo/squeue format string.
type field struct {
	literal string // text before the specifier (or the whole tail)
	spec    byte   // 0 for a trailing literal
	right   bool   // '.': right-justify
	auto    bool   // '#': as wide as the widest value
	width   int    // 0: as is
}

// parseFormat splits an sinfo/squeue -o string; specs lists the letters allowed.
func parseFormat(f, specs string) ([]field, error) {
	var out []field
	var lit strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			lit.WriteByte(f[i])
			continue
		}
		i++
		if i < len(f) && f[i] == '%' {
			lit.WriteByte('%')
			continue
		}
		fd := field{literal: lit.String()}
		lit.Reset()
		for ; i < len(f); i++ {
			switch c := f[i]; {
			case c == '.':
				fd.right = true
			case c == '#':
				fd.auto = true
			case c >= '0' && c <= '9':
				fd.width = fd.width*10 + int(c-'0')
			default:
				if !strings.ContainsRune(specs, rune(c)) {
					return nil, fmt.Errorf("invalid format specification: %%%c", c)
				}
				fd.spec = c
			}
			if fd.spec != 0 {
				break
			}
		}
		if fd.spec == 0 {
			return nil, fmt.Errorf("invalid format specification at end of %q", f)
		}
		out = append(out, fd)
	}
	if lit.Len() > 0 {
		out = append(out, field{literal: lit.String()})
	}
	return out, nil
}

// table renders rows (each a map from spec letter to value) with a header, applying the
// fields' widths: fixed widths truncate, '#' widths fit the widest value or header.
func table(fields []field, headers map[byte]string, rows []map[byte]string, header bool) string {
	widths := make([]int, len(fields))
	for i, f := range fields {
		widths[i] = f.width
		if f.auto && f.spec != 0 {
			widths[i] = len(headers[f.spec])
			for _, r := range rows {
				widths[i] = max(widths[i], len(r[f.spec]))
			}
		}
	}
	var b strings.Builder
	line := func(get func(byte) string) {
		for i, f := range fields {
			b.WriteString(f.literal)
			if f.spec == 0 {
				continue
			}
			v, w := get(f.spec), widths[i]
			switch {
			case w == 0:
				b.WriteString(v)
			case len(v) >= w:
				b.WriteString(v[:w])
			case f.right:
				b.WriteString(strings.Repeat(" ", w-len(v)) + v)
			default:
				b.WriteString(v + strings.Repeat(" ", w-len(v)))
			}
		}
		b.WriteByte('\n')
	}
	if header {
		line(func(c byte) string { return headers[c] })
	}
	for _, r := range rows {
		line(func(c byte) string { return r[c] })
	}
	return b.String()
}

// slurmDuration prints like Slurm's secs2time_str: M:SS, H:MM:SS or D-HH:MM:SS.
func slurmDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	secs := int64(d / time.Second)
	days, hours, mins, s := secs/86400, secs/3600%24, secs/60%60, secs%60
	switch {
	case days > 0:
		return fmt.Sprintf("%d-%02d:%02d:%02d", days, hours, mins, s)
	case hours > 0:
		return fmt.Sprintf("%d:%02d:%02d", hours, mins, s)
	}
	return fmt.Sprintf("%d:%02d", mins, s)
}

// timeLimit is a time limit column: "infinite" (sinfo) / "UNLIMITED" (squeue) for none.
func timeLimit(d time.Duration, unlimited string) string {
	if d <= 0 {
		return unlimited
	}
	return slurmDuration(d)
}

// slurmTime prints a timestamp as Slurm does (ISO 8601 without zone), or "Unknown".
func slurmTime(t time.Time) string {
	if t.IsZero() {
		return "Unknown"
	}
	return t.Format("2006-01-02T15:04:05")
}
