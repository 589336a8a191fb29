// Package procstat reads what Linux's /proc says of a process: the CPU time it used
// (utime+stime of /proc/PID/stat) and its peak resident memory (VmHWM of
// /proc/PID/status). The benchmarks use it to split a boot's cost between the processes
// that did the work. Elsewhere than Linux every reading fails with an error.
package procstat

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of /proc/PID/stat's times: USER_HZ, 100 per second on every
// architecture Go runs on under Linux.
const clockTick = 10 * time.Millisecond

// Self names this process to CPU, PeakRSS and ResetPeak.
const Self = 0

func procDir(pid int) string {
	if pid == Self {
		return "/proc/self"
	}
	return "/proc/" + strconv.Itoa(pid)
}

// CPU is the CPU time (user and system) process pid has used so far, to 10 ms.
func CPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(procDir(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(raw))
}

// parseStatCPU reads utime and stime, fields 14 and 15 of a /proc/PID/stat line. The
// command name (field 2, in parentheses) may hold spaces and parentheses, so the fields
// are counted from its last ')'.
func parseStatCPU(line string) (time.Duration, error) {
	end := strings.LastIndexByte(line, ')')
	if end < 0 {
		return 0, fmt.Errorf("procstat: no command name in stat line %q", line)
	}
	fields := strings.Fields(line[end+1:]) // fields[0] is field 3, the state
	if len(fields) < 13 {
		return 0, fmt.Errorf("procstat: stat line has %d fields after the name, want at least 13", len(fields))
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("procstat: stat time %q: %w", f, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

// PeakRSS is the most resident memory process pid has held, in bytes, since it started or
// since the last ResetPeak.
func PeakRSS(pid int) (int64, error) {
	raw, err := os.ReadFile(procDir(pid) + "/status")
	if err != nil {
		return 0, err
	}
	return parseStatusKB(string(raw), "VmHWM")
}

// parseStatusKB reads the field named key ("VmHWM: 1234 kB") of /proc/PID/status, in bytes.
func parseStatusKB(status, key string) (int64, error) {
	for line := range strings.SplitSeq(status, "\n") {
		rest, ok := strings.CutPrefix(line, key+":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("procstat: %s %q: %w", key, strings.TrimSpace(rest), err)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("procstat: no %s in status", key)
}

// ResetPeak resets process pid's peak resident memory to what it holds now (writing 5 to
// /proc/PID/clear_refs; the process must be ours).
func ResetPeak(pid int) error {
	return os.WriteFile(procDir(pid)+"/clear_refs", []byte("5"), 0)
}
