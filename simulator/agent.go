package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The virtual node: what runs on a system once it reaches On, one step at a time. Each
// step is a job on the shared agent pool (no goroutine per node); waits between steps are
// timers. Every step first checks that the node is still in the power cycle that started
// it (the generation), and the power cycle's context aborts requests in flight, so a
// power-off ends the boot and a stale boot never reports after a reboot.
//
//	On ──POST delay──▶ GET {bss}/boot/v1/bootscript?name=<xname>   (retry every BootScriptRetry)
//	   ──Boot delay──▶ OS up: OnBooted                             (FaultKernelPanic: power off)
//	   ──────────────▶ PATCH {bos}/v2/components/<xname>            (linear backoff, capped)
//	   ──────────────▶ PATCH {cfs}/v3/components/<xname>            (same)
//	                   or, with Config.BatchCFSReports, PATCH {cfs}/v3/components for
//	                   many nodes at once (cfsreports.go); with Config.CFSReport, a Go
//	                   call to the CFS in this process

// bootProgress is the Redfish BootProgress.LastState the system shows.
type bootProgress uint8

const (
	progressNone bootProgress = iota
	progressPOST
	progressFirmwareDone
	progressOSBoot
	progressOSRunning
)

var progressNames = [...]string{"None", "PrimaryProcessorInitializationStarted", "SystemHardwareInitializationComplete", "OSBootStarted", "OSRunning"}

func (p bootProgress) String() string { return progressNames[p] }

// bootRecord is what a boot script told the node to boot.
type bootRecord struct {
	kernel, initrd, params, token string
}

// startBoot begins the virtual node's work for the power cycle that just reached On.
// Called with b.mu held.
func (s *Simulator) startBoot(n *node) {
	ctx, cancel := context.WithCancel(s.ctx)
	n.bootCancel = cancel
	n.reported, n.cfsReported, n.booted, n.reportedTok = false, false, false, ""
	n.progress = progressPOST
	g := n.gen
	s.laterLocked(n, s.nodeDelay(n, s.timing.POST), func() { s.fetchBootScript(ctx, n, g) })
}

// endBoot cancels the power cycle's work. Called with b.mu held.
func (n *node) endBoot() {
	if n.agentTimer != nil {
		n.agentTimer.Stop()
		n.agentTimer = nil
	}
	if n.bootCancel != nil {
		n.bootCancel()
		n.bootCancel = nil
	}
}

// laterLocked runs step on the agent pool after d. Called with b.mu held. A step due at
// once (hardware delays scaled to zero) gets no timer: that saves one per step, and it keeps
// the race detector clear of a Go 1.26 runtime crash that a zero-delay timer in a
// testing/synctest bubble can trigger (the e2e tests run so). Steps check their power
// cycle's generation and context, so one that is already on its way after endBoot does
// nothing.
func (s *Simulator) laterLocked(n *node, d time.Duration, step func()) {
	if d <= 0 {
		n.agentTimer = nil
		// Straight onto the queue when it has room (it holds a job per node and more, so
		// it nearly always has), else by a goroutine that waits for room: never wait
		// under the lock.
		if !s.agents.trySubmit(step) {
			go s.agents.submit(step)
		}
		return
	}
	n.agentTimer = time.AfterFunc(d, func() { s.agents.submit(step) })
}

// later is laterLocked for callers without the lock; it does nothing if generation g is over.
func (s *Simulator) later(n *node, g uint64, d time.Duration, step func()) {
	n.bmc.mu.Lock()
	defer n.bmc.mu.Unlock()
	if n.gen == g && n.power == On {
		s.laterLocked(n, d, step)
	}
}

// current reports whether generation g is still the node's power cycle (and it is On).
func (s *Simulator) current(n *node, g uint64) bool {
	n.bmc.mu.Lock()
	defer n.bmc.mu.Unlock()
	return n.gen == g && n.power == On && s.ctx.Err() == nil
}

