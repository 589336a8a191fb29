package procstat

import (
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseStatCPU(t *testing.T) {
	// utime 250 and stime 50 ticks: fields 14 and 15.
	const rest = " S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 12 0 99 1000 200"
	for _, tc := range []struct {
		name, line string
		want       time.Duration
		err        bool
	}{
		{"plain name", "4242 (bos)" + rest, 3 * time.Second, false},
		{"name with spaces and parentheses", "4242 (bos (sim) x)" + rest, 3 * time.Second, false},
		{"no name", "4242 bos" + rest, 0, true},
		{"truncated", "4242 (bos) S 1 2 3", 0, true},
		{"not a number", "4242 (bos) S 1 2 3 4 5 6 7 8 9 10 x 50 0", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatCPU(tc.line)
			if tc.err {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseStatusKB(t *testing.T) {
	status := "Name:\tbos\nVmPeak:\t  900 kB\nVmHWM:\t    2048 kB\nVmRSS:\t 1024 kB\n"
	got, err := parseStatusKB(status, "VmHWM")
	require.NoError(t, err)
	assert.Equal(t, int64(2048*1024), got)
	_, err = parseStatusKB(status, "VmSwap")
	assert.ErrorContains(t, err, "no VmSwap")
	_, err = parseStatusKB("VmHWM:\tlots kB\n", "VmHWM")
	assert.Error(t, err)
}

// This process's readings move as it works: CPU grows with a busy loop, the peak covers
// memory it touched.
func TestReadingsOfThisProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	before, err := CPU(Self)
	require.NoError(t, err)
	for {
		now, err := CPU(Self)
		require.NoError(t, err)
		if now > before {
			break
		}
	}
	const size = 64 << 20
	buf := make([]byte, size)
	for i := range buf {
		buf[i] = 1
	}
	peak, err := PeakRSS(os.Getpid())
	require.NoError(t, err)
	assert.GreaterOrEqual(t, peak, int64(size))
	runtime.KeepAlive(buf)
	assert.NoError(t, ResetPeak(Self))
}
