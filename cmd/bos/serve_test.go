package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/testwait"

	"github.com/cray-bos/bos/ims"
	"github.com/cray-bos/bos/internal/stack"
	"github.com/cray-bos/bos/internal/stack/stacktest"
	"github.com/cray-bos/bos/internal/topology"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/server"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/simulator"
)

// reexecEnv makes the test binary run main (see TestMain), so a test can signal a real
// process.
const reexecEnv = "BOS_TEST_RUN_MAIN"

// waitURLs waits for a URLs file and returns its bos entry.
func waitURLs(t *testing.T, path string, done <-chan error) string {
	t.Helper()
	var b []byte
	testwait.Until(t, "serve writes "+path, func() bool {
		var err error
		if b, err = os.ReadFile(path); err == nil {
			return true
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended before writing %s: %v", path, err)
		default:
		}
		return false
	}, nil)
	var u stack.URLs
	require.NoError(t, json.Unmarshal(b, &u), string(b))
	require.NotEmpty(t, u.BOS)
	assert.Equal(t, stack.URLs{BOS: u.BOS}, u, "serve writes only its own address")
	return u.BOS
}

// serveInProcess runs `bos serve ARGS` until the returned stop is called; stop requires
// that serve then ended without error.
func serveInProcess(t *testing.T, args ...string) (urlsFile string, stop func()) {
	t.Helper()
	urlsFile = filepath.Join(t.TempDir(), "bos.json")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var stderr bytes.Buffer
	go func() {
		done <- run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0", "--urls-file", urlsFile}, args...), &bytes.Buffer{}, &stderr)
	}()
	waitURLs(t, urlsFile, done)
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		require.NoError(t, testwait.Receive(t, done, "serve stops after its context is cancelled", nil))
	}
	t.Cleanup(stop)
	return urlsFile, stop
}

func TestServeAPIOnly(t *testing.T) {
	urls, stop := serveInProcess(t)
	cli := func(args ...string) cliResult {
		return bosCmd(t, "", append(append([]string{"v2"}, args...), "--urls-file", urls, "--format", "json")...)
	}
	r := cli("healthz", "list")
	require.NoError(t, r.fail)
	assert.JSONEq(t, `{"dbStatus":"ok","apiStatus":"ok"}`, r.out)

	// The API stores what it is given; nothing boots without a reconciler.
	tpl := writeFile(t, "t.json", `{"boot_sets": {"b": {"path": "s3://boot-images/i/manifest.json", "type": "s3", "node_list": ["x1000c0s0b0n0"]}}}`)
	require.NoError(t, cli("sessiontemplates", "create", "t", "--file", tpl).fail)
	r = cli("sessions", "create", "--template-name", "t", "--operation", "boot", "--name", "s")
	require.NoError(t, r.fail, r.err)
	r = cli("sessions", "describe", "s")
	require.NoError(t, r.fail)
	var s bos.Session
	require.NoError(t, json.Unmarshal([]byte(r.out), &s))
	assert.Equal(t, bos.SessionPending, s.Status.Status)

	b, err := os.ReadFile(urls)
	require.NoError(t, err)
	var u stack.URLs
	require.NoError(t, json.Unmarshal(b, &u))
	stop()
	_, err = net.DialTimeout("tcp", u.BOS[len("http://"):], time.Second)
	assert.Error(t, err, "the listener is closed once serve returns")
}

// TestServeSlurmURL: --slurm-url reaches the web view, whose detail panel reads Slurm
// there (here nothing answers: the panel says so).
func TestServeSlurmURL(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	slurmURL := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close()) // a port nothing listens on
	urls, _ := serveInProcess(t, "--slurm-url", slurmURL)
	b, err := os.ReadFile(urls)
	require.NoError(t, err)
	var u stack.URLs
	require.NoError(t, json.Unmarshal(b, &u))
	req, err := http.NewRequest(http.MethodPut, u.BOS+"/v2/components/x1000c0s0b0n0", strings.NewReader(`{"id": "x1000c0s0b0n0"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	put, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	put.Body.Close()
	require.Equal(t, http.StatusOK, put.StatusCode)
	resp, err := http.Get(u.BOS + "/ui/api/components/x1000c0s0b0n0")
	require.NoError(t, err)
	defer resp.Body.Close()
	var d struct {
		Slurm *struct {
			Error string `json:"error"`
		} `json:"slurm"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&d))
	require.NotNil(t, d.Slurm, "the view knows a Slurm")
	assert.Contains(t, d.Slurm.Error, strings.TrimPrefix(slurmURL, "http://"))
}

