package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"sync"
	"syscall"
)

// cpuProfile writes a CPU profile of this process to a file (a developer's aid: `bos sim
// --cpuprofile`). It runs from start, or with fromSignal from the first SIGUSR1 (so a
// benchmark can profile only its measured window), until stop.
type cpuProfile struct {
	mu      sync.Mutex
	f       *os.File
	running bool
	sig     chan os.Signal
}

// startCPUProfile opens path and starts profiling now, or at the first SIGUSR1.
func startCPUProfile(path string, fromSignal bool) (*cpuProfile, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	p := &cpuProfile{f: f}
	if !fromSignal {
		return p, p.begin()
	}
	p.sig = make(chan os.Signal, 1)
	signal.Notify(p.sig, syscall.SIGUSR1)
	go func() {
		if _, ok := <-p.sig; ok {
			_ = p.begin()
		}
	}()
	return p, nil
}

func (p *cpuProfile) begin() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running || p.f == nil {
		return nil
	}
	if err := pprof.StartCPUProfile(p.f); err != nil {
		return fmt.Errorf("--cpuprofile: %w", err)
	}
	p.running = true
	return nil
}

// stop ends the profile and closes its file.
func (p *cpuProfile) stop() {
	if p.sig != nil {
		signal.Stop(p.sig)
		close(p.sig)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running {
		pprof.StopCPUProfile()
		p.running = false
	}
	if p.f != nil {
		p.f.Close()
		p.f = nil
	}
}