// fetchBootScript is iPXE chaining to BSS. BSS failing, or answering a script without a
// kernel (its "refreshing, sleep and chain again" script), means: try again later.
func (s *Simulator) fetchBootScript(ctx context.Context, n *node, g uint64) {
	if !s.current(n, g) {
		return
	}
	s.setProgress(n, g, progressFirmwareDone)
	bss := s.services.Load().BSS
	if bss == "" {
		s.loadKernel(ctx, n, g, bootRecord{})
		return
	}
	s.stats.bootScripts.Add(1)
	var status int
	var script string
	var err error
	if s.cfg.BootScript != nil {
		cctx, cancel := context.WithTimeout(ctx, s.timing.HTTPTimeout) // as the request's
		status, script = s.cfg.BootScript(cctx, bss, n.xname)
		cancel()
	}
	if status == 0 {
		var body []byte
		status, body, err = s.call(ctx, http.MethodGet, bss+"/boot/v1/bootscript?name="+url.QueryEscape(n.xname), nil)
		script = string(body)
	}
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("status %d", status)
	}
	var rec bootRecord
	if err == nil {
		rec, err = parseBootScript(script)
	}
	if err != nil {
		s.log.Debug("boot script fetch failed, retrying", "node", n.xname, "err", err)
		s.later(n, g, s.timing.BootScriptRetry, func() { s.fetchBootScript(ctx, n, g) })
		return
	}
	s.loadKernel(ctx, n, g, rec)
}

// loadKernel records what the node boots and waits for the OS to come up. It runs on an
// agent worker: with no boot delay to wait, the OS comes up on this worker at once, not
// in a job queued for another (a hand-over and a wake-up a node).
func (s *Simulator) loadKernel(ctx context.Context, n *node, g uint64, rec bootRecord) {
	b := n.bmc
	b.mu.Lock()
	if n.gen != g || n.power != On {
		b.mu.Unlock()
		return
	}
	n.boot = rec
	n.progress = progressOSBoot
	if d := s.nodeDelay(n, s.timing.Boot); d > 0 {
		s.laterLocked(n, d, func() { s.osUp(ctx, n, g) })
		b.mu.Unlock()
		return
	}
	n.agentTimer = nil
	b.mu.Unlock()
	s.osUp(ctx, n, g) // it checks the power cycle again
}

// osUp is the end of the boot delay: the OS is running (or panics).
func (s *Simulator) osUp(ctx context.Context, n *node, g uint64) {
	b := n.bmc
	b.mu.Lock()
	if n.gen != g || n.power != On || s.ctx.Err() != nil {
		b.mu.Unlock()
		return
	}
	if n.faults.has(FaultKernelPanic) {
		// The kernel panics and the node powers off before any reporter runs.
		n.cancelPlan()
		changes := s.enter(n, Off, nil)
		b.mu.Unlock()
		s.log.Debug("kernel panic", "node", n.xname)
		s.announce(changes)
		return
	}
	at := s.now()
	n.booted, n.bootCount, n.lastBoot, n.progress = true, n.bootCount+1, at, progressOSRunning
	b.mu.Unlock()
	s.stats.boots.Add(1)
	if s.cfg.OnBooted != nil {
		s.cfg.OnBooted(n.xname, at)
	}
	s.reportBOS(ctx, n, g, 1)
}

