package webui_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/internal/stack"
	"github.com/cray-bos/bos/internal/testwait"
	"github.com/cray-bos/bos/internal/topology"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/power"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/webui"
	"github.com/cray-bos/bos/simulator"
)

// chromium finds the browser: BOS_CHROMIUM, else chromium or chromium-browser on PATH.
func chromium(t *testing.T) string {
	if p := os.Getenv("BOS_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium on PATH (apt install chromium; or set BOS_CHROMIUM)")
	return ""
}

// failingPower fails every power action on one node, as a BMC that always answers 503.
type failingPower struct {
	power.PowerControl
	victim string
}

const victimError = "BMC answered 503 Service Unavailable (injected by the test)"

func (p failingPower) Reset(ctx context.Context, ids []string, kind power.ResetKind) map[string]error {
	rest := slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return id == p.victim })
	out := p.PowerControl.Reset(ctx, rest, kind)
	if len(rest) < len(ids) {
		if out == nil {
			out = map[string]error{}
		}
		out[p.victim] = errors.New(victimError)
	}
	return out
}

// TestBrowserShowsABoot: a 200-node stack, its view opened in headless Chromium: every
// node is drawn in its status's colour; a boot session turns them stable (green) and one
// node, whose BMC refuses every power action, failed (red); clicking that node shows its
// BOS record with the error and its history, newest first, with the failed power calls;
// the page logs no error. BOS_UPDATE_SCREENSHOT=1 saves the
// view into docs/webui.png.
func TestBrowserShowsABoot(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a stack and a browser")
	}
	browser := chromium(t)
	topo, err := topology.Generate(topology.DefaultOptions(200))
	require.NoError(t, err)
	compute := topo.ByRole(topology.RoleCompute)
	all := make([]string, len(topo.Nodes))
	for i, n := range topo.Nodes {
		all[i] = n.Xname
	}
	victim := compute[37]
	timing := simulator.DefaultTiming()
	timing.Scale = 0.02
	timing.BootScriptRetry = 100 * time.Millisecond
	timing.ReportBackoff, timing.ReportBackoffCap = 50*time.Millisecond, 500*time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 3*testwait.Backstop)
	defer cancel()
	st, err := stack.Start(ctx, stack.Options{
		Topology: topo, Reconcile: true, RedfishTimeout: time.Second,
		Sim: simulator.Config{Timing: &timing, Seed: 5},
		WrapPower: func(inner power.PowerControl) power.PowerControl {
			return failingPower{PowerControl: inner, victim: victim}
		},
	})
	require.NoError(t, err)
	defer st.Close()
	require.NoError(t, st.Seed(ctx))
	_, err = st.BOSClient.PatchOptions(ctx, map[string]any{
		"polling_frequency": 1, "max_power_on_wait_time": 30, "max_boot_wait_time": 40,
		"max_power_off_wait_time": 10, "default_retry_policy": 1,
	})
	require.NoError(t, err)
	testwait.Until(t, "discovery creates every component", func() bool {
		comps, err := st.BOSClient.ListComponents(ctx, bosapi.ComponentQuery{})
		return err == nil && len(comps) == len(topo.Nodes)
	}, nil)

	resp, err := http.Get(st.URLs.BOS + webui.GatewayPath)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the view under the gateway prefix")

	p := openPage(t, ctx, browser, st.URLs.BOS+webui.Path, func(p *page) string {
		// Where things are, in the browser and in BOS.
		stored := map[string]int{}
		comps, _ := st.Store.ListComponents(ctx, store.Filter{})
		for _, c := range comps {
			stored[c.Status.Status+" "+c.Status.Phase+" "+c.Error]++
		}
		return fmt.Sprintf("browser: %s\nBOS: %v", p.peek(countBy(all, "status")), stored)
	})
	wait, eval := p.wait, p.eval
	// mismatches lists the nodes whose drawn cell is not their status's colour.
	mismatches := `JSON.stringify(` + jsIDs(all) + `.filter((id) => bosView.drawnColor(id) !== bosView.expectedColor(id)))`

	wait("the snapshot", `window.bosView && bosView.ready()`)
	assert.Equal(t, fmt.Sprint(len(topo.Nodes)), eval(`String(bosView.count())`), "every node is on the map")
	assert.Equal(t, "[]", eval(mismatches), "every node drawn in its colour")
	assert.Equal(t, paleGreen, eval(`bosView.drawnColor("`+compute[0]+`")`), "discovered nodes: stable and disabled (pale green)")

	sess, err := st.BOSClient.CreateSession(ctx, bos.SessionCreate{Operation: "boot", TemplateName: stack.DefaultTemplateName})
	require.NoError(t, err)
	wait("a session in the sessions panel", `document.querySelector('[data-session="`+sess.Name+`"]') !== null`)
	testwait.Until(t, "the boot session completes", func() bool {
		got, err := st.BOSClient.GetSession(ctx, sess.Name)
		return err == nil && got.Status.Status == bos.SessionComplete
	}, nil)
	comps, err := st.Store.ListComponents(ctx, store.Filter{})
	require.NoError(t, err)
	want := map[string]string{}
	stable, enabled := "", map[string]bool{}
	for _, c := range comps {
		want[c.ID] = c.Status.Status
		enabled[c.ID] = c.Enabled
		if c.Status.Status == bos.StatusStable && slices.Contains(compute, c.ID) && stable == "" {
			stable = c.ID
		}
	}
	require.Equal(t, bos.StatusFailed, want[victim])
	require.NotEmpty(t, stable)
	wantJS, err := json.Marshal(want)
	require.NoError(t, err)
	wait("the browser shows every node's final status", `Object.entries(`+string(wantJS)+`).every(([id, s]) => bosView.status(id) === s)`)
	assert.Equal(t, "[]", eval(mismatches), "every changed cell redrawn in its new colour")
	assert.Equal(t, pick(enabled[stable], green, paleGreen), eval(`bosView.drawnColor("`+stable+`")`), "booted: green")
	assert.Equal(t, pick(enabled[victim], red, paleRed), eval(`bosView.drawnColor("`+victim+`")`), "failed: red")
	assert.NotEqual(t, "0", eval(`String(bosView.changes())`), "changes came by the event stream")

	p.click(victim)
	wait("the node's detail", `(document.querySelector('#detail [data-role="error"]') || {}).textContent > ""`)
	comp, err := st.Store.GetComponent(ctx, victim)
	require.NoError(t, err)
	require.Contains(t, comp.Error, victimError)
	assert.Equal(t, comp.Error, eval(`document.querySelector('#detail [data-role="error"]').textContent`))
	assert.Equal(t, victim, eval(`document.querySelector('#detail h2').textContent`))
	assert.Contains(t, eval(`document.querySelector('#detail [data-role="record"]').textContent`), `"id": "`+victim+`"`)
	hist, err := st.Store.ComponentHistory(ctx, victim)
	require.NoError(t, err)
	require.NotEmpty(t, hist)
	assert.Equal(t, fmt.Sprint(len(hist)), eval(`String(document.querySelectorAll('#detail [data-role="history"] li').length)`), "every entry on the timeline")
	assert.Equal(t, hist[0].Kind, eval(`document.querySelector('#detail [data-role="history"] li').dataset.kind`), "newest first")
	timeline := eval(`document.querySelector('#detail [data-role="history"]').textContent`)
	assert.Contains(t, timeline, "powering_on failed", "the failed power calls")
	assert.Contains(t, timeline, victimError, "with their error")
	assert.Contains(t, timeline, "record created")
	wait("the session's error summary", `document.querySelector('[data-session="`+sess.Name+`"] .err') !== null`)

	p.screenshot("webui.png")
	p.noErrors()
}

