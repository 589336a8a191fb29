package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/testwait"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/internal/stack"
	"github.com/cray-bos/bos/internal/topology"
	bos "github.com/cray-bos/bos/orchestrator"
)

func TestUpBootsTheClusterAndPrintsTheSessionStatus(t *testing.T) {
	for _, power := range []string{stack.PowerRedfish, stack.PowerPCS} {
		t.Run(power, func(t *testing.T) { testUpBoots(t, power) })
	}
}

func testUpBoots(t *testing.T, power string) {
	ctx := testwait.Context(t)
	urls := filepath.Join(t.TempDir(), "urls.json")
	var out, errw bytes.Buffer
	err := run(ctx, []string{"up", "--nodes", "8", "--boot", "--delay-scale", "0", "--urls-file", urls, "--power", power}, &out, &errw)
	require.NoError(t, err, errw.String())

	var status bos.SessionExtendedStatus
	require.NoError(t, json.Unmarshal(out.Bytes(), &status), out.String())
	assert.Equal(t, bos.SessionComplete, status.Status)
	assert.Equal(t, 8, status.ManagedComponentsCount)
	assert.Equal(t, 100.0, status.PercentSuccessful)
	assert.Contains(t, errw.String(), "session ")
	assert.Contains(t, errw.String(), "100.0%")
	warm := "HSM discovered 9 of 9 BMCs, BOS takes power events from 9 BMCs"
	if power == stack.PowerPCS {
		warm = "HSM discovered 9 of 9 BMCs, BOS reads power with GETs (no event subscriptions)"
	}
	assert.Regexp(t, `(?m)^warm in \d.*: `+regexp.QuoteMeta(warm)+`\nweb view: .*\n(.*\n)*session `, errw.String(), "warm before the session starts")

	var u stack.URLs
	raw, err := os.ReadFile(urls)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &u))
	for name, url := range map[string]string{"bos": u.BOS, "hsm": u.HSM, "bss": u.BSS, "cfs": u.CFS, "s3": u.S3, "ims": u.IMS} {
		assert.Regexp(t, `^http://127\.0\.0\.1:\d+$`, url, name)
	}
	assert.Len(t, u.BMCs, 4+5, "4 blade BMCs for 8 computes, one BMC per UAN and NCN")
	if power == stack.PowerPCS {
		assert.Regexp(t, `^http://127\.0\.0\.1:\d+$`, u.PCS, "pcs runs with --power pcs")
	} else {
		assert.Empty(t, u.PCS)
	}
}

func TestSimWritesURLsServesAndStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	urls := filepath.Join(t.TempDir(), "urls.json")
	done := make(chan error, 1)
	var errw bytes.Buffer
	go func() { done <- run(ctx, []string{"sim", "--nodes", "4", "--urls-file", urls}, &bytes.Buffer{}, &errw) }()

	var u stack.URLs
	testwait.Until(t, "the urls file appears once everything listens", func() bool {
		raw, err := os.ReadFile(urls)
		return err == nil && json.Unmarshal(raw, &u) == nil
	}, nil)
	assert.Empty(t, u.BOS, "sim runs no BOS")
	for path, url := range map[string]string{"/hsm/v2/service/ready": u.HSM, "/boot/v1/service/status": u.BSS, "/v3/components": u.CFS, "/v3/images": u.IMS} {
		resp, err := http.Get(url + path)
		require.NoError(t, err, path)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, path)
	}
	bmc := u.BMCs["x1000c0s0b0"]
	require.NotEmpty(t, bmc)
	resp, err := http.Get(bmc + "/redfish/v1/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	cancel()
	require.NoError(t, testwait.Receive(t, done, "bos sim stops after cancel", nil))
	_, err = http.Get(bmc + "/redfish/v1/")
	assert.Error(t, err, "BMCs stop listening")
}

