//go:build unix

package simulator

import (
	"fmt"
	"syscall"
)

// raiseFDLimit makes sure the process may open need file descriptors: one per BMC
// listener plus the connections. Go already raises the soft limit to the hard one at start
// on Linux; this repeats it (in case something lowered it) and fails early and clearly
// when the hard limit is too low, instead of a BMC failing to accept later.
func raiseFDLimit(need int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("read the open-file limit: %w", err)
	}
	if lim.Cur >= uint64(need) {
		return nil
	}
	if lim.Max < uint64(need) {
		return fmt.Errorf("need %d open files for the BMC listeners but the hard limit (ulimit -Hn) is %d", need, lim.Max)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("raise the open-file limit to %d: %w", lim.Max, err)
	}
	return nil
}
