//go:build linux

package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// childProcess is a command (bos serve, bos sim) run as a child process, its output in
// dir/NAME.N.log for its Nth start.
type childProcess struct {
	t         testing.TB
	name      string
	bin, dir  string
	args      []string
	starts    int
	cmd       *exec.Cmd
	done      chan struct{}
	log       string
	onFailure sync.Once
}

func (p *childProcess) start() {
	p.starts++
	p.log = filepath.Join(p.dir, fmt.Sprintf("%s.%d.log", p.name, p.starts))
	f, err := os.Create(p.log)
	require.NoError(p.t, err)
	defer f.Close()
	p.cmd = exec.Command(p.bin, p.args...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	require.NoError(p.t, p.cmd.Start())
	done := make(chan struct{})
	p.done = done
	go func() { p.cmd.Wait(); close(done) }() //nolint:errcheck // a killed process exits non-zero
	p.onFailure.Do(func() {
		p.t.Cleanup(func() {
			if p.t.Failed() {
				p.t.Logf("the last %s's log:\n%s", p.name, p.tail())
			}
		})
	})
}

func (p *childProcess) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill is kill -9: the process gets no chance to clean up.
func (p *childProcess) kill() {
	require.NoError(p.t, p.cmd.Process.Signal(syscall.SIGKILL))
	<-p.done
}

// stop ends the process cleanly, as at the test's end.
func (p *childProcess) stop() {
	if p.cmd == nil || p.exited() {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may have just exited
	select {
	case <-p.done:
	case <-time.After(30 * time.Second): // a clean stop that hangs is killed
		p.cmd.Process.Kill() //nolint:errcheck
		<-p.done
	}
}

// tail is the last 40 lines of the current process's log.
func (p *childProcess) tail() string {
	raw, _ := os.ReadFile(p.log)
	lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-40):], "\n")
}

// freeLoopbackAddr returns 127.0.0.1:port with a port free a moment ago.
func freeLoopbackAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}