// page is the view open in headless Chromium.
type page struct {
	t     *testing.T
	ctx   context.Context    // the browser tab's
	where func(*page) string // what a timed-out wait prints
	mu    sync.Mutex
	// console holds the page's console errors and exceptions.
	console []string
}

// openPage starts the browser at url; where says, on a timed-out wait, how things stand.
func openPage(t *testing.T, ctx context.Context, browser, url string, where func(*page) string) *page {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox,
		chromedp.WindowSize(1400, 900), chromedp.Flag("disable-gpu", true))
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	require.NoError(t, chromedp.Do(bctx, chromedp.Navigate("about:blank")))
	p := &page{t: t, ctx: bctx, where: where}
	go func() {
		for m, err := range chromedp.Console(bctx) {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				p.mu.Lock()
				p.console = append(p.console, fmt.Sprintf("%s:%d %s", m.URL, m.Line+1, m.Text))
				p.mu.Unlock()
			}
		}
	}()
	require.NoError(t, chromedp.Do(bctx, chromedp.Navigate(url)))
	return p
}

// wait polls expr in the page until it is true (testwait.Backstop at most).
// A poll started while the page's first document replaces about:blank can name a context
// the browser has just dropped ("Cannot find context with specified id", seen on a
// loaded machine): it is polled again in the new one, within the same backstop.
func (p *page) wait(what, expr string) {
	p.t.Helper()
	deadline := time.Now().Add(testwait.Backstop)
	var err error
	for {
		_, err = chromedp.Run(p.ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(time.Until(deadline))))
		if err == nil || !contextReplaced(err) || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		p.t.Fatalf("waiting for %s: %v\n%s", what, err, p.where(p))
	}
}