func TestServeFlags(t *testing.T) {
	ctx := testwait.Context(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"some service URLs", []string{"--hsm-url", "http://127.0.0.1:1", "--cfs-url", "http://127.0.0.1:2"}, "missing --bss-url, --s3-url, --ims-url"},
		{"bad listen address", []string{"--listen", "256.0.0.1:99999"}, "listen for bos"},
		{"missing tenants file", []string{"--listen", "127.0.0.1:0", "--tenants", filepath.Join(t.TempDir(), "none.yaml")}, "tenants"},
		{"unreachable redis", []string{"--listen", "127.0.0.1:0", "--redis-url", "redis://127.0.0.1:1/0"}, "store"},
		{"arguments", []string{"extra"}, "unknown command"},
		{"bad power", []string{"--power", "capmc"}, `--power must be redfish or pcs, not "capmc"`},
		{"pcs without its URL", []string{"--power", "pcs", "--hsm-url", "http://127.0.0.1:1", "--bss-url", "http://127.0.0.1:1",
			"--cfs-url", "http://127.0.0.1:1", "--s3-url", "http://127.0.0.1:1", "--ims-url", "http://127.0.0.1:1"}, "--power pcs needs --pcs-url"},
		{"pcs URL without pcs", []string{"--pcs-url", "http://127.0.0.1:1"}, "--pcs-url needs --power pcs"},
		{"replica without redis", []string{"--replica-id", "r0"}, "--replica-id needs --redis-url"},
		{"cluster without redis", []string{"--redis-cluster"}, "--redis-cluster needs --redis-url"},
		{"bad role", []string{"--listen", "127.0.0.1:0", "--role", "worker", "--replica-id", "r0", "--redis-url", "redis://127.0.0.1:1/0"}, `replica role must be all, api or operator, not "worker"`},
		{"negative history limit", []string{"--history-limit", "-1"}, "--history-limit must be 0 or more, not -1"},
		{"negative record cache", []string{"--record-cache-mib", "-1"}, "--record-cache-mib must be 0 or more, not -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := run(ctx, append([]string{"serve"}, tc.args...), &bytes.Buffer{}, &bytes.Buffer{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestServeWithReconciler: `bos serve` with the addresses of simulators running elsewhere
// boots their nodes, driven by the CLI, powering them through Redfish or PCS.
func TestServeWithReconciler(t *testing.T) {
	for _, power := range []string{stack.PowerRedfish, stack.PowerPCS} {
		t.Run(power, func(t *testing.T) { testServeWithReconciler(t, power) })
	}
}

func testServeWithReconciler(t *testing.T, power string) {
	ctx := testwait.Context(t)
	topo, err := topology.Generate(topology.DefaultOptions(4))
	require.NoError(t, err)
	timing := stacktest.FastTiming()
	// The simulators must know where BOS will be (nodes report to it): pick its port first.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	bosAddr := ln.Addr().String()
	require.NoError(t, ln.Close())
	services, powerArgs := stack.Simulators, []string{"--power", power}
	if power == stack.PowerPCS {
		services = append(slices.Clone(services), stack.PCS)
	}
	sim, err := stack.Start(ctx, stack.Options{
		Topology: topo, Services: services, External: stack.URLs{BOS: "http://" + bosAddr},
		Sim: simulator.Config{Timing: &timing, Seed: 5},
		CFS: stacktest.FastCFS(5),
	})
	require.NoError(t, err)
	defer sim.Close()
	if power == stack.PowerPCS {
		powerArgs = append(powerArgs, "--pcs-url", sim.URLs.PCS)
	}

	urls := filepath.Join(t.TempDir(), "bos.json")
	done := make(chan error, 1)
	sctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() {
		done <- run(sctx, append([]string{"serve", "--listen", bosAddr, "--urls-file", urls,
			"--hsm-url", sim.URLs.HSM, "--bss-url", sim.URLs.BSS, "--cfs-url", sim.URLs.CFS, "--s3-url", sim.URLs.S3, "--ims-url", sim.URLs.IMS,
		}, powerArgs...), &bytes.Buffer{}, &bytes.Buffer{})
	}()
	waitURLs(t, urls, done)

	path, err := sim.ImagePath(ims.ImageCompute)
	require.NoError(t, err)
	st := bootCompute(t, urls, path, 10)
	assert.Equal(t, 4, st.ManagedComponentsCount)
	assert.Equal(t, 100.0, st.PercentSuccessful)
	for _, id := range topo.ByRole(topology.RoleCompute) {
		n, ok := sim.Sim.Node(id)
		require.True(t, ok)
		assert.True(t, n.Booted, "%s booted", id)
	}
	stop()
	require.NoError(t, <-done)
}

// bootCompute boots every compute node on the image at path through the client, with the
// BOS of the URLs file at urls, and returns the session's status once it completed; BOS
// waits waitSeconds for a node to power on and to boot.
func bootCompute(t *testing.T, urls, path string, waitSeconds int) bos.SessionExtendedStatus {
	t.Helper()
	cli := func(args ...string) string {
		t.Helper()
		r := bosCmd(t, "", append(append([]string{"v2"}, args...), "--urls-file", urls, "--format", "json")...)
		require.NoError(t, r.fail, r.err)
		return r.out
	}
	wait := fmt.Sprint(waitSeconds)
	cli("options", "update", "--polling-frequency", "1", "--max-boot-wait-time", wait, "--max-power-on-wait-time", wait)
	tpl := writeFile(t, "t.json", `{"enable_cfs": false, "boot_sets": {"compute": {"path": "`+path+`", "type": "s3", "node_roles_groups": ["Compute"]}}}`)
	cli("sessiontemplates", "create", "compute", "--file", tpl)
	cli("sessions", "create", "--template-name", "compute", "--operation", "boot", "--name", "boot-all")
	var st bos.SessionExtendedStatus
	testwait.Until(t, "session boot-all completes", func() bool {
		require.NoError(t, json.Unmarshal([]byte(cli("sessions", "status", "boot-all")), &st))
		return st.Status == bos.SessionComplete
	}, func() string { return fmt.Sprintf("%+v", st) })
	return st
}

// TestServeSignal: SIGTERM stops a real `bos serve` process cleanly (exit status 0).
func TestServeSignal(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	urls := filepath.Join(t.TempDir(), "bos.json")
	cmd := exec.Command(os.Args[0], "serve", "--listen", "127.0.0.1:0", "--urls-file", urls)
	cmd.Env = append(os.Environ(), reexecEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	waitURLs(t, urls, done)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	t.Cleanup(func() { _ = cmd.Process.Kill() }) // if it never stops
	err := testwait.Receive(t, done, "serve stops on SIGTERM", func() string { return "stderr:\n" + stderr.String() })
	require.NoError(t, err, "stderr:\n%s", stderr.String())
	assert.Contains(t, stderr.String(), "stopping")
}

// TestServeHistoryLimit: --history-limit reaches the store, 0 as the store's "none".
func TestServeHistoryLimit(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int
	}{
		{nil, store.DefaultHistoryLimit},
		{[]string{"--history-limit", "10"}, 10},
		{[]string{"--history-limit", "0"}, -1},
	} {
		f := serveFlags{power: server.PowerRedfish}
		cmd := &cobra.Command{}
		cmd.Flags().IntVar(&f.historyLimit, "history-limit", store.DefaultHistoryLimit, "")
		require.NoError(t, cmd.ParseFlags(tc.args))
		cfg, err := f.config(cmd, t.Context())
		require.NoError(t, err)
		assert.Equal(t, tc.want, cfg.Store.HistoryLimit, "%v", tc.args)
	}
}

// TestServeRecordCache: --record-cache-mib reaches the store in bytes, 0 as its "none".
func TestServeRecordCache(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int
	}{
		{nil, store.DefaultRecordCacheBytes},
		{[]string{"--record-cache-mib", "8"}, 8 << 20},
		{[]string{"--record-cache-mib", "0"}, -1},
	} {
		f := serveFlags{power: server.PowerRedfish}
		cmd := &cobra.Command{}
		cmd.Flags().IntVar(&f.recordCacheMiB, "record-cache-mib", store.DefaultRecordCacheBytes>>20, "")
		require.NoError(t, cmd.ParseFlags(tc.args))
		cfg, err := f.config(cmd, t.Context())
		require.NoError(t, err)
		assert.Equal(t, tc.want, cfg.Store.RecordCacheBytes, "%v", tc.args)
	}
}