// reportBOS is bos-reporter: PATCH the BSS token the node booted with.
func (s *Simulator) reportBOS(ctx context.Context, n *node, g uint64, attempt int) {
	n.bmc.mu.Lock()
	ok := n.gen == g && n.power == On
	token, noReport, wrong := n.boot.token, n.faults.has(FaultNoReport), n.faults.has(FaultWrongImage)
	n.bmc.mu.Unlock()
	if !ok {
		return
	}
	bos := s.services.Load().BOS
	if bos == "" || noReport || token == "" {
		if token == "" && bos != "" {
			s.log.Debug("no bss_referral_token on the kernel command line, not reporting to BOS", "node", n.xname)
		}
		s.reportCFS(ctx, n, g, 1)
		return
	}
	if wrong {
		token = wrongToken(token)
	}
	body, _ := json.Marshal(bosReport{ID: n.xname, ActualState: bosActualState{BSSToken: token}})
	status, err := s.send(ctx, http.MethodPatch, bos+"/v2/components/"+url.PathEscape(n.xname), body, nil)
	switch {
	case err == nil && status/100 == 2:
		n.bmc.mu.Lock()
		if n.gen == g {
			n.reported, n.reportedTok = true, token
		}
		n.bmc.mu.Unlock()
		s.stats.reports.Add(1)
		s.reportCFS(ctx, n, g, 1)
	case retryable(status, err):
		s.log.Debug("BOS report failed, retrying", "node", n.xname, "status", status, "err", err)
		s.later(n, g, s.backoff(attempt), func() { s.reportBOS(ctx, n, g, attempt+1) })
	default:
		s.log.Warn("BOS refused the report; giving up", "node", n.xname, "status", status)
		s.reportCFS(ctx, n, g, 1)
	}
}

// bosReport is bos-reporter's PATCH body (its fields in the order encoding/json gives
// a map's keys: the bytes are those of the map it stands for).
type bosReport struct {
	ActualState bosActualState `json:"actual_state"`
	ID          string         `json:"id"`
}

type bosActualState struct {
	BSSToken string `json:"bss_token"`
}

// reportCFS is cfs-state-reporter: re-enable the node's CFS component after boot.
func (s *Simulator) reportCFS(ctx context.Context, n *node, g uint64, attempt int) {
	if !s.current(n, g) {
		return
	}
	cfs := s.services.Load().CFS
	if cfs == "" {
		return
	}
	var status int
	var err error
	if s.cfg.CFSReport != nil {
		status = s.cfg.CFSReport(cfs, n.xname)
	}
	switch {
	case status != 0:
	case s.cfg.BatchCFSReports:
		s.queueCFSReport(cfsReport{ctx: ctx, n: n, g: g, attempt: attempt})
		return
	default:
		status, err = s.send(ctx, http.MethodPatch, cfs+"/v3/components/"+url.PathEscape(n.xname), []byte(`{"state": [], "enabled": true}`), nil)
	}
	s.stats.cfsPatches.Add(1)
	switch {
	case err == nil && status/100 == 2:
		n.bmc.mu.Lock()
		if n.gen == g {
			n.cfsReported = true
		}
		n.bmc.mu.Unlock()
		s.stats.cfsReports.Add(1)
	case retryable(status, err):
		s.log.Debug("CFS report failed, retrying", "node", n.xname, "status", status, "err", err)
		s.later(n, g, s.backoff(attempt), func() { s.reportCFS(ctx, n, g, attempt+1) })
	default:
		s.log.Warn("CFS refused the report; giving up", "node", n.xname, "status", status)
	}
}

// retryable: transport errors, 404 (service or component not there yet), 409, 429 and 5xx.
func retryable(status int, err error) bool {
	if err != nil {
		return !errors.Is(err, context.Canceled)
	}
	return status == http.StatusNotFound || status == http.StatusConflict || status == http.StatusTooManyRequests || status >= 500
}

// backoff is the reporters' linear backoff: attempt × ReportBackoff, capped.
func (s *Simulator) backoff(attempt int) time.Duration {
	return min(time.Duration(attempt)*s.timing.ReportBackoff, s.timing.ReportBackoffCap)
}

func (s *Simulator) setProgress(n *node, g uint64, p bootProgress) {
	n.bmc.mu.Lock()
	if n.gen == g {
		n.progress = p
	}
	n.bmc.mu.Unlock()
}

// wrongToken is the token a node that booted the wrong image reports: stable, and never
// one BSS minted.
func wrongToken(token string) string {
	h := fnv.New64a()
	h.Write([]byte(token))
	return "wrong-image-" + strconv.FormatUint(h.Sum64(), 16)
}