// contextReplaced reports whether err says the page's JavaScript context was replaced
// under a call (a navigation), so the call may be made again.
func contextReplaced(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "Cannot find context with specified id") || strings.Contains(msg, "Execution context was destroyed")
}

func (p *page) eval(expr string) string {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](expr))
	require.NoError(p.t, err, expr)
	return v
}

// peek evaluates expr for a failure's message: its error is the value.
func (p *page) peek(expr string) string {
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		return err.Error()
	}
	return v
}

// click clicks the cell of id on the map.
func (p *page) click(id string) {
	p.t.Helper()
	x, err := chromedp.Run(p.ctx, chromedp.Evaluate[float64](`bosView.cellCenter("`+id+`").x`))
	require.NoError(p.t, err)
	y, err := chromedp.Run(p.ctx, chromedp.Evaluate[float64](`bosView.cellCenter("`+id+`").y`))
	require.NoError(p.t, err)
	require.NoError(p.t, chromedp.Do(p.ctx, chromedp.MouseClickXY(x, y)))
}

// screenshot saves the page as docs/<name> when BOS_UPDATE_SCREENSHOT=1.
func (p *page) screenshot(name string) {
	p.t.Helper()
	if os.Getenv("BOS_UPDATE_SCREENSHOT") != "1" {
		return
	}
	png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100)) // quality 100: a PNG
	require.NoError(p.t, err)
	require.NoError(p.t, os.WriteFile(filepath.Join("..", "..", "docs", name), png, 0o644))
}

// noErrors checks that the page logged no error.
func (p *page) noErrors() {
	p.t.Helper()
	assert.Equal(p.t, "[]", p.eval(`JSON.stringify(bosView.errors())`))
	p.mu.Lock()
	defer p.mu.Unlock()
	assert.Empty(p.t, p.console, "console errors")
}

// countBy is a JavaScript expression: the page's count of ids by bosView[fn](id), as JSON.
func countBy(ids []string, fn string) string {
	return `JSON.stringify(` + jsIDs(ids) + `.reduce((m, id) => (m[bosView.` + fn + `(id)] = (m[bosView.` + fn + `(id)] || 0) + 1, m), {}))`
}

// Colours of the map: enabled, and disabled (half way to white).
const (
	green, paleGreen = "rgb(46,158,68)", "rgb(151,207,162)"
	red, paleRed     = "rgb(214,39,40)", "rgb(235,147,148)"
)

func pick(enabled bool, on, off string) string {
	if enabled {
		return on
	}
	return off
}

// jsIDs is ids as a JavaScript array literal.
func jsIDs(ids []string) string {
	return `["` + strings.Join(ids, `","`) + `"]`
}