// With --tls-ca-file a client verifies the BMCs' certificates against the CA written.
func TestSimWritesTheTLSCAFile(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	urls, ca := filepath.Join(dir, "urls.json"), filepath.Join(dir, "ca.pem")
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"sim", "bmcs", "--nodes", "2", "--tls", "--tls-ca-file", ca, "--urls-file", urls}, &bytes.Buffer{}, &bytes.Buffer{})
	}()
	var u stack.URLs
	testwait.Until(t, "the urls file appears once everything listens", func() bool {
		raw, err := os.ReadFile(urls)
		return err == nil && json.Unmarshal(raw, &u) == nil
	}, nil)
	pem, err := os.ReadFile(ca)
	require.NoError(t, err, "the CA file is written before the urls file")
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pem))
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for x, bmc := range u.BMCs {
		resp, err := hc.Get(bmc + "/redfish/v1/")
		require.NoError(t, err, x)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, x)
	}
	hc.CloseIdleConnections()
	cancel()
	require.NoError(t, testwait.Receive(t, done, "bos sim stops after cancel", nil))
}

func TestSimDumpTopologyRoundTrips(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"sim", "--dump-topology", "--nodes", "6", "--uans", "1", "--ncns", "2", "--arm", "2"}, &out, &bytes.Buffer{}))
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	require.NoError(t, os.WriteFile(path, out.Bytes(), 0o644))
	loaded, err := topology.Load(path)
	require.NoError(t, err)
	want, err := topology.Generate(topology.Options{Compute: 6, Application: 1, Management: 2, ARM: 2})
	require.NoError(t, err)
	assert.Equal(t, want, loaded)
}

func TestBadFlagsAreClearErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"up", "--operation", "explode"}, "--operation must be boot, reboot or shutdown"},
		{[]string{"up", "--power", "capmc"}, `--power must be redfish or pcs, not "capmc"`},
		{[]string{"up", "--fault", "gremlins=0.1"}, `unknown fault "gremlins"`},
		{[]string{"sim", "--fault", "hang"}, "want NAME=RATE"},
		{[]string{"sim", "--fault", "hang=2"}, "between 0 and 1"},
		{[]string{"sim", "--delay-scale", "-1"}, "must not be negative"},
		{[]string{"sim", "--nodes", "2", "--arm", "3"}, "ARM"},
		{[]string{"sim", "toaster"}, "invalid argument"},
		{[]string{"sim", "--tls-ca-file", "ca.pem"}, "--tls-ca-file needs --tls"},
		{[]string{"sim", "--shard", "4/3"}, "want K/N with 1 ≤ K ≤ N"},
		{[]string{"sim", "--nodes", "2", "--uans", "0", "--ncns", "0", "--shard", "1/2"}, "2 shards for 1 BMCs"},
		{[]string{"sim", "bmcs", "--urls-from", "no-such-file.json"}, "urls file"},
		{[]string{"urls", "merge"}, "requires at least 1 arg"},
		{[]string{"serve", "--urls-from", "no-such-file.json"}, "urls file"},
	} {
		err := run(context.Background(), tc.args, &bytes.Buffer{}, &bytes.Buffer{})
		require.Error(t, err, tc.args)
		assert.Contains(t, err.Error(), tc.want, tc.args)
	}
}

func TestSimulatorErrorsNameTheSimulatorOnce(t *testing.T) {
	err := run(context.Background(), []string{"sim", "bmcs", "--nodes", "2", "--bmc-first-address", "10.0.0.1"}, &bytes.Buffer{}, &bytes.Buffer{})
	require.Error(t, err)
	assert.Equal(t, `stack: simulator: config: FirstAddress "10.0.0.1" must be an IPv4 loopback address`, err.Error())
}

// The URLs file of `bos up --boot --stay` appears only once the boot session is over: the
// README's walkthroughs wait for the file and then stage a new image, which, created while
// the first boot still ran, took its nodes and applied the new image to all of them at once.
func TestUpWritesTheURLsFileAfterTheBoot(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	urls := filepath.Join(t.TempDir(), "urls.json")
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"up", "--nodes", "8", "--boot", "--stay", "--delay-scale", "0", "--urls-file", urls}, &bytes.Buffer{}, &bytes.Buffer{})
	}()
	var u stack.URLs
	for {
		raw, err := os.ReadFile(urls)
		if err == nil && json.Unmarshal(raw, &u) == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("bos up ended before writing %s: %v", urls, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	sessions, err := bosapi.NewClient(u.BOS, nil).ListSessions(ctx, bosapi.SessionQuery{})
	require.NoError(t, err)
	require.Len(t, sessions, 1)
	assert.Equal(t, bos.SessionComplete, sessions[0].Status.Status, "the boot is over when the file appears")
	cancel()
	assert.NoError(t, <-done, "Ctrl-C after a good boot: exit 0")
}