// call makes one request of the node agent or event delivery, bounded by HTTPTimeout,
// and returns the answer's status and body.
func (s *Simulator) call(ctx context.Context, method, u string, body []byte) (int, []byte, error) {
	return s.callWith(ctx, method, u, body, nil, true)
}

// send is call for a caller that needs only the status (reports, event POSTs), with
// extra request headers (a subscription's HttpHeaders): the answer's body is read to its
// end, so the connection can be reused, and dropped.
func (s *Simulator) send(ctx context.Context, method, u string, body []byte, headers [][2]string) (int, error) {
	status, _, err := s.callWith(ctx, method, u, body, headers, false)
	return status, err
}

// callWith makes the request; it returns the answer's body when keep says so.
func (s *Simulator) callWith(ctx context.Context, method, u string, body []byte, headers [][2]string, keep bool) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timing.HTTPTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, u, err)
	}
	for _, h := range headers {
		req.Header.Add(h[0], h[1])
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	if !keep {
		if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)); err != nil {
			return resp.StatusCode, nil, fmt.Errorf("%s %s: read: %w", method, u, err)
		}
		return resp.StatusCode, nil, nil
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("%s %s: read: %w", method, u, err)
	}
	return resp.StatusCode, raw, nil
}

// parseBootScript reads an iPXE script as BSS writes it: the kernel line gives the kernel
// URL and its parameters (up to "||"), the initrd line the initrd URL. Options such as
// "--name kernel" are skipped. Only the kernel, initrd and module lines are split into
// words: a node fetches its script on every boot.
func parseBootScript(script string) (bootRecord, error) {
	var rec bootRecord
	seenFirst, haveKernel := false, false
	for line := range strings.Lines(script) {
		l := strings.TrimSpace(line)
		if l == "" {
			continue
		}
		if !seenFirst {
			if !strings.HasPrefix(l, "#!ipxe") {
				return rec, errors.New("boot script: not an iPXE script")
			}
			seenFirst = true
		}
		cmd := l
		if i := strings.IndexFunc(l, unicode.IsSpace); i >= 0 {
			cmd = l[:i]
		}
		switch cmd {
		case "kernel":
			if haveKernel {
				continue
			}
			args := ipxeArgs(strings.Fields(l)[1:])
			if len(args) == 0 {
				return rec, errors.New("boot script: kernel line without a URL")
			}
			rec.kernel, rec.params, haveKernel = args[0], strings.Join(args[1:], " "), true
			rec.token = ""
			for _, p := range args[1:] {
				if v, ok := strings.CutPrefix(p, "bss_referral_token="); ok {
					rec.token = v
				}
			}
		case "initrd", "module":
			if rec.initrd != "" {
				continue
			}
			if args := ipxeArgs(strings.Fields(l)[1:]); len(args) > 0 {
				rec.initrd = args[0]
			}
		}
	}
	if !seenFirst {
		return rec, errors.New("boot script: not an iPXE script")
	}
	if !haveKernel {
		return rec, errors.New("boot script: no kernel line (BSS may be refreshing)")
	}
	return rec, nil
}

// ipxeArgs drops iPXE command options and everything from "||" on: the words left are
// one run of fields.
func ipxeArgs(fields []string) []string {
	start := 0
	for start < len(fields) {
		f := fields[start]
		if f == "||" || f == "&&" {
			return nil
		}
		if !strings.HasPrefix(f, "-") {
			break
		}
		// --name/-n and --timeout/-t take a value unless given as --name=value.
		if (f == "--name" || f == "-n" || f == "--timeout" || f == "-t") && start+1 < len(fields) {
			start++
		}
		start++
	}
	end := start
	for end < len(fields) && fields[end] != "||" && fields[end] != "&&" {
		end++
	}
	return fields[start:end]
}
