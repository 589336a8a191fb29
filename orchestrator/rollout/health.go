package rollout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"time"

	bos "github.com/cray-bos/bos/orchestrator"
)

// checkHealth runs the health check of every node given, at most 16 at once, and returns
// each result by xname (nil passed).
func (s *Server) checkHealth(ctx context.Context, hc bos.HealthCheck, nodes []bos.RolloutNode) map[string]error {
	out := make(map[string]error, len(nodes))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, n := range nodes {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := runCheck(ctx, s.cfg.HealthHTTP, hc, n)
			mu.Lock()
			out[n.Xname] = err
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// runCheck is one node's check, bounded by its timeout: a GET answering 2xx, or a
// command exiting 0. The error says what failed, never the URL's credentials.
func runCheck(ctx context.Context, hc *http.Client, h bos.HealthCheck, n bos.RolloutNode) error {
	timeout := time.Duration(h.TimeoutSeconds) * time.Second
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	fill := strings.NewReplacer("{xname}", n.Xname, "{name}", n.Name).Replace
	if h.URL != "" {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, fill(h.URL), nil)
		if err != nil {
			return errors.New("bad health check URL")
		}
		resp, err := hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("no answer within %s", timeout)
			}
			return errors.New("health check URL unreachable")
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		_ = resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		return nil
	}
	args := make([]string, len(h.Command))
	for i, a := range h.Command {
		args[i] = fill(a)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s did not finish within %s", args[0], timeout)
		}
		return fmt.Errorf("%s: %v", args[0], err)
	}
	return nil
}
